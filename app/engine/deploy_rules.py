"""Refusals Camunda 7 makes when a file is deployed, taken up after diagrams may already have been
deployed here: they apply to a file being deployed, never to one read again from a deployment, so
that the cases of a definition deployed before go on running (app.engine.model.parse_deployment).
Each is worded as Camunda words it.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from app.engine.expressions import ExpressionSyntaxError, compile_template
from app.engine.xml import BPMN_NS, BPMN_PREFIXES, CAMUNDA_NS, HISTORY_TIME_TO_LIVE, local_name, refuse_element

_NS = BPMN_PREFIXES
_FORM_REF_BINDINGS = ("deployment", "latest", "version")
_EXPRESSION = re.compile(r"[$#]\{")

# The name of the message or signal ("message", "signal") an event waits for, if any.
EventName = Callable[[etree._Element, str], str | None]


def _definition(event: etree._Element, kind: str) -> etree._Element | None:
    return event.find(f"bpmn:{kind}EventDefinition", _NS)


def check_deploy_rules(resource: str, root: etree._Element) -> None:
    """Refuse, naming the element, what Camunda refuses at deploy and the service took before."""
    names = {kind: {declared.get("id"): declared.get("name") for declared in root.iterfind(f"bpmn:{kind}", _NS)}
             for kind in ("message", "signal")}
    errors = {declared.get("id"): declared for declared in root.iterfind("bpmn:error", _NS)}

    def event_name(event: etree._Element, kind: str) -> str | None:
        definition = _definition(event, kind)
        if definition is None:
            return None
        reference = definition.get(f"{kind}Ref") or ""
        return names[kind].get(reference) or names[kind].get(reference.rpartition(":")[2])

    for process in root.iterfind("bpmn:process", _NS):
        if process.get("isExecutable") != "true":
            continue
        ttl = (process.get(f"{{{CAMUNDA_NS}}}historyTimeToLive") or "").strip()
        if ttl and not HISTORY_TIME_TO_LIVE.fullmatch(ttl):
            raise refuse_element(resource, process, f"Cannot parse historyTimeToLive '{ttl}': a number of days, "
                                                    "such as 180 or P180D")
        _check_starts(resource, process, event_name)
        for element in process.iter():
            tag = local_name(element)
            if tag in ("startEvent", "userTask"):
                _check_form_reference(resource, element)
            if tag == "userTask":
                _check_task_name(resource, element)
            if (tag == "businessRuleTask" and element.get(f"{{{CAMUNDA_NS}}}decisionRef")
                    and element.get(f"{{{CAMUNDA_NS}}}resultVariable") == "decisionResult"):
                # Camunda fails such a task each time it runs; refused before any case reaches it.
                raise refuse_element(resource, element, "Cannot set transient variable with name decisionResult to "
                                                        "non-transient variable and vice versa: decisionResult holds "
                                                        "the decision's result while the task runs; choose another "
                                                        "camunda:resultVariable")
            if tag == "endEvent" and (error := _definition(element, "error")) is not None:
                _check_error_end(resource, element, error, errors)
            if (element.find("bpmn:multiInstanceLoopCharacteristics", _NS) is not None
                    and element.find("bpmn:extensionElements/camunda:inputOutput/camunda:outputParameter", _NS)
                    is not None):
                raise refuse_element(resource, element, "camunda:outputParameter not allowed for multi-instance "
                                                        "constructs")
            if tag == "eventBasedGateway":
                _check_gateway(resource, element, event_name)
            if tag in ("process", "subProcess", "transaction"):
                _check_boundary_events(resource, element, event_name)


def _check_task_name(resource: str, task: etree._Element) -> None:
    # Camunda reads a user task's name as an expression.
    name = task.get("name")
    if name and _EXPRESSION.search(name):
        try:
            compile_template(name)
        except ExpressionSyntaxError as error:
            raise refuse_element(resource, task, f"invalid expression in the name '{name}': {error}") from None


def _check_error_end(resource: str, event: etree._Element, error: etree._Element,
                     errors: dict[str | None, etree._Element]) -> None:
    reference = error.get("errorRef") or ""
    if not reference:
        raise refuse_element(resource, event, "'errorRef' attribute is mandatory on error end event")
    declared = errors.get(reference)
    if declared is not None and not (declared.get("errorCode") or "").strip():
        raise refuse_element(resource, event, "'errorCode' is mandatory on errors referenced by throwing error "
                                              f"event definitions, but the error '{reference}' does not define one")


def _check_starts(resource: str, process: etree._Element, event_name: EventName) -> None:
    plain_or_timer = 0
    conditions: set[str] = set()
    for start in process.iterfind("bpmn:startEvent", _NS):
        kinds = {local_name(child) for child in start if local_name(child).endswith("EventDefinition")}
        if not kinds or kinds == {"timerEventDefinition"}:
            plain_or_timer += 1
            if plain_or_timer > 1:
                raise refuse_element(resource, start, "multiple none start events or timer start events not "
                                                      "supported on process definition")
        # Camunda tells a process's conditional start events apart by their condition's text.
        condition = start.find("bpmn:conditionalEventDefinition/bpmn:condition", _NS)
        text = (condition.text or "").strip() if condition is not None else None
        if text in conditions:
            raise refuse_element(resource, start, "Cannot have more than one conditional event subscription with "
                                                  f"the same condition '{text}'")
        if text is not None:
            conditions.add(text)
    # A process's message start events and those of its event subprocesses subscribe in one scope.
    for scope in [process, *process.iter(f"{{{BPMN_NS}}}subProcess")]:
        starts = [start for start in scope.iterfind("bpmn:startEvent", _NS)] if scope is process else []
        starts += [start for inner in scope.iterfind("bpmn:subProcess", _NS) if inner.get("triggeredByEvent") == "true"
                   for start in inner.iterfind("bpmn:startEvent", _NS)]
        for start in starts:
            message = event_name(start, "message")
            if message and _EXPRESSION.search(message):
                raise refuse_element(resource, start, f"Invalid message name '{message}' for element 'startEvent': "
                                                      "expressions in the message start event name are not allowed!")
        _unique_subscriptions(resource, scope, starts, event_name)


def _check_boundary_events(resource: str, scope: etree._Element, event_name: EventName) -> None:
    members = {member.get("id"): member for member in scope if isinstance(member.tag, str)}
    attached: dict[str, list[etree._Element]] = {}
    for boundary in scope.iterfind("bpmn:boundaryEvent", _NS):
        attached.setdefault(boundary.get("attachedToRef") or "", []).append(boundary)
    for activity_id, events in attached.items():
        activity = members.get(activity_id)
        _unique_subscriptions(resource, activity if activity is not None else scope, events, event_name)


def _check_gateway(resource: str, gateway: etree._Element, event_name: EventName) -> None:
    scope = gateway.getparent()
    if scope is None:
        return
    members = {member.get("id"): member for member in scope if isinstance(member.tag, str)}
    targets = [members.get(flow.get("targetRef")) for flow in scope.iterfind("bpmn:sequenceFlow", _NS)
               if flow.get("sourceRef") == gateway.get("id")]
    events = [target for target in targets if target is not None]
    for event in events:
        if _definition(event, "link") is not None:
            raise refuse_element(resource, event, "IntermediateCatchLinkEvent is not supported after an "
                                                  "EventBasedGateway.")
    _unique_subscriptions(resource, gateway, events, event_name)


def _unique_subscriptions(resource: str, scope: etree._Element, events: list[etree._Element],
                          event_name: EventName) -> None:
    """Camunda tells the events of one scope waiting for a message or signal apart by its name only."""
    seen: set[tuple[str, str]] = set()
    for event in events:
        for kind in ("message", "signal"):
            name = event_name(event, kind)
            if name is None:
                continue
            if (kind, name) in seen:
                raise refuse_element(resource, event, f"Cannot have more than one {kind} event subscription with "
                                                      f"name '{name}' for scope '{scope.get('id')}'")
            seen.add((kind, name))


def _check_form_reference(resource: str, element: etree._Element) -> None:
    form_ref = element.get(f"{{{CAMUNDA_NS}}}formRef")
    if form_ref is None:
        return
    if element.get(f"{{{CAMUNDA_NS}}}formKey") is not None:
        raise refuse_element(resource, element, "Invalid element definition: only one of the attributes formKey "
                                                "and formRef is allowed.")
    binding = element.get(f"{{{CAMUNDA_NS}}}formRefBinding")
    if binding not in _FORM_REF_BINDINGS:
        raise refuse_element(resource, element, "Invalid element definition: value for formRefBinding attribute "
                                                f"has to be one of {list(_FORM_REF_BINDINGS)} but was {binding}")
