"""DMN decision tables: FEEL unary tests, hit policies, result mapping, and refusal of what the
service cannot evaluate, all without running any text of the file as code."""
from __future__ import annotations

from xml.sax.saxutils import escape

import pytest

from app.engine.decisions import compile_unary_tests, parse_decisions
from app.errors import InvalidProcessModel, ProcessExecutionFailed

DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(rules: list[tuple[list[str], list[str]]], *, inputs=("size", "tonnes"), outputs=("level",),
          hit_policy: str = "UNIQUE", aggregation: str | None = None, input_attrs: str = "") -> bytes:
    head = "".join(f'<input id="in_{i}" label="{name}"{input_attrs}><inputExpression id="e_{i}"><text>{name}</text>'
                   "</inputExpression></input>" for i, name in enumerate(inputs))
    outs = "".join(f'<output id="out_{i}" name="{escape(name)}" />' for i, name in enumerate(outputs))
    body = "".join(
        f'<rule id="r{n}">' + "".join(f"<inputEntry><text>{escape(t)}</text></inputEntry>" for t in tests)
        + "".join(f"<outputEntry><text>{escape(o)}</text></outputEntry>" for o in outs_) + "</rule>"
        for n, (tests, outs_) in enumerate(rules, start=1))
    extra = f' aggregation="{aggregation}"' if aggregation else ""
    return (f'<definitions xmlns="{DMN}" id="d" name="d" namespace="n"><decision id="grading" name="分级">'
            f'<decisionTable id="t" hitPolicy="{hit_policy}"{extra}>{head}{outs}{body}</decisionTable>'
            "</decision></definitions>").encode()


GRADING = [
    (['"large","huge"', ">= 1000"], ['"region"']),
    (['"large"', "[100..1000["], ['"prefecture"']),
    (["-", "< 100"], ['"county"']),
]


@pytest.mark.parametrize(("size", "tonnes", "level"), [
    ("large", 5000, "region"), ("huge", 1000, "region"), ("large", 100, "prefecture"), ("large", 999.5, "prefecture"),
    ("small", 99, "county"), ("small", 500, None)])
def test_feel_tests_pick_the_rule(size, tonnes, level):
    [grading] = parse_decisions("g.dmn", table(GRADING))
    evaluation = grading.evaluate({"size": size, "tonnes": tonnes}, {})
    assert evaluation.mapped("singleEntry") == level
    assert evaluation.inputs == {"size": size, "tonnes": tonnes}


@pytest.mark.parametrize(("text", "value", "holds"), [
    ("-", None, True), ("", "x", True), ('"a"', "a", True), ('"a"', "b", False), ('not("a","b")', "c", True),
    ('not("a","b")', "a", False), ("true", True, True), ("true", 1, False), ("1", True, False), ("]1..5]", 1, False),
    ("]1..5]", 5, True), ("(1..5)", 5, False), ("> 2.5", 3, True), ("> 2.5", "3", False), ("null", None, True),
    ('>= date("2026-01-01")', "2026-03-01", True), ('< date("2026-01-01")', "2026-03-01T08:00:00+08:00", False),
    ('"a, b"', "a, b", True)])
def test_unary_tests(text, value, holds):
    assert compile_unary_tests(text)(value) is holds


def test_hit_policies_and_mappings():
    rules = [(["-", "-"], ["1"]), (['"large"', "-"], ["2"]), (["-", "> 10"], ["3"])]
    values = {"size": "large", "tonnes": 20}
    [first] = parse_decisions("f.dmn", table(rules, hit_policy="FIRST"))
    assert first.evaluate(values, {}).matched_rules == ("r1",)
    [ordered] = parse_decisions("o.dmn", table(rules, hit_policy="RULE ORDER"))
    assert ordered.evaluate(values, {}).mapped("collectEntries") == [1, 2, 3]
    assert ordered.evaluate(values, {}).mapped("resultList") == [{"level": 1}, {"level": 2}, {"level": 3}]
    with pytest.raises(ProcessExecutionFailed, match="takes one"):
        ordered.evaluate(values, {}).mapped("singleResult")
    [total] = parse_decisions("s.dmn", table(rules, hit_policy="COLLECT", aggregation="SUM"))
    assert total.evaluate(values, {}).mapped("singleEntry") == 6
    [count] = parse_decisions("c.dmn", table(rules, hit_policy="COLLECT", aggregation="COUNT"))
    assert count.evaluate({"size": "small", "tonnes": 1}, {}).mapped("singleEntry") == 1
    [unique] = parse_decisions("u.dmn", table(rules))
    with pytest.raises(ProcessExecutionFailed, match="UNIQUE but rules r1, r2, r3"):
        unique.evaluate(values, {})
    [anything] = parse_decisions("a.dmn", table([(["-", "-"], ['"x"']), (['"large"', "-"], ['"x"'])], hit_policy="ANY"))
    assert anything.evaluate(values, {}).mapped("singleResult") == {"level": "x"}


def test_rules_without_ids_are_named_in_a_unique_violation():
    # DMN leaves a rule's id optional; the refusal still names the matching rules instead of failing.
    content = table([(["-", "-"], ['"a"']), (["-", "-"], ['"b"'])]).replace(b' id="r1"', b"").replace(b' id="r2"', b"")
    [unique] = parse_decisions("n.dmn", content)
    with pytest.raises(ProcessExecutionFailed, match="UNIQUE but rules None, None"):
        unique.evaluate({"size": "x", "tonnes": 1}, {})


def test_juel_inputs_and_outputs_go_through_the_safe_evaluator():
    content = table([(["${cellInput > limit}", "-"], ["${tonnes * 2}"])], inputs=("tonnes", "size"))
    [doubled] = parse_decisions("j.dmn", content)
    assert doubled.evaluate({"tonnes": 30, "size": "x", "limit": 10}, {}).mapped("singleEntry") == 60
    assert doubled.evaluate({"tonnes": 3, "size": "x", "limit": 10}, {}).mapped("singleEntry") is None


def test_a_missing_input_stops_with_its_name():
    [grading] = parse_decisions("g.dmn", table(GRADING))
    with pytest.raises(ProcessExecutionFailed, match="'tonnes' is not set"):
        grading.evaluate({"size": "large"}, {})


@pytest.mark.parametrize(("content", "reason"), [
    (table(GRADING, hit_policy="PRIORITY"), "hit policy 'PRIORITY' is not supported"),
    (table([(['"a"'], ['"x"'])]), "1 input and 1 output entries for 2 inputs"),
    (table([(["__import__('os')", "-"], ['"x"'])]), "is not a FEEL literal"),
    (table([(["-", "-"], ["os.system"])]), "is not a FEEL literal"),
    (table(GRADING, inputs=("size + 1", "tonnes")), "must be a variable name"),
    (table(GRADING, outputs=("not a name",)), "needs a name that is a variable name"),
    (table(GRADING, hit_policy="FIRST", aggregation="SUM"), "needs hit policy COLLECT"),
    (table([(['"unclosed', "-"], ['"x"'])]), "unclosed text literal"),
    (table([(['"a",,"b"', "-"], ['"x"'])]), "empty test"),
    (table(GRADING).replace('name="分级"'.encode(), ('name="' + "长" * 256 + '"').encode()), "at most 255 characters"),
    (f'<definitions xmlns="{DMN}" id="d" name="d" namespace="n"><decision id="lit" name="x"><variable name="v"/>'
     "<literalExpression><text>size + 1</text></literalExpression></decision></definitions>".encode(),
     "is not a FEEL literal"),
    (f'<definitions xmlns="{DMN}" id="d" name="d" namespace="n"><decision id="lit" name="x"><literalExpression>'
     "<text>1</text></literalExpression></decision></definitions>".encode(), "needs a variable"),
    (f'<definitions xmlns="{DMN}" id="d" name="d" namespace="n"><decision id="ctx" name="x"><context/></decision>'
     "</definitions>".encode(), "neither a decision table nor a literal expression"),
])
def test_what_cannot_be_evaluated_is_refused_at_deployment(content, reason):
    with pytest.raises(InvalidProcessModel) as refused:
        parse_decisions("bad.dmn", content)
    assert reason in refused.value.message and refused.value.message.startswith("bad.dmn")


def test_external_entities_are_refused():
    content = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               + table(GRADING).replace(b'"region"', b"&x;"))
    with pytest.raises(InvalidProcessModel, match="DOCTYPE"):
        parse_decisions("xxe.dmn", content)


def test_empty_entries_match_anything_and_give_nothing_whatever_their_language_as_in_camunda():
    content = table([([""], [""]), (['"large"'], ["null"]), (['"large"'], ["5"])], inputs=("size",),
                    hit_policy="COLLECT", aggregation="COUNT")
    content = content.replace(b"<inputEntry>", b'<inputEntry expressionLanguage="juel">', 1).replace(
        b"<outputEntry>", b'<outputEntry expressionLanguage="juel">', 1)
    [count] = parse_decisions("c.dmn", content)
    evaluation = count.evaluate({"size": "large"}, {})
    assert evaluation.matched_rules == ("r1", "r2", "r3")
    # Camunda counts each entry a rule gives, the null one too, and not the empty one.
    assert evaluation.mapped("singleEntry") == 2
    [total] = parse_decisions("s.dmn", content.replace(b"COUNT", b"SUM"))
    assert total.evaluate({"size": "large"}, {}).mapped("singleEntry") == 5


def literal(key: str, variable: str, text: str, language: str = "", requires: tuple[str, ...] = ()) -> str:
    needs = "".join(f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>' for r in requires)
    lang = f' expressionLanguage="{language}"' if language else ""
    return (f'<decision id="{key}" name="{key}">{needs}<variable name="{variable}"/>'
            f"<literalExpression{lang}><text>{escape(text)}</text></literalExpression></decision>")


def decision_table(key: str, inputs: tuple[str, ...], output: str, rules: list[tuple[list[str], str]],
                   hit_policy: str = "UNIQUE", requires: tuple[str, ...] = (), aggregation: str = "") -> str:
    needs = "".join(f'<informationRequirement><requiredDecision href="#{r}"/></informationRequirement>' for r in requires)
    head = "".join(f'<input label="{name}"><inputExpression><text>{name}</text></inputExpression></input>'
                   for name in inputs)
    body = "".join("<rule>" + "".join(f"<inputEntry><text>{escape(t)}</text></inputEntry>" for t in tests)
                   + f"<outputEntry><text>{escape(out)}</text></outputEntry></rule>" for tests, out in rules)
    extra = f' aggregation="{aggregation}"' if aggregation else ""
    return (f'<decision id="{key}" name="{key}">{needs}<decisionTable hitPolicy="{hit_policy}"{extra}>{head}'
            f'<output name="{output}"/>{body}</decisionTable></decision>')


def drd(*decisions: str) -> bytes:
    return f'<definitions xmlns="{DMN}" id="audit_rules" name="审核规则" namespace="n">{"".join(decisions)}</definitions>'.encode()


# A clean production audit duty, as a decision requirements graph: the category of the enterprise
# and the statutory period (a literal expression) decide it.
AUDIT_RULES = drd(
    decision_table("audit_duty", ("category", "days"), "duty",
                   [(['"超标排放","使用有毒有害原料"', "-"], '"强制审核"'), (["-", "-"], '"自愿审核"')],
                   hit_policy="FIRST", requires=("pollutant_category", "disclosure_days")),
    decision_table("pollutant_category", ("exceeds", "toxic"), "category",
                   [(["true", "-"], '"超标排放"'), (["false", "true"], '"使用有毒有害原料"'),
                    (["false", "false"], '"一般"')]),
    literal("disclosure_days", "days", "30"),
)


@pytest.mark.parametrize(("exceeds", "toxic", "duty"), [(True, False, "强制审核"), (False, True, "强制审核"),
                                                        (False, False, "自愿审核")])
def test_a_decision_reads_the_outputs_of_the_decisions_it_requires_as_camunda_evaluates_them(exceeds, toxic, duty):
    tables = {t.key: t for t in parse_decisions("audit.dmn", AUDIT_RULES)}
    evaluation = tables["audit_duty"].evaluate({"exceeds": exceeds, "toxic": toxic}, {})
    assert evaluation.mapped("singleEntry") == duty
    assert evaluation.inputs["days"] == 30
    recorded = evaluation.recorded()
    assert [(r["decision_key"], r["outputs"]) for r in recorded["required_decisions"]] == [
        ("pollutant_category", [{"category": evaluation.inputs["category"]}]), ("disclosure_days", [{"days": 30}])]
    # A required decision stands alone too.
    assert tables["disclosure_days"].evaluate({}, {}).mapped("singleEntry") == 30


def test_each_required_decision_runs_once_and_before_those_that_require_it():
    tables = {t.key: t for t in parse_decisions("chain.dmn", drd(
        decision_table("top", ("b", "c"), "out", [(["-", "-"], "${b + c}")], requires=("b_rule", "c_rule")),
        literal("b_rule", "b", "${a * 2}", requires=("a_rule",)),
        literal("c_rule", "c", "${a + 1}", requires=("a_rule",)),
        literal("a_rule", "a", "base"),
    ))}
    evaluation = tables["top"].evaluate({"base": 5}, {})
    assert evaluation.mapped("singleEntry") == 16
    assert [r["decision_key"] for r in evaluation.recorded()["required_decisions"]] == ["a_rule", "b_rule", "c_rule"]


def test_a_required_decision_of_several_results_gives_lists_and_of_none_gives_nothing():
    tables = {t.key: t for t in parse_decisions("collect.dmn", drd(
        decision_table("count", ("measures",), "n", [(["-"], "${measures}")], requires=("measures_rule",)),
        decision_table("measures_rule", ("level",), "measures",
                       [(['"high"'], '"停产整治"'), (['"high","mid"'], '"限期整改"')], hit_policy="COLLECT"),
        decision_table("total", ("fine",), "sum", [(["-"], "${fine}")], requires=("fine_rule",)),
        decision_table("fine_rule", ("level",), "fine", [(['"high"'], "100"), (['"high","mid"'], "20")],
                       hit_policy="COLLECT", aggregation="SUM"),
    ))}
    assert tables["count"].evaluate({"level": "high"}, {}).mapped("singleEntry") == ["停产整治", "限期整改"]
    # One result of a COLLECT table is still a list, as in Camunda.
    assert tables["count"].evaluate({"level": "mid"}, {}).inputs["measures"] == ["限期整改"]
    assert tables["total"].evaluate({"level": "high"}, {}).mapped("singleEntry") == 120
    with pytest.raises(ProcessExecutionFailed, match="'measures' is not set"):
        tables["count"].evaluate({"level": "low"}, {})


def test_literal_expression_decisions_give_a_value_a_variable_or_a_juel_result():
    tables = {t.key: t for t in parse_decisions("lit.dmn", drd(
        literal("fixed", "label", '"重点排污单位"'), literal("named", "copy", "enterprise.name"),
        literal("juel", "late", "${days > 30}", language="juel"), literal("dated", "since", 'date("2027-01-01")')))}
    assert tables["fixed"].evaluate({}, {}).mapped("singleResult") == {"label": "重点排污单位"}
    assert tables["named"].evaluate({"enterprise": {"name": "甲厂"}}, {}).mapped("singleEntry") == "甲厂"
    assert tables["juel"].evaluate({"days": 45}, {}).mapped("singleEntry") is True
    assert tables["dated"].evaluate({}, {}).mapped("singleEntry") == "2027-01-01"
    with pytest.raises(ProcessExecutionFailed, match="'enterprise.name' is not set"):
        tables["named"].evaluate({}, {})


@pytest.mark.parametrize(("content", "reason"), [
    (drd(literal("a", "x", "1", requires=("b",)), literal("b", "y", "2", requires=("a",))), "which requires it in turn"),
    (drd(literal("a", "x", "1", requires=("a",))), "which requires it in turn"),
    (drd(literal("a", "x", "1", requires=("elsewhere",))), "'elsewhere', which is no decision of this file"),
    (drd(literal("a", "x", "1")).replace(b"<variable", b'<informationRequirement><requiredDecision href="other.dmn#b"/>'
                                          b"</informationRequirement><variable"), "named by '#'"),
    (drd(*(literal(f"d{n}", f"v{n}", "1", requires=(f"d{n + 1}",)) for n in range(40)), literal("d40", "v40", "1")),
     "more than 32 deep"),
])
def test_requirements_that_cannot_be_evaluated_are_refused_at_deployment(content, reason):
    with pytest.raises(InvalidProcessModel) as refused:
        parse_decisions("bad.dmn", content)
    assert reason in refused.value.message


def test_a_change_to_a_required_decision_is_a_change_to_those_that_require_it():
    before = {t.key: t.checksum for t in parse_decisions("audit.dmn", AUDIT_RULES)}
    after = {t.key: t.checksum for t in parse_decisions("audit.dmn", AUDIT_RULES.replace(b">30<", b">45<"))}
    assert before["audit_duty"] != after["audit_duty"] and before["disclosure_days"] != after["disclosure_days"]
    assert before["pollutant_category"] == after["pollutant_category"]
