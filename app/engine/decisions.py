"""DMN decision tables, as Camunda Modeler 5 saves them, read and evaluated without running any text
of the file as code.

A decision table's input expressions are variable names (or JUEL `${...}` through the safe evaluator),
its input entries FEEL simple unary tests (`-`, literals, comparisons, ranges, lists, `not(...)`), its
output entries literals (or JUEL). A literal expression decision is read as a table of one rule and
one output, its variable. A decision may require others of its file (a decision requirements graph):
they are evaluated first, as Camunda evaluates them, and their outputs become its variables.
Everything is compiled when the file is deployed, so that a table the service cannot evaluate is
refused then, naming the decision, the rule and the reason.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from lxml import etree

from app.engine.expressions import MAX_NUMBER_DIGITS, ExpressionError, Template, compile_template
from app.engine.xml import CAMUNDA_DMN_NS, MAX_DEFINITION_KEY, history_time_to_live, parse_untrusted_xml
from app.engine.xml import refuse_element as _refuse
from app.errors import InvalidProcessModel, ProcessExecutionFailed

DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1 (Camunda Modeler 4 and earlier)
    "http://www.omg.org/spec/DMN/20151101/dmn11.xsd",  # DMN 1.1 as Camunda 7.4 wrote it
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3 (Camunda Modeler 5)
    "https://www.omg.org/spec/DMN/20191111/DMN13.xsd",  # DMN 1.3 as Camunda 7.13 wrote it
    "https://www.omg.org/spec/DMN/20211108/MODEL/",  # DMN 1.4
    "https://www.omg.org/spec/DMN/20230324/MODEL/",  # DMN 1.5
})
# Hit policies evaluated here; PRIORITY and OUTPUT ORDER need output value lists, which Camunda
# Modeler does not edit, and are refused.
HIT_POLICIES = frozenset({"UNIQUE", "FIRST", "ANY", "RULE ORDER", "COLLECT"})
AGGREGATIONS = frozenset({"SUM", "MIN", "MAX", "COUNT"})
# The kind of an output entry left empty (app.engine.decisions.DecisionTable.evaluate).
_EMPTY = "empty"
# Recorded with an evaluation of a table with empty output entries that left them out of its result.
BLANK_OUTPUTS = "blank_outputs"
_NAME_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class _BadEntry(ValueError):
    pass


def is_decision_resource(root: etree._Element) -> bool:
    return etree.QName(root).namespace in DMN_NAMESPACES and etree.QName(root).localname == "definitions"


# --- FEEL literals and unary tests ----------------------------------------------------------------

def _literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        body = text[1:-1]
        if re.search(r'(?<!\\)"', body):
            raise _BadEntry(f"'{text}' is not one text literal")
        return body.replace('\\"', '"').replace("\\\\", "\\")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _NUMBER.match(text):
        if len(text) > MAX_NUMBER_DIGITS:
            raise _BadEntry(f"the number '{text[:20]}…' has more than {MAX_NUMBER_DIGITS} digits")
        return float(text) if "." in text else int(text)
    match = re.fullmatch(r'date\(\s*"(\d{4}-\d{2}-\d{2})"\s*\)', text)
    if match:
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            raise _BadEntry(f"'{text}' is not a valid date") from None
    raise _BadEntry(f"'{text}' is not a FEEL literal (a \"text\", a number, true, false, null or date(\"YYYY-MM-DD\"))")


def _split_top_level(text: str) -> list[str]:
    """Split at the commas that are outside quotes, brackets and parentheses."""
    parts, depth, quoted, start, index = [], 0, False, 0, 0
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
        index += 1
    if quoted:
        raise _BadEntry(f"unclosed text literal in '{text}'")
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _comparable(left: Any, right: Any) -> bool:
    def kind(value: Any) -> str | None:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, (int, float)):
            return "number"
        if isinstance(value, date):
            return "date"
        if isinstance(value, str):
            return "text"
        return None
    return kind(left) is not None and kind(left) == kind(right)


def _as_date(value: Any) -> Any:
    """A date variable arrives as an ISO text from a form or the REST API: compare it as a date."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value[:10]):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return value
    return value


_Test = Callable[[Any], bool]


# `not(...)` may nest this deep; deeper is a mistake or an attack, not a rule.
_MAX_NEGATIONS = 8


def _single_test(text: str, depth: int) -> _Test:
    if text.startswith("not(") and text.endswith(")"):
        if depth >= _MAX_NEGATIONS:
            raise _BadEntry(f"not(...) is nested more than {_MAX_NEGATIONS} deep")
        inner = compile_unary_tests(text[4:-1], depth + 1)
        return lambda value: not inner(value)
    for operator in ("<=", ">=", "<", ">"):
        if text.startswith(operator):
            bound = _literal(text[len(operator):])
            compare: Callable[[Any, Any], bool] = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                       ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}[operator]

            def ordered(value: Any, bound: Any = bound, compare: Callable[[Any, Any], bool] = compare) -> bool:
                value = _as_date(value) if isinstance(bound, date) else value
                return _comparable(value, bound) and compare(value, bound)
            return ordered
    if text[:1] in "[(]" and text[-1:] in "[])" and ".." in text:
        low_text, high_text = text[1:-1].split("..", 1)
        low, high = _literal(low_text), _literal(high_text)
        low_open, high_open = text[0] in "(]", text[-1] in ")["

        def within(value: Any) -> bool:
            value = _as_date(value) if isinstance(low, date) else value
            if not (_comparable(value, low) and _comparable(value, high)):
                return False
            return (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        return within
    expected = _literal(text)

    def equal(value: Any) -> bool:
        if expected is None:
            return value is None
        value = _as_date(value) if isinstance(expected, date) else value
        return _comparable(value, expected) and value == expected
    return equal


def compile_unary_tests(text: str, depth: int = 0) -> _Test:
    """A FEEL simple unary test list: `-` (anything), or tests separated by commas, one of which
    must hold; `not(...)` negates a list."""
    text = text.strip()
    if text in ("", "-"):
        return lambda value: True
    parts = _split_top_level(text)
    if not all(parts):
        raise _BadEntry(f"empty test in '{text}'")
    tests = [_single_test(part, depth) for part in parts]
    return lambda value: any(test(value) for test in tests)


# --- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DecisionInput:
    id: str | None  # DMN leaves ids optional
    label: str | None
    expression_text: str
    # A variable path (FEEL name) or a JUEL template.
    path: tuple[str, ...] | None
    template: Template | None


@dataclass(frozen=True)
class DecisionOutput:
    id: str | None
    label: str | None
    name: str


@dataclass(frozen=True)
class DecisionRule:
    id: str | None
    description: str | None
    tests: tuple[Template | _Test, ...]  # one per input: a FEEL test, or a JUEL template with `cellInput`
    # One per output: ("value", literal), ("juel", template), ("path", variable path: a literal
    # expression naming a variable) or (_EMPTY, None).
    outputs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class DecisionTable:
    key: str
    name: str | None
    version_tag: str | None
    history_time_to_live: int | None
    resource_name: str
    # Of the decision element alone (canonical XML): a file re-deployed with only another decision
    # changed leaves this one's version alone.
    checksum: str
    # The file's namespace, as Camunda's decision definition shows it.
    category: str | None
    hit_policy: str
    aggregation: str | None
    inputs: tuple[DecisionInput, ...]
    outputs: tuple[DecisionOutput, ...]
    rules: tuple[DecisionRule, ...]
    # An empty output entry gives its output null (Camunda's dmnReturnBlankTableOutputAsNull), as every
    # evaluation did before 2026-12-07; replay evaluates so where the record says nothing else.
    blank_outputs_as_null: bool = False
    # The decisions of its file it requires, each after those it requires in turn and once, in the
    # order Camunda evaluates them.
    required: tuple[DecisionTable, ...] = ()

    @property
    def has_blank_outputs(self) -> bool:
        return any(kind == _EMPTY for rule in self.rules for kind, _ in rule.outputs)

    def evaluate(self, variables: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]
                 ) -> DecisionEvaluation:
        """The matched rules and their outputs, by the table's hit policy. Raises ProcessExecutionFailed
        when an input cannot be evaluated or a UNIQUE/ANY table is violated."""
        required: list[DecisionEvaluation] = []
        if self.required:
            variables = dict(variables)
            for table in self.required:
                required.append(table.evaluate(variables, functions))
                variables.update(required[-1].as_variables())
        values = [self._input_value(item, variables, functions) for item in self.inputs]
        matched = [rule for rule in self.rules if self._matches(rule, values, variables, functions)]
        # As Camunda's: an empty output entry gives the rule's result no entry for its output at all.
        results = [{output.name: self._output_value(rule, index, variables, functions)
                    for index, output in enumerate(self.outputs)
                    if rule.outputs[index][0] != _EMPTY or self.blank_outputs_as_null}
                   for rule in matched]
        if self.hit_policy == "UNIQUE" and len(matched) > 1:
            raise ProcessExecutionFailed(
                f"decision '{self.key}' has hit policy UNIQUE but rules {', '.join(str(r.id) for r in matched)} all "
                f"match the inputs {self._shown(values)}", details={"decision": self.key})
        if self.hit_policy == "ANY" and any(result != results[0] for result in results[1:]):
            raise ProcessExecutionFailed(
                f"decision '{self.key}' has hit policy ANY but the matching rules "
                f"{', '.join(str(r.id) for r in matched)} give different outputs", details={"decision": self.key})
        if self.hit_policy in ("FIRST", "ANY", "UNIQUE"):
            matched, results = matched[:1], results[:1]
        rule_outputs = tuple(results)
        if self.hit_policy == "COLLECT" and self.aggregation:
            results = [self._aggregate(self.aggregation, results)]
        return DecisionEvaluation(self, {item.label or item.expression_text: value
                                         for item, value in zip(self.inputs, values, strict=True)},
                                  tuple(rule.id for rule in matched), tuple(results), rule_outputs,
                                  tuple(required))

    def _shown(self, values: list[Any]) -> str:
        return ", ".join(f"{item.label or item.expression_text}={value!r}"
                         for item, value in zip(self.inputs, values, strict=True))

    def _input_value(self, item: DecisionInput, variables: Mapping[str, Any],
                      functions: Mapping[str, Callable[..., Any]]) -> Any:
        if item.template is not None:
            try:
                return item.template.evaluate(variables, functions)
            except ExpressionError as error:
                raise ProcessExecutionFailed(f"decision '{self.key}', input '{item.label or item.id}': {error}",
                                             details={"decision": self.key}) from None
        return self._variable(item.path or (), variables, f"input '{item.label or item.id}'")

    def _variable(self, path: tuple[str, ...], variables: Mapping[str, Any], where: str) -> Any:
        value: Any = variables
        for step in path:
            if not isinstance(value, Mapping) or step not in value:
                raise ProcessExecutionFailed(f"decision '{self.key}', {where}: the variable '{'.'.join(path)}' "
                                             "is not set", details={"decision": self.key})
            value = value[step]
        return value

    def _matches(self, rule: DecisionRule, values: list[Any], variables: Mapping[str, Any],
                 functions: Mapping[str, Callable[..., Any]]) -> bool:
        for test, value in zip(rule.tests, values, strict=True):
            if isinstance(test, Template):
                try:
                    if test.evaluate({**variables, "cellInput": value}, functions) is not True:
                        return False
                except ExpressionError as error:
                    raise ProcessExecutionFailed(f"decision '{self.key}', rule '{rule.id}': {error}",
                                                 details={"decision": self.key}) from None
            elif not test(value):
                return False
        return True

    def _output_value(self, rule: DecisionRule, index: int, variables: Mapping[str, Any],
                      functions: Mapping[str, Callable[..., Any]]) -> Any:
        kind, value = rule.outputs[index]
        if kind in ("value", _EMPTY):
            return value
        if kind == "path":
            return self._variable(value, variables, f"variable '{self.outputs[index].name}'")
        try:
            return value.evaluate(variables, functions)
        except ExpressionError as error:
            raise ProcessExecutionFailed(f"decision '{self.key}', rule '{rule.id}': {error}",
                                         details={"decision": self.key}) from None

    def _aggregate(self, aggregation: str, results: list[dict[str, Any]]) -> dict[str, Any]:
        name = self.outputs[0].name
        if aggregation == "COUNT":  # as Camunda's: every entry a rule gives, a null one too
            return {name: sum(1 for result in results if name in result)}
        values = [result[name] for result in results if result.get(name) is not None]
        if not values:
            return {name: None}
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise ProcessExecutionFailed(f"decision '{self.key}': {aggregation} needs numbers, got {values!r}",
                                         details={"decision": self.key})
        aggregate: dict[str, Callable[[list[Any]], Any]] = {"SUM": sum, "MIN": min, "MAX": max}
        return {name: aggregate[aggregation](values)}


@dataclass(frozen=True)
class DecisionEvaluation:
    table: DecisionTable
    inputs: dict[str, Any]
    matched_rules: tuple[str | None, ...]
    results: tuple[dict[str, Any], ...]
    # The outputs of each matched rule, before a COLLECT table's aggregation (Camunda's history
    # records these, and the aggregate as the collect result value).
    rule_outputs: tuple[dict[str, Any], ...] = ()
    # The evaluations of the decisions it required, in the order they ran.
    required: tuple[DecisionEvaluation, ...] = ()

    def as_variables(self) -> dict[str, Any]:
        """What a required decision gives the decisions that require it, as Camunda gives it: the
        outputs of its one result, or each output's values over its results (a list) when it has
        several or collects them."""
        collects = self.table.hit_policy == "RULE ORDER" or (self.table.hit_policy == "COLLECT"
                                                              and not self.table.aggregation)
        if len(self.results) == 1 and not collects:
            return dict(self.results[0])
        names = dict.fromkeys(name for result in self.results for name in result)
        return {name: [result[name] for result in self.results if name in result] for name in names}

    def recorded(self) -> dict[str, Any]:
        """What the history keeps of the evaluation besides its mapped result."""
        recorded: dict[str, Any] = {"inputs": self.inputs, "matched_rules": list(self.matched_rules),
                                    "outputs": [dict(outputs) for outputs in self.rule_outputs]}
        if self.required:
            recorded["required_decisions"] = [{"decision_key": evaluation.table.key, **evaluation.recorded()}
                                              for evaluation in self.required]
        if self.table.has_blank_outputs and not self.table.blank_outputs_as_null:
            recorded[BLANK_OUTPUTS] = "omitted"  # how a replay must evaluate it again
        if self.table.aggregation:
            recorded["collect_result"] = next(iter(self.results[0].values()))
        return recorded

    def mapped(self, how: str) -> Any:
        """The result as Camunda's camunda:mapDecisionResult puts it into the result variable."""
        if how == "resultList":
            return [dict(result) for result in self.results]
        if how == "collectEntries":
            # The values of the one output the results have (a rule's empty output entry gives none).
            names = sorted({name for result in self.results for name in result})
            if len(names) > 1:
                raise ProcessExecutionFailed(f"decision '{self.table.key}' gives the outputs {', '.join(names)}, "
                                             "but collectEntries takes the values of one",
                                             details={"decision": self.table.key})
            return [result[name] for name in names for result in self.results if name in result]
        if len(self.results) > 1:
            raise ProcessExecutionFailed(f"decision '{self.table.key}' gives {len(self.results)} results, but "
                                         f"{how} takes one", details={"decision": self.table.key})
        if not self.results:
            return None
        result = self.results[0]
        if how == "singleResult":
            return dict(result)
        if len(result) > 1:
            raise ProcessExecutionFailed(f"decision '{self.table.key}' gives {len(result)} outputs, but singleEntry "
                                         "takes one", details={"decision": self.table.key})
        return next(iter(result.values()), None)


@dataclass(frozen=True)
class ClauseValue:
    """An input or output value of a recorded evaluation, named as the table names its clause
    (Camunda's historic decision input and output instances)."""

    clause_id: str | None
    clause_name: str | None
    value: Any
    # Outputs only: the matched rule, its place among the matched rules (from 1) and the output's name.
    rule_id: str | None = None
    rule_order: int | None = None
    variable_name: str | None = None


def recorded_inputs(table: DecisionTable | None, inputs: Mapping[str, Any]) -> list[ClauseValue]:
    """The input values of a recorded evaluation (DecisionEvaluation.recorded), with the clauses of
    the table that gave them; without the table (its deployment deleted), named as recorded."""
    if table is None:
        return [ClauseValue(None, name, value) for name, value in inputs.items()]
    return [ClauseValue(item.id, item.label, inputs[item.label or item.expression_text])
            for item in table.inputs if (item.label or item.expression_text) in inputs]


def recorded_outputs(table: DecisionTable | None, matched_rules: list[str | None],
                     outputs: list[dict[str, Any]]) -> list[ClauseValue]:
    """The output values of each matched rule of a recorded evaluation, in the rules' order."""
    clauses = {output.name: output for output in table.outputs} if table is not None else {}
    return [ClauseValue(clause.id if clause else None, clause.label if clause else None, value, rule_id, order, name)
            for order, (rule_id, values) in enumerate(zip(matched_rules, outputs, strict=False), start=1)
            for name, value in values.items() for clause in [clauses.get(name)]]


@dataclass(frozen=True)
class DecisionRecord:
    """One evaluation during a run, for the instance's history."""

    activity_id: str
    activity_instance_id: str
    decision_key: str
    decision_id: str
    # DecisionEvaluation.recorded(): inputs, matched rules, their outputs (and a collect result).
    evaluation: dict[str, Any]
    result: Any


def _text(element: etree._Element | None, ns: str) -> str:
    node = element.find(f"{{{ns}}}text") if element is not None else None
    return (node.text or "").strip() if node is not None else ""


def _is_juel(element: etree._Element, text: str) -> bool:
    language = (element.get("expressionLanguage") or "").lower()
    return language == "juel" or (text.startswith("${") and text.endswith("}"))


def _compile_juel(resource: str, element: etree._Element, text: str, what: str) -> Template:
    try:
        return compile_template(text if text.startswith("${") else "${" + text + "}")
    except ExpressionError as error:
        raise _refuse(resource, element, f"invalid {what} '{text}': {error}") from None


def parse_decisions(resource: str, content: bytes) -> list[DecisionTable]:
    """The decision tables of a DMN file. Raises InvalidProcessModel naming the element and the reason."""
    root = parse_untrusted_xml(content, resource)
    if not is_decision_resource(root):
        raise InvalidProcessModel(f"{resource}: not a DMN file (root element must be dmn:definitions)",
                                  details={"resource": resource, "element": None})
    ns = etree.QName(root).namespace
    tables = []
    keys: set[str] = set()
    requirements: dict[str, list[tuple[str, etree._Element]]] = {}
    for decision in root.iterfind(f"{{{ns}}}decision"):
        key = (decision.get("id") or "").strip()
        if not key:
            raise _refuse(resource, decision, "a decision needs an id (it becomes the decision definition key)")
        if key in keys:
            raise _refuse(resource, decision, f"decision key '{key}' is defined twice")
        if len(key) > MAX_DEFINITION_KEY or len(decision.get("name") or "") > 255:
            raise _refuse(resource, decision, f"a decision's id has at most {MAX_DEFINITION_KEY} characters and its "
                                              "name at most 255 characters")
        keys.add(key)
        table = decision.find(f"{{{ns}}}decisionTable")
        literal = decision.find(f"{{{ns}}}literalExpression")
        if table is not None:
            tables.append(_table(resource, ns, key, decision, table))
        elif literal is not None:
            tables.append(_literal_decision(resource, ns, key, decision, literal))
        else:
            raise _refuse(resource, decision, "the decision is neither a decision table nor a literal expression")
        requirements[key] = [(_required_key(resource, node), node) for node in
                             decision.iterfind(f"{{{ns}}}informationRequirement/{{{ns}}}requiredDecision")]
    if not tables:
        raise InvalidProcessModel(f"{resource}: the DMN file defines no decision", details={"resource": resource,
                                                                                            "element": None})
    return _with_requirements(resource, {table.key: table for table in tables}, requirements)


# How deep decisions may require one another (a graph deeper than this is no decision a person reads).
MAX_REQUIREMENT_DEPTH = 32


def _required_key(resource: str, node: etree._Element) -> str:
    href = (node.get("href") or "").strip()
    if not href.startswith("#") or len(href) < 2:
        raise _refuse(resource, node, f"a required decision is named by '#' and the id of a decision of the same "
                                      f"file, got '{href}'")
    return href[1:]


def _with_requirements(resource: str, tables: dict[str, DecisionTable],
                       requirements: dict[str, list[tuple[str, etree._Element]]]) -> list[DecisionTable]:
    """Each decision with the decisions it requires, directly or not, in the order Camunda evaluates
    them: each after those it requires, and each once. A decision requiring itself is refused."""
    done: dict[str, DecisionTable] = {}

    def resolve(key: str, requiring: tuple[str, ...]) -> DecisionTable:
        if key in done:
            return done[key]
        ordered: dict[str, DecisionTable] = {}
        for required_key, node in requirements[key]:
            if required_key not in tables:
                raise _refuse(resource, node, f"decision '{key}' requires '{required_key}', which is no decision "
                                              "of this file")
            if required_key in (*requiring, key):
                raise _refuse(resource, node, f"decision '{key}' requires '{required_key}', which requires it "
                                              "in turn")
            if len(requiring) >= MAX_REQUIREMENT_DEPTH:
                raise _refuse(resource, node, f"decisions require one another more than {MAX_REQUIREMENT_DEPTH} "
                                              "deep")
            inner = resolve(required_key, (*requiring, key))
            for table in (*inner.required, inner):
                ordered.setdefault(table.key, table)
        own = tables[key]
        if ordered:
            # A change to a decision it requires changes what it decides: a new version of it too.
            checksum = hashlib.sha256("".join([own.checksum, *(t.checksum for t in ordered.values())]).encode())
            own = replace(own, required=tuple(ordered.values()), checksum=checksum.hexdigest())
        done[key] = own
        return own

    return [resolve(key, ()) for key in tables]


def _literal_decision(resource: str, ns: str, key: str, decision: etree._Element,
                      expression: etree._Element) -> DecisionTable:
    """A literal expression decision, as a table of one rule without inputs whose one output is the
    decision's variable (Camunda's result of such a decision: one entry, named by the variable)."""
    variable = decision.find(f"{{{ns}}}variable")
    name = (variable.get("name") or "").strip() if variable is not None else ""
    if not name.isidentifier():
        raise _refuse(resource, decision, "a literal expression decision needs a variable whose name is a variable "
                                          f"name (the Modeler's 'Variable name'), got '{name}'")
    text = _text(expression, ns)
    value: tuple[str, Any]
    if not text:
        raise _refuse(resource, decision, "the literal expression is empty")
    if _is_juel(expression, text):
        value = ("juel", _compile_juel(resource, decision, text, "literal expression"))
    elif _NAME_PATH.match(text) and text not in ("true", "false", "null"):
        value = ("path", tuple(text.split(".")))
    else:
        try:
            literal = _literal(text)
        except _BadEntry as error:
            raise _refuse(resource, decision, f"literal expression: {error}; or name a variable, or write it in "
                                              "JUEL (${...})") from None
        value = ("value", literal.isoformat() if isinstance(literal, date) else literal)
    return DecisionTable(**_decision_fields(resource, key, decision), hit_policy="UNIQUE", aggregation=None,
                         inputs=(),
                         outputs=(DecisionOutput(variable.get("id") if variable is not None else None, name, name),),
                         rules=(DecisionRule(None, None, (), (value,)),))


def _decision_fields(resource: str, key: str, decision: etree._Element) -> dict[str, Any]:
    """What every decision has, whatever its logic: its key, name, version tag, history time to live,
    file, and the checksum of its element alone."""
    return {"key": key, "name": decision.get("name"), "version_tag": decision.get(f"{{{CAMUNDA_DMN_NS}}}versionTag"),
            "history_time_to_live": history_time_to_live(resource, decision, CAMUNDA_DMN_NS),
            "resource_name": resource, "category": decision.getroottree().getroot().get("namespace"),
            "checksum": hashlib.sha256(etree.tostring(decision, method="c14n")).hexdigest()}


def _table(resource: str, ns: str, key: str, decision: etree._Element, table: etree._Element) -> DecisionTable:
    hit_policy = (table.get("hitPolicy") or "UNIQUE").strip().upper()
    if hit_policy not in HIT_POLICIES:
        raise _refuse(resource, decision, f"hit policy '{hit_policy}' is not supported "
                                          f"(supported: {', '.join(sorted(HIT_POLICIES))})")
    aggregation = (table.get("aggregation") or "").strip().upper() or None
    if aggregation and (hit_policy != "COLLECT" or aggregation not in AGGREGATIONS):
        raise _refuse(resource, decision, f"aggregation '{aggregation}' needs hit policy COLLECT and one of "
                                          f"{', '.join(sorted(AGGREGATIONS))}")
    inputs = []
    for node in table.iterfind(f"{{{ns}}}input"):
        expression = node.find(f"{{{ns}}}inputExpression")
        text = _text(expression, ns)
        if expression is None or not text:
            raise _refuse(resource, node, "the input has no expression")
        if _is_juel(expression, text):
            inputs.append(DecisionInput(node.get("id"), node.get("label"), text, None,
                                        _compile_juel(resource, node, text, "input expression")))
        elif _NAME_PATH.match(text):
            inputs.append(DecisionInput(node.get("id"), node.get("label"), text, tuple(text.split(".")), None))
        else:
            raise _refuse(resource, node, f"input expression '{text}' must be a variable name (for example "
                                          "enterprise_size) or a JUEL expression ${...}")
    outputs = []
    for node in table.iterfind(f"{{{ns}}}output"):
        name = (node.get("name") or "").strip()
        if not name.isidentifier():
            raise _refuse(resource, node, f"the output needs a name that is a variable name, got '{name}'")
        outputs.append(DecisionOutput(node.get("id"), node.get("label"), name))
    if not outputs:
        raise _refuse(resource, decision, "the decision table has no output")
    if aggregation and len(outputs) != 1:
        raise _refuse(resource, decision, "an aggregating table has exactly one output")
    rules = []
    for node in table.iterfind(f"{{{ns}}}rule"):
        entries = node.findall(f"{{{ns}}}inputEntry")
        results = node.findall(f"{{{ns}}}outputEntry")
        if len(entries) != len(inputs) or len(results) != len(outputs):
            raise _refuse(resource, node, f"the rule has {len(entries)} input and {len(results)} output entries "
                                          f"for {len(inputs)} inputs and {len(outputs)} outputs")
        tests: list[Template | _Test] = []
        for entry in entries:
            text = _text(entry, ns)
            # An empty entry, in whatever language, matches anything, as in Camunda.
            if text and _is_juel(entry, text):
                tests.append(_compile_juel(resource, node, text, "input entry"))
                continue
            try:
                tests.append(compile_unary_tests(text))
            except _BadEntry as error:
                raise _refuse(resource, node, f"input entry '{text}': {error}") from None
        values: list[tuple[str, Any]] = []
        for entry in results:
            text = _text(entry, ns)
            if text and _is_juel(entry, text):
                values.append(("juel", _compile_juel(resource, node, text, "output entry")))
                continue
            try:
                if not text:
                    values.append((_EMPTY, None))
                    continue
                value = _literal(text)
                # Variables hold dates as ISO texts, as forms and the REST API give them.
                values.append(("value", value.isoformat() if isinstance(value, date) else value))
            except _BadEntry as error:
                raise _refuse(resource, node, f"output entry: {error}") from None
        description = node.find(f"{{{ns}}}description")
        rules.append(DecisionRule(node.get("id"), (description.text or "").strip() if description is not None
                                  else None, tuple(tests), tuple(values)))
    return DecisionTable(**_decision_fields(resource, key, decision), hit_policy=hit_policy, aggregation=aggregation,
                         inputs=tuple(inputs), outputs=tuple(outputs), rules=tuple(rules))


def parse_decision_resources(resources: Mapping[str, bytes]) -> list[DecisionTable]:
    """The decision tables of the DMN resources of a deployment (BPMN resources are left out)."""
    tables: dict[str, DecisionTable] = {}
    for resource, content in resources.items():
        if not is_decision_resource(parse_untrusted_xml(content, resource)):
            continue
        for table in parse_decisions(resource, content):
            if table.key in tables:
                raise InvalidProcessModel(f"{resource}: decision key '{table.key}' is also defined in "
                                          f"{tables[table.key].resource_name}",
                                          details={"resource": resource, "element": table.key})
            tables[table.key] = table
    return list(tables.values())


@dataclass(frozen=True)
class DecisionRequirements:
    """A DMN file's decision requirements graph: its `definitions` element, kept as Camunda keeps it
    (a decision requirements definition) when the file holds more than one decision."""

    key: str
    name: str | None
    category: str | None  # the definitions' namespace
    resource_name: str
    decision_keys: tuple[str, ...]


def parse_decision_requirements(resources: Mapping[str, bytes]) -> list[DecisionRequirements]:
    """The decision requirements graphs of the DMN resources that hold several decisions (Camunda
    persists none for a file of one decision, whose decision then names no graph)."""
    graphs = []
    for resource, content in resources.items():
        root = parse_untrusted_xml(content, resource)
        if not is_decision_resource(root):
            continue
        ns = etree.QName(root).namespace
        keys = tuple((decision.get("id") or "").strip() for decision in root.iterfind(f"{{{ns}}}decision"))
        if len(keys) < 2:
            continue
        key = (root.get("id") or "").strip()
        if not key or len(key) > MAX_DEFINITION_KEY or len(root.get("name") or "") > 255:
            raise _refuse(resource, root, "a DMN file of several decisions needs an id on its definitions element "
                                          f"(at most {MAX_DEFINITION_KEY} characters, its name at most 255): it "
                                          "becomes the decision requirements definition key")
        graphs.append(DecisionRequirements(key, root.get("name"), root.get("namespace"), resource, keys))
    return graphs
