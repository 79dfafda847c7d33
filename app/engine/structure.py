"""The shape of a process file, checked before the library reads it: whatever it would skip without a
word (and so lose a token on, or never run) is refused at deploy, naming the element.

The library follows sequence flows by their ids and parses only what a flow reaches: a flow without an
id, or one drawn across the border of a subprocess, leaves the token behind; an element drawn inside a
task, a boundary event attached to no activity or an event whose definition it does not know are
passed over. Elements Camunda 7 does not run either (complex gateways, ad-hoc subprocesses,
choreographies, standard loops) are refused with the reason. Transactions and their cancel events
are drawn as what they do before this check (app.engine.flows.rewrite_transactions).
"""
from __future__ import annotations

from lxml import etree

from app.engine.xml import BPMN_NS, local_name, refuse_element
from app.errors import InvalidProcessModel

_TASKS = frozenset({"task", "userTask", "serviceTask", "manualTask", "businessRuleTask", "receiveTask", "sendTask",
                    "scriptTask"})
_ACTIVITIES = _TASKS | {"subProcess", "callActivity"}
_EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"})
_SCOPES = frozenset({"process", "subProcess"})
_MAX_ID = 255  # Camunda keeps activity ids and names (and so does the service) in columns of 255 characters

_UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported (Camunda 7 does not run them either); draw an "
                      "inclusive or exclusive gateway",
    "adHocSubProcess": "ad-hoc subprocesses are not supported (Camunda 7 does not run them either); draw the "
                       "tasks with a parallel or inclusive gateway",
    "choreographyTask": "choreographies describe messages between participants and cannot run as a process",
    "subChoreography": "choreographies describe messages between participants and cannot run as a process",
    "callChoreography": "choreographies describe messages between participants and cannot run as a process",
    "standardLoopCharacteristics": "loop activities (the loop marker) are not supported (Camunda 7 does not run "
                                   "them either); draw a sequential multi-instance activity or a gateway that "
                                   "leads back",
}
# Which event definitions each kind of event may carry (none: a plain event).
_DEFINITIONS = {
    "boundaryEvent": ("a boundary event", {"timerEventDefinition", "messageEventDefinition", "signalEventDefinition",
                                           "errorEventDefinition", "escalationEventDefinition",
                                           "conditionalEventDefinition", "compensateEventDefinition"}),
    "intermediateCatchEvent": ("an intermediate catch event", {"timerEventDefinition", "messageEventDefinition",
                                                               "signalEventDefinition", "linkEventDefinition",
                                                               "conditionalEventDefinition"}),
    "intermediateThrowEvent": ("an intermediate throw event", {"messageEventDefinition", "signalEventDefinition",
                                                               "escalationEventDefinition", "linkEventDefinition",
                                                               "compensateEventDefinition"}),
    "endEvent": ("an end event", {"messageEventDefinition", "signalEventDefinition", "errorEventDefinition",
                                  "escalationEventDefinition", "terminateEventDefinition",
                                  "compensateEventDefinition"}),
}
_WORDS = {"timerEventDefinition": "timer", "messageEventDefinition": "message", "signalEventDefinition": "signal",
          "errorEventDefinition": "error", "escalationEventDefinition": "escalation",
          "conditionalEventDefinition": "conditional", "compensateEventDefinition": "compensation",
          "linkEventDefinition": "link", "terminateEventDefinition": "terminate"}


def check_structure(resource: str, root: etree._Element) -> None:
    """Refuse what the library would pass over in the processes of one file (see the module's docstring)."""
    seen: dict[str, etree._Element] = {}
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable") != "true":
            continue  # never run, as in Camunda: a pool drawn for readers may be sketched loosely
        for element in process.iter():
            if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
                continue
            tag = local_name(element)
            if tag in _UNSUPPORTED:
                # An event definition or a loop marker is refused on the element that carries it.
                owner = element.getparent() if tag.endswith(("Definition", "Characteristics")) else element
                raise refuse_element(resource, owner, _UNSUPPORTED[tag])
            if tag in _ACTIVITIES | _EVENTS | _GATEWAYS or tag == "sequenceFlow":
                _check_flow_element(resource, element, tag, seen)


def _check_flow_element(resource: str, element: etree._Element, tag: str, seen: dict[str, etree._Element]) -> None:
    element_id = element.get("id")
    scope = element.getparent()
    if not element_id:
        # Sequence flows without an id have one by now (app.engine.flows.name_unnamed_flows).
        what = f"a {tag}" + (f" named '{element.get('name')}'" if element.get("name") else "")
        raise refuse_element(resource, element, f"{what} has no id; every element needs one (the case's "
                                                "history and tasks name it)")
    if len(element_id) > _MAX_ID:
        reason = f"an element's id has more than {_MAX_ID} characters ('{element_id[:40]}…')"
        raise InvalidProcessModel(f"{resource}: {reason}", details={"resource": resource, "element": None,
                                                                    "line": element.sourceline, "reason": reason})
    if len(element.get("name") or "") > _MAX_ID:
        raise refuse_element(resource, element, f"an element's name has more than {_MAX_ID} characters")
    if element_id in seen:
        raise refuse_element(resource, element, f"two elements have the id '{element_id}'; ids must be unique "
                                                "in a file")
    if element_id.endswith(".EndJoin"):
        # The library names its own end step so: an element of that id would replace it.
        raise refuse_element(resource, element, f"the id '{element_id}' is one the engine keeps for itself; give "
                                                "the element another id (in the Modeler: General → ID)")
    seen[element_id] = element
    if scope is None or local_name(scope) not in _SCOPES:
        raise refuse_element(resource, element, f"a {tag} may only be drawn in a process or a subprocess, not inside "
                                                f"a {local_name(scope) if scope is not None else 'file'}")
    default = element.get("default")
    if default is not None and not any(flow.get("id") == default and flow.get("sourceRef") == element_id
                                       for flow in scope.iterfind(f"{{{BPMN_NS}}}sequenceFlow")):
        raise refuse_element(resource, element, f"the default flow '{default}' is no outgoing sequence flow of "
                                                "the element")
    if tag == "sequenceFlow":
        _check_flow_ends(resource, element, scope)
    elif tag in _DEFINITIONS:
        _check_event(resource, element, tag, scope)
    elif tag == "subProcess":
        starts = element.findall(f"{{{BPMN_NS}}}startEvent")
        if len(starts) != 1:
            raise refuse_element(resource, element,
                                 f"a subprocess needs exactly one start event (it has {len(starts)})")
        if element.get("triggeredByEvent") != "true" and _definitions(starts[0]):
            raise refuse_element(resource, starts[0], "the start event of an embedded subprocess must be a plain "
                                                      "start event (without a timer, message or other trigger)")


def _check_flow_ends(resource: str, flow: etree._Element, scope: etree._Element) -> None:
    members = {child.get("id"): child for child in scope if isinstance(child.tag, str) and child.get("id")}
    source, target = members.get(flow.get("sourceRef")), members.get(flow.get("targetRef"))
    if source is not None and local_name(source) == "endEvent":
        raise refuse_element(resource, flow, f"the sequence flow leaves end event '{source.get('id')}'; a token ends "
                                             "at an end event")
    if target is not None and local_name(target) in ("startEvent", "boundaryEvent"):
        raise refuse_element(resource, flow, f"the sequence flow leads into the {local_name(target)[:-5]} event "
                                             f"'{target.get('id')}'; a start or boundary event only starts a token")
    for joined in (source, target):
        if joined is not None and local_name(joined) not in _ACTIVITIES | _EVENTS | _GATEWAYS | _UNSUPPORTED.keys():
            raise refuse_element(resource, flow, f"the sequence flow joins '{joined.get('id')}', which is no task, "
                                                 "event, gateway or subprocess: no token can pass it")
    for end in ("sourceRef", "targetRef"):
        named = flow.get(end)
        if named in members:
            continue
        elsewhere = flow.getroottree().getroot().find(f".//*[@id='{named}']") if named and "'" not in named else None
        if elsewhere is not None:
            raise refuse_element(resource, flow, f"the sequence flow crosses the border of a subprocess ({end} "
                                                 f"'{named}' is drawn in another process or subprocess); a token "
                                                 "enters a subprocess at its start event and leaves it at its end")


def _definitions(event: etree._Element) -> list[str]:
    return [local_name(child) for child in event if local_name(child).endswith("EventDefinition")]


def _check_event(resource: str, event: etree._Element, tag: str, scope: etree._Element) -> None:
    kinds = _definitions(event)
    what, allowed = _DEFINITIONS[tag]
    if len(kinds) > 1:
        raise refuse_element(resource, event, f"{what} with more than one event definition (a multiple event) is not "
                                              "supported; draw one event per trigger")
    if kinds and kinds[0] in _UNSUPPORTED:
        raise refuse_element(resource, event, _UNSUPPORTED[kinds[0]])
    if kinds and kinds[0] not in allowed:
        word = _WORDS.get(kinds[0], kinds[0])
        raise refuse_element(resource, event, f"{what} cannot be {'an' if word[0] in 'aeiou' else 'a'} {word} event")
    if not kinds and tag in ("boundaryEvent", "intermediateCatchEvent"):
        raise refuse_element(resource, event, f"{what} needs what it waits for (a timer, message, signal, "
                                              "condition" + (", error, escalation or compensation)"
                                                             if tag == "boundaryEvent" else " or link)"))
    if tag == "boundaryEvent":
        attached = next((child for child in scope if isinstance(child.tag, str)
                         and child.get("id") == event.get("attachedToRef")), None)
        if attached is None or local_name(attached) not in _ACTIVITIES:
            raise refuse_element(resource, event, f"the boundary event is attached to '{event.get('attachedToRef')}', "
                                                  "which is no task, subprocess or call activity of the same process "
                                                  "or subprocess")
