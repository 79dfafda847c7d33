"""Behaviour of the safe JUEL evaluator used for BPMN conditions, assignments and timers."""
from __future__ import annotations

import datetime as dt
import inspect
import math
import os
import sys
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.expressions import (
    ExpressionError,
    ExpressionEvaluationError,
    ExpressionSyntaxError,
    Template,
    compile_template,
    contains_expression,
    evaluate,
    truthy_condition,
)

VARS: dict[str, Any] = {
    "approved": True,
    "rejected": False,
    "decision": "approve",
    "province": "gd",
    "amount": 1500,
    "rate": 0.5,
    "numText": "42",
    "word": "hello",
    "nothing": None,
    "emptyText": "",
    "emptyList": [],
    "emptyMap": {},
    "items": [10, 20, {"name": "third"}],
    "applicant": {"name": "张三", "address": {"city": "广州", "zip": "510000"}, "tags": ["a", "b"]},
    "审批结果": "同意",
    "$dollar": 1,
    "when": dt.datetime(2024, 5, 1, 9, 0),
    "later": dt.datetime(2024, 6, 1, 9, 0),
    "day": dt.date(2024, 5, 1),
}


def ev(text: str, variables: dict[str, Any] | None = None, functions: dict[str, Any] | None = None) -> Any:
    return evaluate(text, VARS if variables is None else variables, functions)


# --------------------------------------------------------------------------------------------
# literals
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${42}", 42),
    ("${0}", 0),
    ("${1.5}", 1.5),
    ("${1e3}", 1000.0),
    ("${2.5E-1}", 0.25),
    ("${.5}", 0.5),
    ("${'single'}", "single"),
    ('${"double"}', "double"),
    (r'${"say \"hi\""}', 'say "hi"'),
    (r"${'it\'s'}", "it's"),
    (r'${"back\\slash"}', "back\\slash"),
    (r'${"C:\temp"}', "C:\\temp"),
    ('${"a}b"}', "a}b"),
    ("${true}", True),
    ("${false}", False),
    ("${null}", None),
    ('${"中文字符串"}', "中文字符串"),
    ("${123456789012345678901234567890}", 123456789012345678901234567890),
])
def test_literals(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


# --------------------------------------------------------------------------------------------
# operators
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${1 + 2}", 3),
    ("${5 - 7}", -2),
    ("${3 * 4}", 12),
    ("${7 / 2}", 3.5),
    ("${8 / 2}", 4.0),
    ("${7 div 2}", 3.5),
    ("${7 % 3}", 1),
    ("${7 mod 3}", 1),
    ("${-7 % 3}", -1),          # Java remainder: sign of the dividend
    ("${7.5 % 2}", 1.5),
    ("${amount * rate}", 750.0),
    ("${1 + 2.5}", 3.5),
    ("${numText + 1}", 43),     # numeric strings coerce
    ('${"2" + "3"}', 5),
    ('${"1.5" * 2}', 3.0),
    ("${-amount}", -1500),
    ('${-"3"}', -3),
    ("${- -3}", 3),
    ("${10 - 2 - 3}", 5),       # left-associative
    ("${100 / 10 / 5}", 2.0),
])
def test_arithmetic(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("text", [
    '${"a" + "b"}', "${word + 1}", "${approved + 1}", "${items + 1}",
    "${-word}", "${-true}", "${applicant * 2}",
])
def test_arithmetic_on_non_numbers_fails(text: str) -> None:
    """Text that is no number cannot be added, as in JUEL (null and "" can: see below)."""
    with pytest.raises(ExpressionEvaluationError, match="cannot coerce"):
        ev(text)


@pytest.mark.parametrize("text", ["${1 / 0}", "${1 div 0}", "${1 % 0}", "${1 mod 0}", "${1.5 / 0.0}", '${1 / "0"}'])
def test_division_by_zero(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="division by zero"):
        ev(text)


@pytest.mark.parametrize("text, expected", [
    ("${1 == 1}", True), ("${1 eq 1}", True), ("${1 != 1}", False), ("${1 ne 2}", True),
    ("${1 == 1.0}", True),
    ('${decision == "approve"}', True), ("${decision == 'reject'}", False),
    ('${numText == 42}', True), ('${42 == numText}', True), ('${"42.0" == 42}', True),
    ('${word == 42}', False), ('${word != 42}', True),
    ('${approved == "true"}', True), ('${rejected == "false"}', True), ('${"TRUE" == true}', True),
    ('${approved == "yes"}', False), ("${approved == 1}", False), ("${rejected == 0}", False),
    ("${approved == true}", True), ("${approved == false}", False),
    ("${null == null}", True), ("${nothing == null}", True), ("${nothing == 0}", False),
    ('${nothing == ""}', False), ("${0 == null}", False), ("${nothing != null}", False),
    ('${"1" == "1.0"}', False),  # two strings compare as strings
    ("${applicant.tags == applicant.tags}", True),
    ("${when == when}", True), ("${when == later}", False),
])
def test_equality(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize("text, expected", [
    ("${1 < 2}", True), ("${1 lt 2}", True), ("${2 > 1}", True), ("${2 gt 1}", True),
    ("${2 <= 2}", True), ("${2 le 1}", False), ("${2 >= 3}", False), ("${3 ge 3}", True),
    ("${1.5 < 2}", True),
    ('${"apple" < "banana"}', True), ('${"b" > "a"}', True), ('${"10" < "9"}', True),  # lexicographic
    ('${numText > 40}', True), ('${5 < "10"}', True),
    ("${when < later}", True), ("${later >= when}", True),
    ("${amount > 1000 && amount <= 2000}", True),
])
def test_ordering(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_ordering_dates() -> None:
    variables = {"a": dt.date(2024, 1, 1), "b": dt.date(2024, 1, 2),
                 "d1": dt.timedelta(days=1), "d2": dt.timedelta(hours=1)}
    assert ev("${a < b}", variables) is True
    assert ev("${d1 > d2}", variables) is True


@pytest.mark.parametrize("text, expected", [
    ("${nothing + 1}", 1), ("${nothing * 2}", 0), ("${-nothing}", 0), ('${"" + 1}', 1),
    ("${nothing < 1}", False), ("${1 > nothing}", False), ("${nothing >= nothing}", True),
    ("${nothing gt nothing}", False),
])
def test_null_is_zero_in_arithmetic_and_ordered_against_nothing_as_in_juel(text: str, expected: Any) -> None:
    """The EL specification Camunda's JUEL follows: null and "" coerce to 0 in arithmetic, and an
    ordering with null is false (but null <= null and null >= null, since null == null)."""
    assert ev(text) == expected


@pytest.mark.parametrize("text", [
    "${approved < rejected}", "${word < 1}", '${"x" >= 2}',
    "${items < items}", "${applicant > 1}", "${when < day}", "${when > 1}",
])
def test_ordering_incomparable_fails(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="(cannot compare|cannot coerce)"):
        ev(text)


def test_ordering_naive_and_aware_datetimes_fails() -> None:
    variables = {"a": dt.datetime(2024, 1, 1), "b": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}
    with pytest.raises(ExpressionEvaluationError, match="cannot compare"):
        ev("${a < b}", variables)


@pytest.mark.parametrize("text, expected", [
    ("${true && true}", True), ("${true && false}", False), ("${true and false}", False),
    ("${false || true}", True), ("${false or false}", False), ("${approved || x}", True),
    ("${!true}", False), ("${!false}", True), ("${not approved}", False), ("${!!approved}", True),
    ("${not nothing}", True),                           # null coerces to false
    ('${"true" && "TRUE"}', True), ('${!"false"}', True), ('${!""}', True),
    ("${nothing || false}", False),
    ("${approved && nothing}", False),
])
def test_logic(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_logic_short_circuits() -> None:
    calls: list[str] = []

    def record(name: str) -> bool:
        calls.append(name)
        return True

    functions = {"f": record}
    assert ev("${false && f('and')}", functions=functions) is False
    assert ev("${true || f('or')}", functions=functions) is True
    assert ev("${true ? true : f('else')}", functions=functions) is True
    assert calls == []
    assert ev("${true && f('and')}", functions=functions) is True
    assert calls == ["and"]
    # the unknown variable on the right is never read either
    assert ev("${false and undefinedVariable}") is False


@pytest.mark.parametrize("text", ["${1 && true}", '${"yes" || false}', "${!1}", "${items && true}",
                                  "${word ? 1 : 2}", "${not applicant}"])
def test_logic_on_non_booleans_fails(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="cannot coerce .* to a boolean"):
        ev(text)


@pytest.mark.parametrize("text, expected", [
    ("${empty nothing}", True), ("${empty emptyText}", True), ("${empty emptyList}", True),
    ("${empty emptyMap}", True), ("${empty word}", False), ("${empty items}", False),
    ("${empty 0}", False), ("${empty false}", False), ("${empty applicant.missing}", True),
    ("${not empty applicant.name}", True), ("${!empty applicant.tags}", True),
    ("${empty applicant.name == false}", True),       # empty binds tighter than ==
])
def test_empty(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_empty_of_tuple_and_set() -> None:
    assert ev("${empty t}", {"t": ()}) is True
    assert ev("${empty t}", {"t": (1,)}) is False
    assert ev("${empty s}", {"s": set()}) is True


@pytest.mark.parametrize("text, expected", [
    ("${approved ? 'yes' : 'no'}", "yes"),
    ("${rejected ? 'yes' : 'no'}", "no"),
    ("${amount > 1000 ? 'big' : 'small'}", "big"),
    ("${false ? 1 : true ? 2 : 3}", 2),                   # right-associative
    ("${false ? 1 : false ? 2 : 3}", 3),
    ("${true ? false ? 1 : 2 : 3}", 2),
    ("${false || true ? 'a' : 'b'}", "a"),                # condition is the whole || expression
    ("${true ? 1 : 2 + 10}", 1),
    ("${false ? 1 : 2 + 10}", 12),
    ("${(true ? 1 : 2) + 10}", 11),
    ("${nothing ? 1 : 2}", 2),
])
def test_ternary(text: str, expected: Any) -> None:
    assert ev(text) == expected


# --------------------------------------------------------------------------------------------
# precedence
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${true || false && false}", True),       # && binds tighter than ||
    ("${(true || false) && false}", False),
    ("${false && false || true}", True),
    ("${!rejected == true}", True),             # (!rejected) == true
    ("${!(rejected == true)}", True),
    ("${!approved == true}", False),
    ("${1 + 2 * 3}", 7),
    ("${(1 + 2) * 3}", 9),
    ("${10 - 4 / 2}", 8.0),
    ("${2 * 3 % 4}", 2),                        # same level, left to right
    ("${1 + 2 == 3}", True),                    # arithmetic before equality
    ("${1 < 2 == true}", True),                 # relational before equality
    ("${1 < 2 && 3 > 2}", True),
    ("${-2 * 3}", -6),
    ("${-items[0] + 1}", -9),                   # postfix binds tighter than unary minus
    ("${amount > 1000 and decision eq 'approve' or false}", True),
    ("${1 + 1 == 2 ? 'ok' : 'ko'}", "ok"),
])
def test_precedence(text: str, expected: Any) -> None:
    assert ev(text) == expected


# --------------------------------------------------------------------------------------------
# property and index access
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("${applicant.name}", "张三"),
    ("${applicant.address.city}", "广州"),
    ("${applicant['address']['zip']}", "510000"),
    ('${applicant["address"].city}', "广州"),
    ("${applicant.tags[1]}", "b"),
    ("${applicant.tags['0']}", "a"),
    ("${items[2].name}", "third"),
    ("${items[1 + 1]['name']}", "third"),
    ("${items[0] + items[1]}", 30),
    ("${applicant.missing}", None),                  # missing map key is null
    ("${applicant.missing.deeper}", None),           # property of null is null
    ("${nothing.anything}", None),
    ("${items[3]}", None),                           # out of range is null
    ("${items[-1]}", None),                          # no Python negative indexing
    ("${applicant.tags[5]}", None),
])
def test_access(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_access_on_tuple_and_non_string_keys() -> None:
    assert ev("${t[1]}", {"t": ("x", "y")}) == "y"
    assert ev("${m[1]}", {"m": {1: "one"}}) == "one"
    assert ev("${m[k]}", {"m": {"a": 1}, "k": "a"}) == 1


def test_access_with_dunder_key_is_only_a_map_lookup() -> None:
    # A string key never reaches getattr, so it is harmless: just a missing key.
    assert ev("${applicant['__class__']}") is None
    assert ev("${m['__class__']}", {"m": {"__class__": "plain"}}) == "plain"


@pytest.mark.parametrize("text", [
    "${word.upper}", "${word[0]}", "${amount.real}", "${when.year}", "${approved.x}",
    "${items.append}", "${items.size}", "${items['x']}", "${items[1.5]}", "${items[approved]}",
    "${applicant[items]}",
])
def test_access_on_non_containers_fails(text: str) -> None:
    with pytest.raises(ExpressionEvaluationError, match="(only maps and lists|list index|map key|cannot read)"):
        ev(text)


def test_access_on_objects_never_uses_getattr() -> None:
    class Secret:
        def __init__(self) -> None:
            self.password = "hunter2"

        def __getitem__(self, key: str) -> str:  # not a Mapping, so never consulted
            return "leak"

    with pytest.raises(ExpressionEvaluationError, match="only maps and lists"):
        ev("${obj.password}", {"obj": Secret()})
    with pytest.raises(ExpressionEvaluationError):
        ev("${obj['password']}", {"obj": Secret()})


# --------------------------------------------------------------------------------------------
# functions
# --------------------------------------------------------------------------------------------

FUNCTIONS = {
    "workingDays": lambda n: f"P{n}D",
    "add": lambda a, b: a + b,
    "now": lambda: dt.datetime(2024, 1, 1),
    "cal:workingDays": lambda n: f"cal-{n}",
    "profile": lambda: {"org": {"name": "生态环境厅"}},
    "fail": lambda: 1 / 0,
}


@pytest.mark.parametrize("text, expected", [
    ("${workingDays(5)}", "P5D"),
    ("${workingDays (5)}", "P5D"),
    ("${add(1, 2)}", 3),
    ("${add(add(1, 2), amount)}", 1503),
    ("${now()}", dt.datetime(2024, 1, 1)),
    ("${cal:workingDays(3)}", "cal-3"),
    ("${profile().org.name}", "生态环境厅"),
    ("${add(1, 2) * 2}", 6),
    ("${approved ? workingDays(1) : workingDays(2)}", "P1D"),
])
def test_functions(text: str, expected: Any) -> None:
    assert ev(text, functions=FUNCTIONS) == expected


def test_spaced_colon_is_a_ternary_not_a_namespace() -> None:
    assert ev("${approved ? word : workingDays(2)}", functions=FUNCTIONS) == "hello"
    assert ev("${rejected ? word : workingDays(2)}", functions=FUNCTIONS) == "P2D"


def test_unknown_function() -> None:
    with pytest.raises(ExpressionEvaluationError, match="unknown function 'nope'"):
        ev("${nope(1)}", functions=FUNCTIONS)
    with pytest.raises(ExpressionEvaluationError, match="unknown function 'workingDays'"):
        ev("${workingDays(1)}")  # no function table at all
    with pytest.raises(ExpressionEvaluationError, match="unknown function 'other:workingDays'"):
        ev("${other:workingDays(1)}", functions=FUNCTIONS)


def test_variable_holding_a_callable_cannot_be_called() -> None:
    variables = {"f": lambda: "called", "m": {"f": lambda: "called"}}
    with pytest.raises(ExpressionEvaluationError, match="unknown function 'f'"):
        ev("${f()}", variables)
    with pytest.raises(ExpressionSyntaxError, match="method calls"):
        ev("${m.f()}", variables)
    with pytest.raises(ExpressionSyntaxError, match="method calls"):
        ev("${m['f']()}", variables)


@pytest.mark.parametrize("text", ["${(add)(1, 2)}", "${profile()()}", "${'x'()}", "${word.upper()}"])
def test_calling_anything_but_a_name_is_a_syntax_error(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="method calls and calling values are not supported"):
        compile_template(text)


def test_function_table_entry_must_be_callable() -> None:
    with pytest.raises(ExpressionEvaluationError, match="not a function"):
        ev("${f()}", functions={"f": 42})


def test_function_failure_is_wrapped() -> None:
    with pytest.raises(ExpressionEvaluationError, match="function 'fail' failed: division by zero") as info:
        ev("${fail()}", functions=FUNCTIONS)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "ZeroDivisionError" not in str(info.value)  # a designer reads the reason, not Python's name for it


def test_function_raising_expression_error_passes_through() -> None:
    def nested() -> Any:
        return evaluate("${missing}", {})

    with pytest.raises(ExpressionEvaluationError, match="Cannot resolve identifier 'missing'"):
        ev("${nested()}", functions={"nested": nested})


def test_function_arguments_are_evaluated_values() -> None:
    seen: list[tuple[Any, ...]] = []
    ev("${f(applicant.address.city, 1 + 1, null, items)}", functions={"f": lambda *a: seen.append(a)})
    assert seen == [("广州", 2, None, VARS["items"])]


# --------------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------------

def test_template_literal_text_is_returned_as_is() -> None:
    assert ev("P15D") == "P15D"
    assert ev("") == ""
    assert ev("R3/PT10H") == "R3/PT10H"
    assert ev("cost: $5 #1 {x}") == "cost: $5 #1 {x}"
    assert compile_template("P15D").variable_names == frozenset()


@pytest.mark.parametrize("text, expected", [
    ("${approved}", True),
    ("${amount}", 1500),
    ("${rate}", 0.5),
    ("${nothing}", None),
    ("${items}", VARS["items"]),
    ("${applicant}", VARS["applicant"]),
    ("${when}", VARS["when"]),
    ("  ${amount}\n", 1500),          # surrounding whitespace is ignored
    ("#{amount}", 1500),              # deferred syntax is treated the same
])
def test_template_single_expression_keeps_type(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("text, expected", [
    ("${province}-eco-env", "gd-eco-env"),
    ("${province}-${decision}", "gd-approve"),
    ("group-${province}", "group-gd"),
    ("${amount}${amount}", "15001500"),
    ("x${nothing}y", "xy"),                     # null renders as empty text
    ("${approved}/${rejected}", "true/false"),   # booleans render as JUEL does
    ("rate=${rate}", "rate=0.5"),
    ("${applicant.address.city}环保局", "广州环保局"),
    ("审批：${审批结果}", "审批：同意"),
    ("P${amount / 500}D", "P3.0D"),
    ("#{province}-x", "gd-x"),
    (r"\${province}-${province}", "${province}-gd"),  # \${ escapes an expression
    (r"\#{province}", "#{province}"),
])
def test_template_interpolation(text: str, expected: str) -> None:
    assert ev(text) == expected


def test_template_attributes_and_cache() -> None:
    template = compile_template("${a.b + c}-${f(d, e.x)}-${a}")
    assert isinstance(template, Template)
    assert template.source == "${a.b + c}-${f(d, e.x)}-${a}"
    assert template.variable_names == frozenset({"a", "c", "d", "e"})
    assert compile_template("${a.b + c}-${f(d, e.x)}-${a}") is template
    assert compile_template("${cal:add(x)}").variable_names == frozenset({"x"})
    assert "Template(" in repr(template)


def test_template_evaluated_many_times_with_different_variables() -> None:
    template = compile_template("${amount > limit}")
    assert template.evaluate({"amount": 5, "limit": 1}) is True
    assert template.evaluate({"amount": 0, "limit": 1}) is False


def test_template_accepts_any_mapping() -> None:
    from types import MappingProxyType

    assert ev("${a.b}", MappingProxyType({"a": MappingProxyType({"b": 1})})) == 1


def test_contains_expression() -> None:
    assert contains_expression("${x}")
    assert contains_expression("#{x}")
    assert contains_expression("prefix ${x} suffix")
    assert contains_expression("${unclosed")   # so callers compile it and see the syntax error
    assert not contains_expression("P15D")
    assert not contains_expression("$5 and #3 {x}")
    assert not contains_expression("")
    assert not contains_expression(r"\${x}")


def test_chinese_identifiers_and_strings() -> None:
    variables = {"审批结果": "同意", "申请人": {"姓名": "李四"}, "金额": 300}
    assert ev('${审批结果 == "同意"}', variables) is True
    assert ev("${申请人.姓名}", variables) == "李四"
    assert ev("${申请人['姓名']}", variables) == "李四"
    assert ev("${金额 >= 200 ? '需复核' : '通过'}", variables) == "需复核"
    assert compile_template("${审批结果 && 金额}").variable_names == frozenset({"审批结果", "金额"})


def test_identifier_characters() -> None:
    assert ev("${$dollar + 1}") == 2
    assert ev("${_x1}", {"_x1": 3}) == 3
    assert ev("${a_b$c}", {"a_b$c": 4}) == 4


def test_whitespace_between_tokens() -> None:
    assert ev("${ \t\n amount\n>\t1000 \n}") is True
    assert ev("${applicant . address [ 'city' ]}") == "广州"
    assert ev("${add ( 1 ,2 )}", functions=FUNCTIONS) == 3


# --------------------------------------------------------------------------------------------
# truthy_condition
# --------------------------------------------------------------------------------------------

def test_truthy_condition() -> None:
    assert truthy_condition(True, "${a}") is True
    assert truthy_condition(False, "${a}") is False
    assert truthy_condition("true", "${a}") is True
    assert truthy_condition("false", "${a}") is False
    assert truthy_condition("TRUE", "${a}") is True


@pytest.mark.parametrize("value", [None, 1, 0, "yes", "", [], {}, 1.0])
def test_truthy_condition_rejects_non_booleans(value: Any) -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"non-Boolean.*\$\{decision\}") as info:
        truthy_condition(value, "${decision}")
    assert info.value.expression == "${decision}"


# --------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------

def test_unknown_variable_message_is_camundas() -> None:
    with pytest.raises(ExpressionEvaluationError) as info:
        ev("${x}")
    assert str(info.value) == "Unknown property used in expression: ${x}. Cause: Cannot resolve identifier 'x'"
    assert info.value.expression == "${x}"


def test_unknown_variable_inside_larger_expression() -> None:
    with pytest.raises(ExpressionEvaluationError, match=r"expression: \$\{approved && y == 1\}.*identifier 'y'"):
        ev("${approved && y == 1}")
    with pytest.raises(ExpressionEvaluationError, match="identifier 'undefinedThing'"):
        ev("${empty undefinedThing}")  # empty does not hide an undeclared name
    with pytest.raises(ExpressionEvaluationError, match="identifier 'zzz'"):
        ev("prefix-${zzz}")


def test_null_valued_variable_is_not_unknown() -> None:
    assert ev("${nothing}") is None


def test_error_hierarchy() -> None:
    assert issubclass(ExpressionSyntaxError, ExpressionError)
    assert issubclass(ExpressionEvaluationError, ExpressionError)
    assert issubclass(ExpressionError, Exception)
    assert str(ExpressionError("plain message")) == "plain message"  # callers raise it themselves


@pytest.mark.parametrize("text, position, fragment", [
    ("${", 0, "missing '}'"),
    ("abc ${x", 4, "missing '}'"),
    ("${x == 'a}", 7, "unterminated string"),
    ('${"abc}', 2, "unterminated string"),
    ("${}", 2, "empty expression"),
    ("${   }", 5, "empty expression"),
    ("${1 +}", 5, "unexpected end of expression"),
    ("${a ? b}", 7, "expected ':'"),
    ("${(a}", 4, "expected ')'"),
    ("${a[1}", 5, "expected ']'"),
    ("${f(1,}", 6, "unexpected end of expression"),
    ("${a b}", 4, "unexpected 'b'"),
    ("${a = b}", 4, "unexpected character '='"),
    ("${a & b}", 4, "unexpected character '&'"),
    ("${a | b}", 4, "unexpected character '|'"),
    ("${a;b}", 3, "unexpected character ';'"),
    ("${{}}", 2, "unexpected character '{'"),
    ("${a.}", 4, "expected a property name"),
    ("${a.1}", 3, "unexpected '.1'"),
    ("${a.true}", 4, "expected a property name"),
    ("${1abc}", 2, "invalid number"),
    ("${1e}", 2, "invalid number"),
    ("${1234567890123456789012345678901}", 2, "longer than 30 digits"),
    ("${1e999}", 2, "out of range"),
    ("${a instanceof b}", 4, "not supported"),
    ("${[1, 2]}", 2, "unexpected '['"),
    ("${x ? 1 : }", 10, "unexpected end of expression"),
    ("ok ${a} then ${", 13, "missing '}'"),
])
def test_syntax_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        compile_template(text)
    assert fragment in str(info.value)
    assert info.value.position == position
    assert info.value.expression == text
    assert text[:20] in str(info.value)


@pytest.mark.parametrize("text", ["${__x}", "${a__b}", "${x__}", "${a.__dict__}", "${__builtins__}",
                                  "${ns:__f(1)}", "${__f()}"])
def test_dunder_identifiers_are_rejected(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match="names containing '__' are reserved"):
        compile_template(text)


def test_too_long() -> None:
    text = "${" + "a + " * 1100 + "a}"
    with pytest.raises(ExpressionSyntaxError, match="longer than 4096 characters") as info:
        compile_template(text)
    assert info.value.position == 4096
    assert len(str(info.value)) < 1000  # the message quotes a shortened text
    compile_template("x" * 4096)


def test_too_many_tokens() -> None:
    text = "${" + "+".join(["1"] * 600) + "}"  # 1199 tokens, under 4096 characters
    assert len(text) < 4096
    with pytest.raises(ExpressionSyntaxError, match="more than 1024 tokens"):
        compile_template(text)
    # the budget covers the whole template, not each part
    with pytest.raises(ExpressionSyntaxError, match="more than 1024 tokens"):
        compile_template("${1+1}" * 600)


def test_long_flat_expression_is_fine() -> None:
    text = "${" + "+".join(["1"] * 512) + "}"  # 1023 tokens
    assert ev(text) == 512
    path = "${m" + ".m" * 300 + "}"
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(300):
        node["m"] = {}
        node = node["m"]
    assert ev(path, {"m": nested}) == {}


@pytest.mark.parametrize("make", [
    lambda n: "(" * n + "1" + ")" * n,
    lambda n: "-" * n + "1",
    lambda n: "!" * n + "true",
    lambda n: "f(" * n + "1" + ")" * n,
    lambda n: "a[" * n + "0" + "]" * n,
    lambda n: "true ? " * n + "1" + " : 2" * n,
    lambda n: "1 + (" * n + "1" + ")" * n,
])
def test_too_deep(make: Any) -> None:
    with pytest.raises(ExpressionSyntaxError, match="nested deeper than 64 levels"):
        compile_template("${" + make(70) + "}")
    compile_template("${" + make(20) + "}")


def test_precedence_ladders_are_bounded_by_tree_depth() -> None:
    # A parenthesised left operand costs the parser one level but the tree seven more, one per
    # precedence level below it: the tree depth limit, which bounds evaluation, catches it.
    tail = " * a + a < a == a && a || a)"

    def ladder(rungs: int) -> str:
        return "${" + "(" * rungs + "a" + tail * rungs + "}"

    compile_template(ladder(8))
    with pytest.raises(ExpressionSyntaxError, match="nested deeper"):
        compile_template(ladder(12))


def test_deepest_allowed_expression_needs_little_stack() -> None:
    # Compiling and evaluating the deepest accepted expression fits in 250 frames, so it is
    # safe even when called from deep inside a server's stack.
    text = "${" + "-" * 60 + "1}"
    depth = len(inspect.stack(0))
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 250)
    try:
        compiled = Template(text)
        assert compiled.evaluate({}) == 1
    finally:
        sys.setrecursionlimit(old)


def test_evaluation_error_backstops() -> None:
    big = 10 ** 400
    with pytest.raises(ExpressionEvaluationError, match="a number is too large"):
        ev("${big / 3}", {"big": big})
    with pytest.raises(ExpressionEvaluationError, match="a number is too large"):
        ev("${big * 1.5}", {"big": big})
    with pytest.raises(ExpressionEvaluationError, match="a value is out of range"):
        ev("x${huge}", {"huge": 10 ** 5000})


def test_numeric_string_coercion_is_strict() -> None:
    for text in ("1_000", "nan", "inf", "0x10", "1e999", " "):
        with pytest.raises(ExpressionEvaluationError, match="cannot coerce"):
            ev("${v + 1}", {"v": text})
    assert ev("${v + 1}", {"v": " 2 "}) == 3
    assert ev("${v + 1}", {"v": "-2.5e1"}) == -24.0


def test_unhashable_map_key_fails_cleanly() -> None:
    with pytest.raises(ExpressionEvaluationError, match="map key"):
        ev("${applicant[items]}")


def test_compile_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        compile_template(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# hostile input
# --------------------------------------------------------------------------------------------

PWNED = "/tmp/pwned"

HOSTILE = [
    "${__import__('os').system('touch /tmp/pwned')}",
    "${''.__class__.__mro__}",
    "${x.__class__}",
    '${exec("1")}',
    '${eval("1")}',
    '${open("/etc/passwd")}',
    "${(lambda: 1)()}",
    "${[].append}",
    "${__import__('os').system('touch /tmp/bpmn_pwned_condition') == 0}",
    "${getattr(x, 'y')}",
    "${x['y']('touch /tmp/pwned')}",
    "${os:system('touch /tmp/pwned')}",
    "${globals()}",
    "${().__class__}",
    "${{}.keys()}",
    "${x.y()}",
    "${'%s' % x}",
    "${f'{x}'}",
    "${x if True else y}",
    "${[c for c in x]}",
    "${x; import os}",
    "${x\n.__class__}",
    "${\\u005f\\u005fimport\\u005f\\u005f('os')}",
    "${＿＿import＿＿('os')}",
    "${breakpoint()}",
    "${compile('1', 'x', 'eval')}",
    "#{__import__('os').system('touch /tmp/pwned')}",
    "${" * 200,
    "${x" + "[0]" * 2000 + "}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_never_execute(text: str) -> None:
    if os.path.exists(PWNED):
        os.remove(PWNED)
    variables: dict[str, Any] = {"x": {"y": os.system}, "y": 1}
    with pytest.raises(ExpressionError):
        evaluate(text, variables, {"safe": lambda: 1})
    assert not os.path.exists(PWNED)


def test_hostile_functions_from_the_caller_table_only() -> None:
    # Even the names of dangerous builtins resolve only through the given table.
    assert ev("${eval('1')}", functions={"eval": lambda s: f"table:{s}"}) == "table:1"


# --------------------------------------------------------------------------------------------
# properties (hypothesis)
# --------------------------------------------------------------------------------------------

TOKENS = [
    "${", "#{", "}", "(", ")", "[", "]", ".", ",", "?", ":", "+", "-", "*", "/", "%", "==", "!=", "<", ">",
    "<=", ">=", "&&", "||", "!", "and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod",
    "empty", "true", "false", "null", "instanceof", "0", "1", "2.5", "1e3", ".5", "'s'", '"t"', "'", '"', "\\",
    "a", "b", "m", "l", "n", "s", "f", "ns:f", "__", "__class__", "中文", "$", "#", "{", " ", "\n", "=", "&",
]
SOUP_VARS: dict[str, Any] = {"a": True, "b": 2, "m": {"a": 1, "l": [1, "x"]}, "l": [1, 2, {"a": None}],
                             "n": None, "s": "12"}
SOUP_FUNCTIONS: dict[str, Any] = {"f": lambda *args: len(args), "ns:f": lambda *args: list(args)}


def _check_never_escapes(text: str) -> None:
    started = time.perf_counter()
    try:
        template = compile_template(text)
        template.evaluate(SOUP_VARS, SOUP_FUNCTIONS)
    except ExpressionError:
        pass
    assert time.perf_counter() - started < 1.0


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x9FFF), max_size=200))
def test_random_text_only_raises_expression_errors(text: str) -> None:
    _check_never_escapes(text)
    _check_never_escapes("${" + text + "}")


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=60))
def test_token_soup_only_raises_expression_errors(tokens: list[str]) -> None:
    _check_never_escapes("".join(tokens))
    _check_never_escapes("${" + " ".join(tokens) + "}")


_LEAVES = st.sampled_from(["a", "b", "m", "l", "n", "s", "1", "0", "2.5", "'x'", '"12"', "true", "false",
                          "null", "m.a", "m.l[1]", "l[2].a", "f()", "ns:f(1)", "missing"])
_BINARY = ["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "div", "mod", "and", "or"]


def _grow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "!", "empty ", "not "]), children).map("".join),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
        st.tuples(children, children).map(lambda t: f"f({t[0]}, {t[1]})"),
        children.map(lambda c: f"l[{c}]"),
        children.map(lambda c: f"m[{c}]"),
    )


@settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(_LEAVES, _grow, max_leaves=25))
def test_well_formed_expressions_evaluate_or_raise_evaluation_errors(expression: str) -> None:
    template = compile_template("${" + expression + "}")  # the grammar above is always valid
    try:
        template.evaluate(SOUP_VARS, SOUP_FUNCTIONS)
        compile_template("<${" + expression + "}>").evaluate(SOUP_VARS, SOUP_FUNCTIONS)
    except ExpressionEvaluationError:
        pass


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(min_value=-10**6, max_value=10**6), st.integers(min_value=-10**6, max_value=10**6))
def test_integer_arithmetic_matches_python(a: int, b: int) -> None:
    variables = {"a": a, "b": b}
    assert ev("${a + b * 2 - 1}", variables) == a + b * 2 - 1
    assert ev("${a < b}", variables) is (a < b)
    assert ev("${a == b || a > b}", variables) is (a >= b)
    if b:
        assert ev("${a / b}", variables) == a / b
        assert ev("${a % b}", variables) == int(math.fmod(a, b))


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=50))
def test_string_literals_round_trip(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    assert ev('${"' + escaped + '"}', {}) == value
    assert ev("${s}", {"s": value}) == value
    assert ev("[${s}]", {"s": value}) == f"[{value}]"
