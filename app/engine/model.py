"""Reading Camunda Modeler files into deployable process models (app.engine.elements): the dialect
read, checked and compiled once.

A BPMN file is untrusted input. Before SpiffWorkflow builds specs from it, this module reads the
parts the library ignores (assignee, candidate groups and users, due dates, priority, form fields),
compiles every expression with the safe evaluator, and refuses what the service will not run (script
tasks, Java delegates, listeners), each time naming the element and the reason.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import overload

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from app.engine.call_activities import (
    CallActivityDefinition,
    SignalPayload,
    read_call_activity,
    read_signal_payload,
    use_call_activities,
)
from app.engine.compensation import Compensation, prepare_compensation, use_compensation
from app.engine.decision_tasks import ServiceParser, use_decisions
from app.engine.decisions import is_decision_resource
from app.engine.deploy_rules import check_deploy_rules
from app.engine.elements import (
    DECISION_BINDINGS,
    FORM_CONSTRAINTS,
    FORM_FIELD_TYPES,
    MAP_DECISION_RESULTS,
    ConditionNarrowing,
    DecisionReference,
    ElementInfo,
    ErrorCatch,
    ExternalTaskDefinition,
    FormField,
    ProcessModel,
    StartEventInfo,
    UserTaskDefinition,
)
from app.engine.event_subprocesses import interrupting_starts, use_event_subprocesses
from app.engine.events import use_service_events
from app.engine.expressions import ExpressionSyntaxError, Template, compile_template, contains_expression
from app.engine.flows import (
    SERVICE_TASK_LIKE,
    drop_data_associations,
    end_implicitly,
    end_subprocesses,
    join_link_events,
    message_throw_topic,
    name_unnamed_flows,
    read_standard_multi_instance,
    rename_reserved_ids,
    resolve_references,
    restore_reserved_ids,
    rewrite_external_tasks,
    rewrite_message_throws,
    rewrite_transactions,
    split_implicitly,
    take_unconditional_flows,
    trim_conditions,
)
from app.engine.gateways import use_camunda_joins
from app.engine.multi_instance import use_service_multi_instance
from app.engine.outputs import (
    ParameterList,
    ParameterMap,
    ParameterValue,
    use_input_parameters,
    use_output_parameters,
)
from app.engine.plain import plain
from app.engine.structure import check_structure
from app.engine.timers import TIMER_KINDS, TimerLimits, check_constant_timer, use_service_timers
from app.engine.xml import (
    BPMN_NS,
    BPMN_PREFIXES,
    CAMUNDA_NS,
    MAX_CATEGORY,
    MAX_DEFINITION_KEY,
    history_time_to_live,
    local_name,
    parse_untrusted_xml,
    refuse_element,
)
from app.errors import InvalidProcessModel

_NS = BPMN_PREFIXES

# The most flow elements (tasks, events, gateways, subprocesses and the flows between them) one file
# may hold: four times the largest diagram of Camunda's own corpus (181), and a bound on the time a
# deployment takes to read (it grows faster than the file) and on how deep a chain the reader follows.
MAX_FLOW_ELEMENTS = 800
_FLOW_ELEMENT = re.compile(r"sequenceFlow|task|\w*Task|\w*Event|\w*Gateway|subProcess|adHocSubProcess|transaction"
                           r"|callActivity")


def _check_size(resource: str, root: etree._Element) -> None:
    flow_elements = sum(1 for element in root.iter(f"{{{BPMN_NS}}}*") if _FLOW_ELEMENT.fullmatch(local_name(element)))
    if flow_elements > MAX_FLOW_ELEMENTS:
        raise InvalidProcessModel(
            f"{resource}: the file holds {flow_elements} flow elements (tasks, events, gateways and sequence "
            f"flows); a process file holds at most {MAX_FLOW_ELEMENTS}: split the procedure into processes "
            "called by call activities", details={"resource": resource, "element": None})
    for attribute in ("targetNamespace", "namespace"):
        if len(root.get(attribute) or "") > MAX_CATEGORY:
            raise InvalidProcessModel(
                f"{resource}: the file's {attribute} has {len(root.get(attribute) or '')} characters; it becomes the "
                f"category of the definitions it holds, which has at most {MAX_CATEGORY}",
                details={"resource": resource, "element": None})

def _camunda(element: etree._Element, name: str) -> str | None:
    value = element.get(f"{{{CAMUNDA_NS}}}{name}")
    return value.strip() if value is not None and value.strip() else None


@overload
def _compile(resource: str, element: etree._Element | None, text: str, what: str) -> Template: ...
@overload
def _compile(resource: str, element: etree._Element | None, text: str | None, what: str) -> Template | None: ...
def _compile(resource: str, element: etree._Element | None, text: str | None, what: str) -> Template | None:
    if text is None:
        return None
    try:
        return compile_template(text)
    except ExpressionSyntaxError as error:
        raise refuse_element(resource, element, f"invalid expression in {what} '{text}': {error}") from None


def _description(process: etree._Element) -> str | None:
    """A process's documentation as Camunda's definition describes it: each text trimmed, a blank line
    between them (as its parser joins them, none before the second when the first is empty)."""
    texts = [(doc.text or "").strip() for doc in process.findall(f"{{{BPMN_NS}}}documentation")]
    if not texts:
        return None
    joined = ""
    for text in texts:
        joined += ("\n\n" if joined else "") + text
    return joined


def _documentation(element: etree._Element) -> str | None:
    docs = element.findall(f"{{{BPMN_NS}}}documentation")
    text = "\n".join((doc.text or "").strip() for doc in docs).strip()
    return text or None


def _number(resource: str, element: etree._Element, value: str | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise refuse_element(resource, element, f"constraint {what} needs a number, got '{value}'") from None


def _form_fields(resource: str, owner: etree._Element) -> tuple[FormField, ...]:
    fields = []
    seen: set[str] = set()
    for node in owner.iterfind("bpmn:extensionElements/camunda:formData/camunda:formField", _NS):
        field_id = (node.get("id") or "").strip()
        if not field_id.isidentifier():
            raise refuse_element(resource, owner, f"form field id '{field_id}' is not a valid variable name")
        if field_id in seen:
            raise refuse_element(resource, owner, f"form field '{field_id}' is declared twice")
        seen.add(field_id)
        field_type = node.get("type") or "string"
        if field_type not in FORM_FIELD_TYPES:
            raise refuse_element(resource, owner, f"form field '{field_id}' has unsupported type '{field_type}' "
                          f"(supported: {', '.join(sorted(FORM_FIELD_TYPES))})")
        constraints: dict[str, str | None] = {}
        for constraint in node.iterfind("camunda:validation/camunda:constraint", _NS):
            name = constraint.get("name") or ""
            if name == "validator":
                raise refuse_element(resource, owner, f"form field '{field_id}': a validator constraint names Java "
                                                      "code (a class or a bean), which cannot run here")
            if name not in FORM_CONSTRAINTS:
                raise refuse_element(resource, owner, f"form field '{field_id}' has unsupported constraint '{name}' "
                              f"(supported: {', '.join(sorted(FORM_CONSTRAINTS))})")
            constraints[name] = constraint.get("config")
        enum_values = tuple(
            (value.get("id") or "", value.get("name"))
            for value in node.iterfind("camunda:value", _NS)
        )
        # An enum without values deploys, as in Camunda (a form may fill the choice); nothing but null fits it.
        minlength = _number(resource, owner, constraints.get("minlength"), "minlength")
        maxlength = _number(resource, owner, constraints.get("maxlength"), "maxlength")
        fields.append(FormField(
            id=field_id,
            label=node.get("label"),
            type=field_type,
            default_value=node.get("defaultValue"),
            required="required" in constraints,
            readonly="readonly" in constraints,
            min=_number(resource, owner, constraints.get("min"), "min"),
            max=_number(resource, owner, constraints.get("max"), "max"),
            minlength=int(minlength) if minlength is not None else None,
            maxlength=int(maxlength) if maxlength is not None else None,
            enum_values=enum_values,
        ))
    return tuple(fields)


def _activity_type(element: etree._Element) -> str:
    tag = local_name(element)
    definitions = {local_name(child) for child in element if local_name(child).endswith("EventDefinition")}
    if tag == "endEvent":
        kinds = {"errorEventDefinition": "errorEndEvent", "terminateEventDefinition": "terminateEndEvent",
                 "messageEventDefinition": "messageEndEvent", "signalEventDefinition": "signalEndEvent",
                 "escalationEventDefinition": "escalationEndEvent",
                 "compensateEventDefinition": "compensationEndEvent", "cancelEventDefinition": "cancelEndEvent"}
        return next((kinds[d] for d in definitions if d in kinds), "noneEndEvent")
    if tag == "startEvent":
        kinds = {"timerEventDefinition": "startTimerEvent", "messageEventDefinition": "messageStartEvent",
                 "signalEventDefinition": "signalStartEvent", "errorEventDefinition": "errorStartEvent",
                 "conditionalEventDefinition": "conditionalStartEvent",
                 "escalationEventDefinition": "escalationStartEvent",
                 "compensateEventDefinition": "compensationStartEvent"}
        return next((kinds[d] for d in definitions if d in kinds), "startEvent")
    if tag == "boundaryEvent":
        kinds = {"timerEventDefinition": "boundaryTimer", "messageEventDefinition": "boundaryMessage",
                 "errorEventDefinition": "boundaryError", "signalEventDefinition": "boundarySignal",
                 "escalationEventDefinition": "boundaryEscalation",
                 "conditionalEventDefinition": "boundaryConditional",
                 "compensateEventDefinition": "compensationBoundaryCatch",
                 "cancelEventDefinition": "cancelBoundaryCatch"}
        return next((kinds[d] for d in definitions if d in kinds), "boundaryEvent")
    if tag == "intermediateCatchEvent":
        kinds = {"timerEventDefinition": "intermediateTimer", "messageEventDefinition": "intermediateMessageCatch",
                 "signalEventDefinition": "intermediateSignalCatch", "linkEventDefinition": "intermediateLinkCatch",
                 "conditionalEventDefinition": "intermediateConditional"}
        return next((kinds[d] for d in definitions if d in kinds), "intermediateCatchEvent")
    if tag == "intermediateThrowEvent":
        if "messageEventDefinition" in definitions:
            return "intermediateMessageThrowEvent"
        if "escalationEventDefinition" in definitions:
            return "intermediateEscalationThrowEvent"
        if "compensateEventDefinition" in definitions:
            return "intermediateCompensationThrowEvent"
        return "intermediateSignalThrow" if "signalEventDefinition" in definitions else "intermediateNoneThrowEvent"
    return tag


# Elements the service refuses outright, with the reason a designer can act on.
_REFUSED_ELEMENTS = {
    "scriptTask": "script tasks are not run by this service: no text of a process file is executed as code; "
                  "use a gateway condition (${...}) or an external task (camunda:type=\"external\")",
}
_REFUSED_CAMUNDA_ATTRIBUTES = {
    "class": "Java delegates (camunda:class) cannot run here; use camunda:type=\"external\" with a topic",
    "delegateExpression": "delegate expressions cannot run here; use camunda:type=\"external\" with a topic",
    "expression": "service expressions cannot run here; use camunda:type=\"external\" with a topic",
    "formHandlerClass": "Java form handlers (camunda:formHandlerClass) cannot run here; declare the form with "
                        "camunda:formData",
}
_REFUSED_EXTENSIONS = {
    "executionListener": "execution listeners are not supported: model the step as a task",
    "taskListener": "task listeners are not supported: model the step as a task",
    "script": "scripts are not executed by this service",
    "connector": "connectors (camunda:connector) run code in the engine; use camunda:type=\"external\" with a "
                 "topic and let a worker call the other system",
}


_EVENT_SUBPROCESS_STARTS = frozenset({"messageEventDefinition", "signalEventDefinition", "timerEventDefinition",
                                      "errorEventDefinition", "escalationEventDefinition",
                                      "conditionalEventDefinition"})


def _check_expressions(resource: str, element: etree._Element) -> None:
    """Every expression of a process is one the service could evaluate, also where it reads none (a
    job priority, a form field's label, a listener's field): one calling a method asks for code."""
    if local_name(element) in _PROSE:
        return
    texts: list[tuple[etree.QName | None, str | None]] = [(etree.QName(name), str(value))
                                                          for name, value in element.attrib.items()]
    for name, text in [*texts, (None, element.text)]:
        if text is None or not contains_expression(text):
            continue
        try:
            compile_template(text)
        except ExpressionSyntaxError as error:
            owner = next((node for node in element.iterancestors() if node.get("id")), None)
            prefix = "camunda:" if name is not None and name.namespace == CAMUNDA_NS else ""
            where = f"the attribute {prefix}{name.localname} of {local_name(element)}" if name is not None else \
                f"the text of {local_name(element)}"
            if local_name(element) == "property" and element.get("name"):
                where = f"camunda:property {element.get('name')}"  # named as the Modeler shows it
            raise refuse_element(resource, element if element.get("id") else owner,
                                 f"invalid expression in {where} '{text}': {error}") from None


def _check_code(resource: str, element: etree._Element) -> None:
    """No element may carry code (a script, a Java class, a bean, a listener, a connector, a condition
    in a script language), wherever it sits: a file with code is refused whole."""
    tag = local_name(element)
    if tag in _REFUSED_ELEMENTS:
        raise refuse_element(resource, element, _REFUSED_ELEMENTS[tag])
    for attribute, reason in _REFUSED_CAMUNDA_ATTRIBUTES.items():
        if element.get(f"{{{CAMUNDA_NS}}}{attribute}") is not None and tag != "sequenceFlow":
            raise refuse_element(resource, element, reason)
    for extension in element.iterfind("bpmn:extensionElements/*", _NS):
        name = local_name(extension)
        if etree.QName(extension).namespace == CAMUNDA_NS and name in _REFUSED_EXTENSIONS:
            raise refuse_element(resource, element, _REFUSED_EXTENSIONS[name])
    language = element.get("language") if tag in ("conditionExpression", "completionCondition", "condition") else None
    if language and language.lower() not in ("juel", "${}"):
        owner = element.getparent()
        if tag == "condition" and owner is not None:
            owner = owner.getparent()  # a conditional event's condition is named by its event
        raise refuse_element(resource, owner, f"expression language '{language}' is not supported")


def set_aside_unexecutable(resource: str, root: etree._Element) -> None:
    """A process that is not executable (a pool drawn for the record, such as the enterprise's side
    of a collaboration) never runs: Camunda does not read it, and the service keeps only its id (a
    participant names it). Code in it is still refused, and so is an expression calling a method."""
    for process in root.iterfind("bpmn:process", _NS):
        if process.get("isExecutable") == "true":
            continue
        for element in process.iter():
            if isinstance(element.tag, str):
                _check_code(resource, element)
                _check_expressions(resource, element)
        for child in list(process):
            process.remove(child)


def _check_element(resource: str, element: etree._Element) -> None:
    tag = local_name(element)
    parent = element.getparent()  # None only for a document's root, which is not checked here
    _check_code(resource, element)
    if tag != "businessRuleTask" and element.get(f"{{{CAMUNDA_NS}}}resultVariable") is not None:
        raise refuse_element(resource, element, "camunda:resultVariable belongs on a business rule task")
    if tag == "businessRuleTask" and _camunda(element, "decisionRef") is None and (
            _camunda(element, "type") != "external" or not _camunda(element, "topic")):
        raise refuse_element(resource, element, "a business rule task evaluates a decision (camunda:decisionRef "
                                                "naming a DMN decision deployed too) or is an external task "
                                                "(camunda:type=\"external\" with a camunda:topic)")
    if tag in ("serviceTask", "sendTask") and (_camunda(element, "type") != "external"
                                               or not _camunda(element, "topic")):
        raise refuse_element(resource, element, f"a {tag} must be an external task "
                                                 "(camunda:type=\"external\" with a camunda:topic)")
    if (tag == "signalEventDefinition" and element.find("bpmn:extensionElements/camunda:in", _NS) is not None
            and parent is not None and local_name(parent) not in _SIGNAL_THROWS):
        raise refuse_element(resource, parent, "camunda:in on a signal belongs on a signal throw or end event "
                                               "(the variables the signal carries); a catch receives them")
    if tag == "conditionalEventDefinition":
        _check_condition_event(resource, element)
    if tag == "messageEventDefinition" and parent is not None and local_name(parent) in ("intermediateThrowEvent",
                                                                                   "endEvent"):
        kind = _camunda(element, "type")
        if kind is not None and (kind != "external" or not _camunda(element, "topic")):
            raise refuse_element(resource, parent, "a message throw event runs as an external task "
                                 "(camunda:type=\"external\" with a camunda:topic) or, without an "
                                 "implementation, passes on")
    if tag == "subProcess" and element.get("triggeredByEvent") == "true":
        for start in element.iterfind("bpmn:startEvent", _NS):
            kinds = {local_name(child) for child in start if local_name(child).endswith("EventDefinition")}
            if kinds == {"compensateEventDefinition"}:
                continue  # checked with the rest of compensation (app.engine.compensation)
            if len(kinds) != 1 or not kinds <= _EVENT_SUBPROCESS_STARTS:
                raise refuse_element(resource, element, "an event subprocess starts with one message, signal, "
                                                 "timer, conditional, error or escalation start event")
            if "errorEventDefinition" in kinds and start.get("isInterrupting") == "false":
                raise refuse_element(resource, start, "an error start event always interrupts its scope "
                                                      "(isInterrupting cannot be false)")
    if tag in ("messageEventDefinition", "signalEventDefinition"):
        reference = "messageRef" if tag == "messageEventDefinition" else "signalRef"
        owner = parent
        kind = "message" if tag == "messageEventDefinition" else "signal"
        # A message throw passes or is an external task; a signal throw is broadcast by its name.
        throws = kind == "message" and owner is not None and local_name(owner) in ("intermediateThrowEvent", "endEvent")
        if _event_name(element, kind) is None and not throws:
            raise refuse_element(resource, owner, f"the {kind} event needs a {reference} naming a {kind} with a name")
    # An errorRef naming no bpmn:error is the error's code, as in Camunda (app.engine.flows.resolve_references).
    named = element.get("escalationRef") if tag == "escalationEventDefinition" else None
    if named and not any(declared.get("id") == named for declared in
                         element.getroottree().getroot().iterfind("bpmn:escalation", _NS)):
        raise refuse_element(resource, parent, f"the escalationRef '{named}' names no bpmn:escalation of the "
                             "file; declare the escalation (a code and a name) or leave the reference out")
    # Without a message, a receive task waits until POST /execution/{id}/signal moves it on, as in Camunda.
    if tag == "receiveTask" and element.get("messageRef") and _event_name(element, "message") is None:
        raise refuse_element(resource, element, "the receive task's messageRef names no message with a name")
    if tag in ("conditionExpression", "completionCondition"):
        text = (element.text or "").strip()
        if not (text.startswith("${") or text.startswith("#{")) or not text.endswith("}"):
            raise refuse_element(resource, parent,
                          f"a condition must be an expression written as ${{...}}, got '{text}'")
        _compile(resource, parent, text, "condition")
    if tag in ("timeDuration", "timeDate", "timeCycle"):
        text = (element.text or "").strip()
        event = parent.getparent() if parent is not None else None
        if not text:
            raise refuse_element(resource, event, f"timer {tag} is empty")
        _compile(resource, event, text, tag)


def _properties(resource: str, element: etree._Element) -> dict[str, str]:
    """An element's camunda:property values by name. One without a name (the Modeler's empty row)
    names nothing and is passed by, as Camunda passes it. One name given twice is refused, where
    Camunda keeps the last: the service gives properties meanings (a case's region, its confidential
    variables), and a silent choice between two values could hide what a designer meant to hide."""
    properties = {}
    for prop in element.iterfind("bpmn:extensionElements/camunda:properties/camunda:property", _NS):
        name = (prop.get("name") or "").strip()
        if not name:
            continue
        if name in properties:
            raise refuse_element(resource, element, f"camunda:property '{name}' is given twice")
        properties[name] = (prop.get("value") or "").strip()
    return properties


# Elements whose text is prose for readers, never evaluated.
_PROSE = frozenset({"documentation", "text", "textAnnotation"})

# Where input parameters are read: a task's own variables while it runs (Camunda's local variables).
_TASKS_WITH_INPUTS = frozenset({"userTask", "serviceTask", "sendTask", "receiveTask", "manualTask", "task",
                                "businessRuleTask", "callActivity", "intermediateThrowEvent", "endEvent",
                                "intermediateCatchEvent",
                                "subProcess", "transaction"})
_SIGNAL_THROWS = frozenset({"intermediateThrowEvent", "endEvent"})


def _parameters(resource: str, element: etree._Element, mapping: etree._Element, semantics: int
                ) -> tuple[tuple[tuple[str, ParameterValue], ...], tuple[tuple[str, ParameterValue], ...]]:
    """The (name, value) pairs of an element's input and output parameters (texts, `${...}`, lists
    and maps); scripts are refused, and input parameters where the element is not a single task.
    A parameter's own text is trimmed and, empty, null, as Camunda reads it; under semantics 1 it was
    taken as written."""
    found: dict[str, list[tuple[str, ParameterValue]]] = {"inputParameter": [], "outputParameter": []}
    for parameter in mapping:
        if not isinstance(parameter.tag, str) or local_name(parameter) not in found:
            continue
        kind = "input" if local_name(parameter) == "inputParameter" else "output"
        if kind == "input" and (local_name(element) not in _TASKS_WITH_INPUTS
                                or element.get("triggeredByEvent") == "true"):
            raise refuse_element(resource, element, "input parameters are read on a task, call activity, embedded "
                                 "subprocess, intermediate catch or throw event (its own variables while it runs; "
                                 "each instance's of a multi-instance activity); on other elements use output "
                                 "parameters")
        name = (parameter.get("name") or "").strip()
        if not name.isidentifier():
            raise refuse_element(resource, element, f"{kind} parameter name '{name}' is not a valid variable name")
        what = f"{kind} parameter '{name}'"
        nested = [child for child in parameter if isinstance(child.tag, str)]
        if not nested:
            if semantics >= 2:
                found[local_name(parameter)].append((name, _text_value(resource, element, parameter, what)))
            else:
                text = parameter.text or ""
                _compile(resource, element, text, what)
                found[local_name(parameter)].append((name, text))
        elif len(nested) == 1:
            found[local_name(parameter)].append((name, _nested_value(resource, element, nested[0], what, 1)))
        else:
            raise refuse_element(resource, element, f"{what} holds more than one element; give it one list or map")
    return tuple(found["inputParameter"]), tuple(found["outputParameter"])


# How deep lists and maps of a parameter may nest.
_PARAMETER_DEPTH = 8


def _nested_value(resource: str, element: etree._Element, node: etree._Element, what: str,
                  depth: int) -> ParameterValue:
    """A value inside a parameter, as Camunda reads it: `camunda:list` (each child element a value),
    `camunda:map` (`camunda:entry` with a `key`, text or `${...}`), or a value's text (empty: null)."""
    if depth > _PARAMETER_DEPTH:
        raise refuse_element(resource, element, f"{what} nests lists and maps more than {_PARAMETER_DEPTH} deep")
    tag = local_name(node) if etree.QName(node).namespace == CAMUNDA_NS else ""
    children = [child for child in node if isinstance(child.tag, str)]
    if tag == "list":
        return ParameterList(tuple(_nested_value(resource, element, child, what, depth + 1) for child in children))
    if tag == "map":
        entries = []
        for entry in children:
            key = entry.get("key") or ""
            if local_name(entry) != "entry" or not key:
                raise refuse_element(resource, element, f"{what}: each entry of a map is a camunda:entry with a key")
            _compile(resource, element, key, f"{what}, the key of an entry")
            inner = [child for child in entry if isinstance(child.tag, str)]
            if len(inner) > 1:
                raise refuse_element(resource, element, f"{what}: an entry of a map holds one value")
            value = (_nested_value(resource, element, inner[0], what, depth + 1) if inner
                     else _text_value(resource, element, entry, what))
            entries.append((key, value))
        return ParameterMap(tuple(entries))
    if tag == "value" and not children:
        return _text_value(resource, element, node, what)
    if tag == "script":
        raise refuse_element(resource, element, f"{what} must be a text, ${{...}} expression, list or map "
                                                "(scripts are not supported)")
    raise refuse_element(resource, element, f"{what}: '{etree.QName(node).localname}' is no camunda:list, "
                                            "camunda:map or camunda:value")


def _text_value(resource: str, element: etree._Element, node: etree._Element, what: str) -> str | None:
    text = (node.text or "").strip()
    if not text:
        return None
    _compile(resource, element, text, what)
    return text


_VARIABLE_EVENTS = ("create", "update", "delete")


def _check_condition_event(resource: str, definition: etree._Element) -> None:
    """A conditional event waits on a ${...} condition the service evaluates itself (see
    app.engine.runtime), narrowed as Camunda narrows it by `camunda:variableName` and
    `camunda:variableEvents` (read_condition_narrowing)."""
    owner = definition.getparent()
    name = _camunda(definition, "variableName")
    if name is not None and not name.strip():
        raise refuse_element(resource, owner, "camunda:variableName on a conditional event names no variable")
    unknown = [event for event in _names(_camunda(definition, "variableEvents")) if event not in _VARIABLE_EVENTS]
    if unknown:
        raise refuse_element(resource, owner, f"camunda:variableEvents '{unknown[0]}' is none of "
                                              f"{', '.join(_VARIABLE_EVENTS)}")
    condition = definition.find("bpmn:condition", _NS)
    text = (condition.text or "").strip() if condition is not None else ""
    if not (text.startswith("${") or text.startswith("#{")) or not text.endswith("}"):
        raise refuse_element(resource, owner,
                             f"a conditional event needs a condition written as ${{...}}, got '{text}'")
    _compile(resource, owner, text, "the condition")


def read_condition_narrowing(definition: etree._Element) -> ConditionNarrowing:
    """The variable and the kinds of change a conditional event is evaluated for (checked above)."""
    name = _camunda(definition, "variableName")
    return ConditionNarrowing(name.strip() if name else None, frozenset(_names(_camunda(definition, "variableEvents"))))


def _event_name(definition: etree._Element, kind: str) -> str | None:
    """The name of the message or signal an event definition (or a receive task) refers to."""
    reference = definition.get("messageRef" if kind == "message" else "signalRef")
    if not reference:
        return None
    for declared in definition.getroottree().getroot().iterfind(f"bpmn:{kind}", _NS):
        if declared.get("id") == reference:
            return (declared.get("name") or "").strip() or None
    return None


def _start_event(resource: str, element: etree._Element, element_id: str) -> StartEventInfo:
    for child in element:
        tag = local_name(child)
        if tag == "messageEventDefinition":
            return StartEventInfo(element_id, "message", _event_name(child, "message"))
        if tag == "signalEventDefinition":
            return StartEventInfo(element_id, "signal", _event_name(child, "signal"))
        if tag == "timerEventDefinition":
            timer = next((node for node in child if local_name(node) in ("timeDate", "timeDuration", "timeCycle")),
                         None)
            if timer is None:
                raise refuse_element(resource, element,
                                     "the timer start event has no timeDate, timeDuration or timeCycle")
            return StartEventInfo(element_id, "timer", timer_kind=local_name(timer),
                                  timer_text=(timer.text or "").strip())
        if tag == "conditionalEventDefinition":
            condition = child.find("bpmn:condition", _NS)  # checked as every conditional event's
            return StartEventInfo(element_id, "conditional", condition=(condition.text or "").strip()
                                  if condition is not None else None,
                                  condition_variable=read_condition_narrowing(child).variable_name)
        if tag.endswith("EventDefinition"):
            raise refuse_element(resource, element,
                                 f"a process cannot start by a {tag[:-len('EventDefinition')]} event")
    return StartEventInfo(element_id, "none")


def _decision_reference(resource: str, element: etree._Element) -> DecisionReference:
    key = _camunda(element, "decisionRef") or ""  # read only when given
    binding = _camunda(element, "decisionRefBinding") or "latest"
    if binding not in DECISION_BINDINGS:
        raise refuse_element(resource, element, f"camunda:decisionRefBinding '{binding}' is not supported "
                                                f"(supported: {', '.join(DECISION_BINDINGS)})")
    version_text = _camunda(element, "decisionRefVersion")
    if binding == "version" and (version_text is None or not (version_text.isdigit()
                                                              or contains_expression(version_text))):
        raise refuse_element(resource, element, "binding 'version' needs camunda:decisionRefVersion, a version "
                                                "number or an expression ${...}")
    version_tag = _camunda(element, "decisionRefVersionTag")
    if binding == "versionTag" and version_tag is None:
        raise refuse_element(resource, element, "binding 'versionTag' needs camunda:decisionRefVersionTag")
    # Without one the result is kept nowhere, as in Camunda; output parameters read it as decisionResult.
    result_variable = _camunda(element, "resultVariable")
    if result_variable is not None and not result_variable.isidentifier():
        raise refuse_element(resource, element, f"camunda:resultVariable '{result_variable}' is no variable name")
    map_result = _camunda(element, "mapDecisionResult") or "resultList"
    if map_result not in MAP_DECISION_RESULTS:
        raise refuse_element(resource, element, f"camunda:mapDecisionResult '{map_result}' is not one of "
                                                f"{', '.join(MAP_DECISION_RESULTS)}")
    return DecisionReference(
        _compile(resource, element, key, "camunda:decisionRef"), binding,
        _compile(resource, element, version_text, "camunda:decisionRefVersion") if binding == "version" else None,
        _compile(resource, element, version_tag, "camunda:decisionRefVersionTag") if binding == "versionTag" else None,
        result_variable, map_result)


def _user_task(resource: str, element: etree._Element, element_id: str) -> UserTaskDefinition:
    def expr(name: str) -> Template | None:
        return _compile(resource, element, _camunda(element, name), f"camunda:{name}")

    return UserTaskDefinition(
        id=element_id,
        name=_text_template(element.get("name")),
        assignee=expr("assignee"),
        candidate_users=expr("candidateUsers"),
        candidate_groups=expr("candidateGroups"),
        due_date=expr("dueDate"),
        follow_up_date=expr("followUpDate"),
        priority=expr("priority"),
        form_key=_camunda(element, "formKey"),
        form_fields=_form_fields(resource, element),
        documentation=_documentation(element),
    )


def _text_template(text: str | None) -> Template | None:
    """A user task's name, which Camunda reads as an expression; one whose `${` opens no valid
    expression is refused at deploy (app.engine.deploy_rules) and, in a definition deployed before
    that rule, read as the text it is. (Camunda reads the documentation, the task's description, as
    one too; here it stays text: documentation quotes expressions, as the procedures' do, and a
    case must not stop over its description.)"""
    if text is None:
        return None
    try:
        return compile_template(text)
    except ExpressionSyntaxError:
        return Template.literal(text)


@dataclass
class _ProcessFacts:
    element: etree._Element
    elements: dict[str, ElementInfo]
    user_tasks: dict[str, UserTaskDefinition]
    external_tasks: dict[str, ExternalTaskDefinition]
    error_catches: dict[str, ErrorCatch]
    start_events: tuple[StartEventInfo, ...]
    start_form: tuple[FormField, ...]
    start_form_key: str | None
    condition_texts: set[str]
    output_parameters: dict[str, tuple[tuple[str, ParameterValue], ...]]
    decisions: dict[str, DecisionReference]
    call_activities: dict[str, CallActivityDefinition]
    # Each sequence flow's source and target (a process modification starts tokens on them).
    flows: dict[str, tuple[str, str]] = field(default_factory=dict)
    input_parameters: dict[str, tuple[tuple[str, ParameterValue], ...]] = field(default_factory=dict)
    signal_payloads: dict[str, SignalPayload] = field(default_factory=dict)
    # Conditional events narrowed to a variable or kinds of change, by the id of their event.
    narrowed_conditions: dict[str, ConditionNarrowing] = field(default_factory=dict)


def _inspect_process(resource: str, process: etree._Element, semantics: int) -> _ProcessFacts:
    elements: dict[str, ElementInfo] = {}
    user_tasks: dict[str, UserTaskDefinition] = {}
    external_tasks: dict[str, ExternalTaskDefinition] = {}
    error_catches: dict[str, ErrorCatch] = {}
    start_events: list[StartEventInfo] = []
    start_form: tuple[FormField, ...] = ()
    start_form_key = None
    conditions: set[str] = set()
    inputs: dict[str, tuple[tuple[str, ParameterValue], ...]] = {}
    outputs: dict[str, tuple[tuple[str, ParameterValue], ...]] = {}
    decisions: dict[str, DecisionReference] = {}
    call_activities: dict[str, CallActivityDefinition] = {}
    signal_payloads: dict[str, SignalPayload] = {}
    flows: dict[str, tuple[str, str]] = {}
    narrowed: dict[str, ConditionNarrowing] = {}
    ids = {element.get("id") for element in process.iter() if isinstance(element.tag, str)}
    for element in process.iter():
        if not isinstance(element.tag, str):
            continue
        _check_element(resource, element)
        tag = local_name(element)
        element_id = element.get("id")
        if tag == "sequenceFlow":
            for end in ("sourceRef", "targetRef"):
                if not element.get(end):
                    raise refuse_element(resource, element, f"the sequence flow has no {end}")
                if element.get(end) not in ids:
                    raise refuse_element(resource, element,
                                         f"{end} '{element.get(end)}' names no element of the process")
            flows[element_id or ""] = (element.get("sourceRef") or "", element.get("targetRef") or "")
        if tag == "conditionExpression":
            conditions.add((element.text or "").strip())
        if tag == "conditionalEventDefinition" and (narrowing := read_condition_narrowing(element)).narrows \
                and (owner := element.getparent()) is not None:
            narrowed[owner.get("id") or ""] = narrowing
        if etree.QName(element).namespace != BPMN_NS or not element_id or tag in ("sequenceFlow", "lane",
                                                                                   "laneSet", "process"):
            continue
        if tag.endswith("EventDefinition") or tag in ("dataObject", "dataObjectReference", "textAnnotation",
                                                      "association", "dataStoreReference"):
            continue
        elements[element_id] = ElementInfo(element_id, element.get("name"), _activity_type(element),
                                           _documentation(element), _properties(resource, element))
        mapping = element.find("bpmn:extensionElements/camunda:inputOutput", _NS)
        if mapping is not None:
            inputs[element_id], outputs[element_id] = _parameters(resource, element, mapping, semantics)
        if tag == "userTask":
            user_tasks[element_id] = _user_task(resource, element, element_id)
        elif tag == "businessRuleTask" and _camunda(element, "decisionRef") is not None:
            decisions[element_id] = _decision_reference(resource, element)
        elif tag == "callActivity":
            call_activities[element_id] = read_call_activity(resource, element)
            if element.find("bpmn:multiInstanceLoopCharacteristics", _NS) is None:
                # Its own variables (inputs, local camunda:out values) go when it completes, inputs or not.
                inputs.setdefault(element_id, ())
        elif tag in SERVICE_TASK_LIKE:  # a business rule task without a decision: _check_element
            external_tasks[element_id] = ExternalTaskDefinition(
                element_id, _camunda(element, "topic") or "",  # _check_element refused a task without one
                _compile(resource, element, _camunda(element, "taskPriority"), "camunda:taskPriority"))
        elif tag in ("intermediateThrowEvent", "endEvent") and (external := message_throw_topic(element)):
            topic, priority = external
            external_tasks[element_id] = ExternalTaskDefinition(
                element_id, topic or "", _compile(resource, element, priority, "camunda:taskPriority"))
        elif tag in _SIGNAL_THROWS and (signal := element.find("bpmn:signalEventDefinition", _NS)) is not None:
            if (payload := read_signal_payload(resource, element, signal)) is not None:
                signal_payloads[element_id] = payload
        elif tag == "boundaryEvent" or (tag == "startEvent" and element.getparent() is not process):
            # An error start event of an event subprocess keeps the code and message as a boundary event does;
            # an escalation catch keeps its code alone.
            error = element.find("bpmn:errorEventDefinition", _NS)
            escalation = element.find("bpmn:escalationEventDefinition", _NS)
            if error is not None:
                error_catches[element_id] = ErrorCatch(_camunda(error, "errorCodeVariable"),
                                                       _camunda(error, "errorMessageVariable"))
            elif escalation is not None and _camunda(escalation, "escalationCodeVariable"):
                error_catches[element_id] = ErrorCatch(_camunda(escalation, "escalationCodeVariable"), None)
        elif tag == "startEvent" and element.getparent() is process:
            started_by = _start_event(resource, element, element_id)
            if started_by.kind == "message" and any(
                    other.kind == "message" and other.event_name == started_by.event_name for other in start_events):
                # Camunda refuses it too: a message could not tell which start event it starts at.
                raise refuse_element(resource, element, f"two message start events of the process wait for message "
                                                        f"'{started_by.event_name}'; a message starts at one")
            start_events.append(started_by)
            start_form = start_form or _form_fields(resource, element)
            start_form_key = start_form_key or _camunda(element, "formKey")
    return _ProcessFacts(process, elements, user_tasks, external_tasks, error_catches, tuple(start_events),
                         start_form, start_form_key, conditions, outputs, decisions, call_activities, flows,
                         inputs, signal_payloads, narrowed)


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def check_timers(model: ProcessModel, limits: TimerLimits) -> None:
    """Refuse a timer written as a constant that could never run or would flood the service: a cycle
    shorter than the minimum, a period longer than a century, a date or duration that does not parse.
    Timers written as expressions are checked the same way when they are evaluated."""
    # Timer start events are scheduled by the service (StartEventInfo); the others are the library's.
    # A timer start event always has its kind (_start_event).
    timers = [(start.id, start.timer_kind or "", start.timer_text) for start in model.start_events
              if start.kind == "timer"]
    for spec in (model.spec, *model.subprocess_specs.values()):
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            for timer in getattr(definition, "event_definitions", None) or [definition]:
                if type(timer) in TIMER_KINDS:
                    timers.append((task_spec.bpmn_id, TIMER_KINDS[type(timer)], str(timer.expression or "")))
    for element_id, kind, text in timers:
        text = (text or "").strip()
        if contains_expression(text):
            continue
        try:
            check_constant_timer(kind, text, limits)
        except ValueError as error:
            reason = f"timer {kind} '{text}': {error}"
            raise InvalidProcessModel(f"{model.resource_name}: element '{element_id}' {reason}",
                                      details={"resource": model.resource_name, "element": element_id,
                                               "line": None, "reason": reason}) from None


# The rules a process version runs under, kept with it (a version runs as the release that deployed it
# ran it, so that its cases replay as they ran): 1, before 2026-12-08; 2, an input or output
# parameter's own text is trimmed and, empty, null, as in Camunda; 3, months and years of a timer's
# duration or cycle are counted on the calendar of the service's zone, as in Camunda
# (app.engine.timers.LOCAL_CALENDAR_FROM).
SEMANTICS = 3


def parse_deployment(resources: Mapping[str, bytes], *, deploying: bool = True,
                     semantics: int = SEMANTICS) -> list[ProcessModel]:
    """Parse the BPMN resources of one deployment into its executable process models (its DMN
    resources are read by parse_decision_resources; a deployment of DMN files alone has no process).
    `deploying`: the files are being deployed, not read again from a deployment made before, which
    is held to the refusals it was deployed under (app.engine.deploy_rules). `semantics`: the rules
    the versions run under, those of the release that deployed them (SEMANTICS).

    Raises InvalidProcessModel naming the resource, the element and the reason.
    """
    if semantics not in range(1, SEMANTICS + 1):
        raise ValueError(f"no semantics {semantics}: 1 to {SEMANTICS}")
    parser = ServiceParser()
    facts: dict[str, tuple[str, _ProcessFacts]] = {}
    compensation = Compensation()
    decision_resources = 0
    interrupting: dict[str, bool] = {}
    for resource, content in resources.items():
        root = parse_untrusted_xml(content, resource)
        if deploying:
            _check_size(resource, root)
        set_aside_unexecutable(resource, root)
        name_unnamed_flows(root)
        read_standard_multi_instance(root)
        trim_conditions(root)
        end_subprocesses(root)
        resolve_references(root)
        if is_decision_resource(root):
            decision_resources += 1  # read by parse_decision_resources
            continue
        if etree.QName(root).localname != "definitions" or etree.QName(root).namespace != BPMN_NS:
            raise InvalidProcessModel(f"{resource}: neither a BPMN 2.0 nor a DMN file (root element must be "
                                      "bpmn:definitions or dmn:definitions)",
                                      details={"resource": resource, "element": None})
        for process in root.iterfind("bpmn:process", _NS):
            process_id = process.get("id")
            if not process_id:
                raise refuse_element(resource, process, "a process needs an id (it becomes the process definition key)")
            if len(process_id) > MAX_DEFINITION_KEY or len(process.get("name") or "") > 255:
                raise refuse_element(resource, process, f"a process's id has at most {MAX_DEFINITION_KEY} characters "
                                                        "and its name at most 255 characters")
            if process_id in facts:
                raise refuse_element(resource, process,
                                     f"process key '{process_id}' is defined twice in this deployment")
            facts[process_id] = (resource, _inspect_process(resource, process, semantics))
        if deploying:
            check_deploy_rules(resource, root)
        rewrite_transactions(resource, root)
        check_structure(resource, root)
        # After the checks that name what is wrong more closely: the executable processes, and the
        # messages, signals, errors and escalations they name.
        for scope in root.iterfind("*"):
            if isinstance(scope.tag, str) and (local_name(scope) in ("message", "signal", "error", "escalation") or (
                    local_name(scope) == "process" and scope.get("isExecutable") == "true")):
                for element in scope.iter():
                    if isinstance(element.tag, str):
                        _check_expressions(resource, element)
        interrupting.update(interrupting_starts(root))
        join_link_events(resource, root)
        split_implicitly(root)
        take_unconditional_flows(root)
        prepare_compensation(resource, root, compensation)
        rewrite_message_throws(root)
        rewrite_external_tasks(root)
        drop_data_associations(root)
        rename_reserved_ids(root)
        try:
            parser.add_bpmn_xml(root, filename=resource)
        except ValidationException as error:
            raise _from_validation(resource, error) from None
    executable = [pid for pid, (_, f) in facts.items() if f.element.get("isExecutable") == "true"]
    if not executable and not (decision_resources and not facts):
        raise InvalidProcessModel("the deployment contains no executable process (isExecutable=\"true\")",
                                  details={"resource": ", ".join(resources), "element": None})
    models = []
    for process_id in executable:
        resource, process_facts = facts[process_id]
        if not process_facts.start_events:
            # Camunda deploys it and starts it only at an activity that start instructions name, which
            # the service does not take.
            raise refuse_element(resource, process_facts.element, "the process has no start event, so no "
                                 "instance of it can start; draw a start event where its cases begin")
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
            restore_reserved_ids([spec, *subprocess_specs.values()])
            use_service_timers([spec, *subprocess_specs.values()])
            use_camunda_joins([spec, *subprocess_specs.values()])
            use_service_multi_instance([spec, *subprocess_specs.values()])
            use_compensation([spec, *subprocess_specs.values()], compensation)
            end_implicitly([spec, *subprocess_specs.values()])
            use_service_events([spec, *subprocess_specs.values()],
                               {start.id for start in process_facts.start_events if start.kind != "none"},
                               process_facts.signal_payloads, process_facts.narrowed_conditions)
            use_event_subprocesses([spec, *subprocess_specs.values()], interrupting)
            # A called process is not part of this model: it runs as an instance of its own, found
            # by key when the call activity is reached (app.engine.call_activities).
            use_output_parameters([spec, *subprocess_specs.values()], process_facts.output_parameters)
            use_input_parameters([spec, *subprocess_specs.values()], process_facts.input_parameters)
            use_decisions([spec, *subprocess_specs.values()], process_facts.decisions)
            use_call_activities([spec, *subprocess_specs.values()], process_facts.call_activities)
        except ValidationException as error:
            raise _from_validation(resource, error) from None
        except (ValueError, TypeError, KeyError, AttributeError, IndexError):
            # The library reports some modelling errors (a reference to nothing) with plain exceptions,
            # whose text is Python's.
            reason = "cannot be built: one of its elements names something the file does not hold"
            raise InvalidProcessModel(f"{resource}: process '{process_id}' {reason}",
                                      details={"resource": resource, "element": process_id, "reason": reason}) from None
        models.append(_model(process_id, resource, resources[resource], process_facts, spec, subprocess_specs,
                             semantics))
    return models


def _model(process_id: str, resource: str, content: bytes, facts: _ProcessFacts, spec: BpmnProcessSpec,
           subprocess_specs: dict[str, BpmnProcessSpec], semantics: int) -> ProcessModel:
    return ProcessModel(
        key=process_id,
        name=facts.element.get("name"),
        version_tag=_camunda(facts.element, "versionTag"),
        history_time_to_live=history_time_to_live(resource, facts.element),
        spec=spec,
        subprocess_specs=subprocess_specs,
        elements=facts.elements,
        user_tasks=facts.user_tasks,
        external_tasks=facts.external_tasks,
        error_catches=facts.error_catches,
        start_events=facts.start_events,
        start_form=facts.start_form,
        start_form_key=facts.start_form_key,
        resource_name=resource,
        checksum=checksum(content),
        condition_texts=frozenset(facts.condition_texts),
        semantics=semantics,
        properties=_properties(resource, facts.element),
        flows=facts.flows,
        call_activities=facts.call_activities,
        starter_groups=_names(_camunda(facts.element, "candidateStarterGroups")),
        starter_users=_names(_camunda(facts.element, "candidateStarterUsers")),
        startable_in_tasklist=_startable(facts.element.get(f"{{{CAMUNDA_NS}}}isStartableInTasklist")),
        # Camunda keeps the last start event's, whichever event a case starts at.
        initiator_variable=next(reversed([name for start in facts.element.iterfind("bpmn:startEvent", _NS)
                                          if (name := _camunda(start, "initiator"))]), None),
        category=facts.element.getroottree().getroot().get("targetNamespace"),
        description=_description(facts.element),
    )


def _startable(value: str | None) -> bool:
    """camunda:isStartableInTasklist as Camunda's parser reads it: absent, or "true" in any case; an
    empty value is not."""
    return value is None or value.lower() == "true"


def _from_validation(resource: str, error: ValidationException) -> InvalidProcessModel:
    element_id = getattr(error, "id", None) or getattr(error, "name", None) or None
    line = getattr(error, "line_number", None) or None
    message = plain(str(error), "the element is not one this service can run")
    return InvalidProcessModel(
        f"{resource}: {message}" + (f" (element '{element_id}')" if element_id else ""),
        details={"resource": resource, "element": element_id, "line": line, "reason": message},
    )
