"""Where a token goes that the library would lose: an element with no outgoing flow, link events and
message throw events.

- In Camunda an element without an outgoing sequence flow ends its token there (an implicit end), and
  the process ends when no token is left. The library only ends a process through its end events, so
  such an element is joined to the end of its process as an end event is.
- A subprocess drawn without an end event ends, as in Camunda, when none of its tokens is left; the
  library wants an end event in it, so one is added, which no flow reaches.
- A link throw event continues at the link catch event of the same name in the same process or
  subprocess, as if a sequence flow joined them. The library does not run link events, so that flow is
  drawn into the file before it is parsed, and the two events become plain events; a throw whose name
  no catch of its scope carries, or a name two catches share, is refused at deploy.
- An activity or event with more than one outgoing sequence flow takes, as in Camunda, every flow
  without a condition and every flow whose condition holds, and its default flow when none does.
  The library does not split there, so a gateway of its own is drawn after it (an inclusive one,
  an unconditional flow holding `${true}`); it is not one of the diagram's elements and leaves no
  trace in the history.
- A message throw or end event whose message definition says `camunda:type="external"` (with a
  `camunda:topic`) is an external task, as in Camunda: it waits for a worker of that topic. Without an
  implementation it passes, as in Camunda. Both are rewritten before parsing: into a service task of
  that topic, or into a plain event.
- A sequence flow drawn without an id (hand-written files; Camunda runs them) gets one before
  parsing, made from its source and target: the library follows flows by their ids and would drop
  it, and the tokens behind it.
- Files of the Activiti era write Camunda's extensions in the namespace `http://activiti.org/bpmn`,
  which Camunda 7 still reads as its own: so does the service (and refuses their code as it refuses
  Camunda's).
- References written as Camunda 7 reads them: a `messageRef` or `signalRef` with a prefix bound to
  the file's own namespace (`tns:newInvoice`) names the element of that id, and an `errorRef` that
  names no `bpmn:error` is itself the error's code (Camunda's BpmnParse does both).
- A transaction subprocess runs as an embedded subprocess. A cancel end event in it cancels it as
  Camunda 7 does: the completed activities of the transaction are compensated, the last completed
  first, and the case leaves through the cancel boundary event of the transaction. This is drawn
  into the file before it is parsed: the cancel end event becomes a compensation throw event
  followed by an end event throwing an error of the transaction's own, which the cancel boundary
  event, become an error boundary event, catches. Camunda stops every other path of the
  transaction before it compensates; a transaction whose cancel end event could be reached while
  another path of it runs (a parallel or inclusive gateway, a non-interrupting boundary event or
  event subprocess, an activity with several outgoing flows) is refused, and so are a cancel end
  event without a cancel boundary event to leave by, cancel events anywhere else, a multi-instance
  transaction, and errors caught by any code where the cancel would be caught too.
- Data associations (a line between a task and a data object or data store) and data stores are
  drawn for readers: Camunda 7 does not execute them, while the library would move the variable out
  of the case into the data object, stop the task when it has no such variable, or ask for a data
  store's implementation. They are dropped before parsing; a variable named as a data object is a
  case variable like any other.
"""
from __future__ import annotations

from collections.abc import Iterable

from lxml import etree
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.defaults import EventSubprocess
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from app.engine.compensation import is_compensation_handler
from app.engine.xml import BPMN_NS, BPMN_PREFIXES, CAMUNDA_NS, refuse_element

_EXTERNAL_ATTRIBUTES = ("type", "topic", "taskPriority")


def end_implicitly(specs: Iterable[BpmnProcessSpec]) -> None:
    for spec in specs:
        for task_spec in list(spec.task_specs.values()):
            # The library's join after an activity with boundary events carries the activity's way out.
            element = task_spec.bpmn_id is not None or isinstance(task_spec, BoundaryEventJoin)
            if (not element or task_spec.outputs or isinstance(task_spec, EndEvent | EventSubprocess)
                    # a compensation handler returns to the event that threw the compensation
                    or is_compensation_handler(task_spec)
                    # an instance of a multi-instance activity returns to its body
                    or any(isinstance(owner, LoopTask) and owner.task_spec == task_spec.name
                           for owner in task_spec.inputs)):
                continue
            task_spec.connect(spec.end)


def join_link_events(resource: str, root: etree._Element) -> None:
    """Draw each link throw's flow to its catch into the file (see the module's docstring)."""
    scopes = [*root.iterfind("bpmn:process", BPMN_PREFIXES), *root.iterfind(".//bpmn:subProcess", BPMN_PREFIXES)]
    for scope in scopes:
        catches: dict[str, etree._Element] = {}
        for catch in scope.iterfind("bpmn:intermediateCatchEvent", BPMN_PREFIXES):
            name = _link_name(catch)
            if name is None:
                continue
            if name in catches:
                raise refuse_element(resource, catch, f"two link catch events of one scope are named '{name}'; "
                                                      "a link throw event could not tell which one it goes to")
            catches[name] = catch
        for throw in scope.iterfind("bpmn:intermediateThrowEvent", BPMN_PREFIXES):
            name = _link_name(throw)
            if name is None:
                continue
            target = catches.get(name)
            if target is None:
                raise refuse_element(resource, throw, f"the link throw event goes to '{name}', but no link catch "
                                                      "event of the same process or subprocess has that name")
            source, goal = throw.get("id") or "", target.get("id") or ""
            flow = etree.SubElement(scope, f"{{{BPMN_NS}}}sequenceFlow", id=f"{source}_to_{goal}",
                                    sourceRef=source, targetRef=goal)
            flow.tail = "\n"
        for event in [*catches.values(), *scope.iterfind("bpmn:intermediateThrowEvent", BPMN_PREFIXES)]:
            for definition in event.findall("bpmn:linkEventDefinition", BPMN_PREFIXES):
                event.remove(definition)


def _link_name(event: etree._Element) -> str | None:
    definition = event.find("bpmn:linkEventDefinition", BPMN_PREFIXES)
    if definition is None:
        return None
    return definition.get("name") or ""


def message_throw_topic(element: etree._Element) -> tuple[str | None, str | None] | None:
    """(topic, priority) of a message throw or end event that is an external task; None otherwise."""
    definition = element.find("bpmn:messageEventDefinition", BPMN_PREFIXES)
    if definition is None or definition.get(f"{{{CAMUNDA_NS}}}type") != "external":
        return None
    return definition.get(f"{{{CAMUNDA_NS}}}topic"), definition.get(f"{{{CAMUNDA_NS}}}taskPriority")


def rewrite_message_throws(root: etree._Element) -> None:
    """Turn message throw and end events into the service task or plain event they behave as."""
    for tag in ("intermediateThrowEvent", "endEvent"):
        for event in list(root.iter(f"{{{BPMN_NS}}}{tag}")):
            definition = event.find("bpmn:messageEventDefinition", BPMN_PREFIXES)
            if definition is None:
                continue
            if message_throw_topic(event) is None:
                event.remove(definition)
                continue
            task = etree.Element(f"{{{BPMN_NS}}}serviceTask")
            for name in ("id", "name"):
                if (value := event.get(name)) is not None:
                    task.set(name, value)
            for name in _EXTERNAL_ATTRIBUTES:
                value = definition.get(f"{{{CAMUNDA_NS}}}{name}")
                if value is not None:
                    task.set(f"{{{CAMUNDA_NS}}}{name}", value)
            for child in list(event):
                if child is not definition:
                    task.append(child)
            task.tail = event.tail
            scope = event.getparent()
            if scope is not None:
                scope.replace(event, task)


def trim_conditions(root: etree._Element) -> None:
    """Conditions are read without the white space around them, as Camunda reads them (a condition
    on lines of its own would otherwise be text around an expression, never a boolean)."""
    for tag in ("conditionExpression", "condition", "completionCondition"):
        for condition in root.iter(f"{{{BPMN_NS}}}{tag}"):
            if condition.text is not None and len(condition) == 0:
                condition.text = condition.text.strip()


def read_standard_multi_instance(root: etree._Element) -> None:
    """BPMN's own `loopDataInputRef` and `inputDataItem` name a multi-instance activity's collection and
    element variable, as `camunda:collection` and `camunda:elementVariable` do (Camunda reads them after
    its attributes, so they win); outputs, which Camunda 7 does not gather, are dropped with them."""
    for loop in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        collection = loop.find("bpmn:loopDataInputRef", BPMN_PREFIXES)
        if collection is not None and (collection.text or "").strip():
            loop.set(f"{{{CAMUNDA_NS}}}collection", (collection.text or "").strip())
        item = loop.find("bpmn:inputDataItem", BPMN_PREFIXES)
        if item is not None and item.get("name"):
            loop.set(f"{{{CAMUNDA_NS}}}elementVariable", item.get("name") or "")
        for tag in ("loopDataInputRef", "inputDataItem", "loopDataOutputRef", "outputDataItem"):
            for child in loop.findall(f"bpmn:{tag}", BPMN_PREFIXES):
                loop.remove(child)


# The library names its own start and end steps and its root so; an element of such an id is parsed
# under another name (one no XML id can have) and keeps its id wherever the service shows it.
_RESERVED_IDS = frozenset({"Start", "End", "Root"})
_RENAMED = "~"
_REFERENCES = ("sourceRef", "targetRef", "attachedToRef", "default", "activityRef")


def rename_reserved_ids(root: etree._Element) -> None:
    """Give the flow nodes whose ids the library keeps for itself the name they are parsed under, and
    every reference to them; restore_reserved_ids gives the parsed steps their ids back."""
    renamed = {}
    for process in root.iterfind("bpmn:process", BPMN_PREFIXES):
        for element in process.iter():
            if (isinstance(element.tag, str) and element.get("id") in _RESERVED_IDS
                    and etree.QName(element).localname != "sequenceFlow"):
                renamed[element.get("id")] = f"{element.get('id')}{_RENAMED}"
                element.set("id", renamed[element.get("id")])
    if not renamed:
        return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute in _REFERENCES:
            if element.get(attribute) in renamed:
                element.set(attribute, renamed[element.get(attribute) or ""])
        if etree.QName(element).localname in ("sourceRef", "targetRef") and (element.text or "").strip() in renamed:
            element.text = renamed[(element.text or "").strip()]


def restore_reserved_ids(specs: Iterable[BpmnProcessSpec]) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if bpmn_id and bpmn_id.endswith(_RENAMED) and bpmn_id[:-len(_RENAMED)] in _RESERVED_IDS:
                task_spec.bpmn_id = bpmn_id[:-len(_RENAMED)]


# What Camunda runs as a service task: a send task, and a business rule task that names no decision.
SERVICE_TASK_LIKE = ("serviceTask", "sendTask", "businessRuleTask")


def rewrite_external_tasks(root: etree._Element) -> None:
    """Send tasks and business rule tasks that are external tasks become the service tasks they behave
    as (the element's type, as Camunda reports it, was read before)."""
    for tag in SERVICE_TASK_LIKE[1:]:
        for task in list(root.iter(f"{{{BPMN_NS}}}{tag}")):
            if task.get(f"{{{CAMUNDA_NS}}}type") == "external" and task.get(f"{{{CAMUNDA_NS}}}decisionRef") is None:
                task.tag = f"{{{BPMN_NS}}}serviceTask"


def end_subprocesses(root: etree._Element) -> None:
    """Give each embedded subprocess without an end event one (see the module's docstring)."""
    for subprocess in root.iter(f"{{{BPMN_NS}}}subProcess", f"{{{BPMN_NS}}}transaction"):
        if subprocess.find("bpmn:endEvent", BPMN_PREFIXES) is None and subprocess.get("id"):
            etree.SubElement(subprocess, f"{{{BPMN_NS}}}endEvent", id=f"{subprocess.get('id')}__end")


def name_unnamed_flows(root: etree._Element) -> None:
    """Give each sequence flow without an id one, the same every time the file is read."""
    taken = {element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")}
    for flow in root.iter(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("id"):
            continue
        base = f"{flow.get('sourceRef') or 'start'}_to_{flow.get('targetRef') or 'end'}"
        flow_id, number = base, 1
        while flow_id in taken:
            number += 1
            flow_id = f"{base}_{number}"
        flow.set("id", flow_id)
        taken.add(flow_id)


_NOT_SPLIT_HERE = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                             "complexGateway", "sequenceFlow"})


def split_implicitly(root: etree._Element) -> None:
    """Draw a gateway after each activity or event with more than one outgoing flow (see the
    module's docstring)."""
    flow_tag = f"{{{BPMN_NS}}}sequenceFlow"
    for scope in [*root.iterfind("bpmn:process", BPMN_PREFIXES), *root.iter(f"{{{BPMN_NS}}}subProcess")]:
        outgoing: dict[str, list[etree._Element]] = {}
        for flow in scope.iterfind(flow_tag):
            outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        for node in scope:
            if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
                continue
            flows = outgoing.get(node.get("id") or "", [])
            if len(flows) < 2 or etree.QName(node).localname in _NOT_SPLIT_HERE:
                continue
            split_id = f"{node.get('id')}__split"
            split = etree.SubElement(scope, f"{{{BPMN_NS}}}inclusiveGateway", id=split_id)
            default = node.get("default")
            if default is not None:
                del node.attrib["default"]
                split.set("default", default)
            etree.SubElement(scope, flow_tag, id=f"{split_id}__in", sourceRef=node.get("id") or "", targetRef=split_id)
            for flow in flows:
                flow.set("sourceRef", split_id)
                if flow.get("id") != default and flow.find("bpmn:conditionExpression", BPMN_PREFIXES) is None:
                    always = etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression")
                    always.text = "${true}"


def take_unconditional_flows(root: etree._Element) -> None:
    """A flow without a condition out of an exclusive or inclusive gateway is taken as if its
    condition held, as in Camunda (the exclusive gateway takes the first such flow in the file's
    order); the library refuses it unless it is the default flow."""
    flow_tag = f"{{{BPMN_NS}}}sequenceFlow"
    for scope in [*root.iterfind("bpmn:process", BPMN_PREFIXES), *root.iter(f"{{{BPMN_NS}}}subProcess")]:
        gateways = {node.get("id"): node for node in scope if isinstance(node.tag, str)
                    and node.tag in (f"{{{BPMN_NS}}}exclusiveGateway", f"{{{BPMN_NS}}}inclusiveGateway")}
        for flow in scope.iterfind(flow_tag):
            gateway = gateways.get(flow.get("sourceRef"))
            if (gateway is not None and flow.get("id") != gateway.get("default")
                    and flow.find("bpmn:conditionExpression", BPMN_PREFIXES) is None):
                etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression").text = "${true}"


def resolve_references(root: etree._Element) -> None:
    """Read message, signal and error references as Camunda 7 reads them (see the module's docstring)."""
    own = root.get("targetNamespace")
    for element in root.iter():
        for attribute in ("messageRef", "signalRef"):
            prefix, _, local = (element.get(attribute) or "").partition(":")
            if local and own is not None and element.nsmap.get(prefix) == own:
                element.set(attribute, local)
    declared = {error.get("id") for error in root.iterfind("bpmn:error", BPMN_PREFIXES)}
    for definition in root.iter(f"{{{BPMN_NS}}}errorEventDefinition"):
        code = definition.get("errorRef")
        if code and code not in declared:
            root.insert(0, etree.Element(f"{{{BPMN_NS}}}error", id=code, name=code, errorCode=code))
            declared.add(code)


def drop_data_associations(root: etree._Element) -> None:
    # Data stores too: Camunda 7 does not execute them, and the library would ask for their implementation.
    for tag in ("dataInputAssociation", "dataOutputAssociation", "dataStoreReference", "dataStore"):
        for association in list(root.iter(f"{{{BPMN_NS}}}{tag}")):
            owner = association.getparent()
            if owner is not None:
                owner.remove(association)


def _with_cancel(events: Iterable[etree._Element]) -> list[etree._Element]:
    return [event for event in events if event.find("bpmn:cancelEventDefinition", BPMN_PREFIXES) is not None]


def rewrite_transactions(resource: str, root: etree._Element) -> None:
    """Run each transaction of the executable processes as an embedded subprocess, and its cancel
    events as compensation and an error of its own (see the module's docstring)."""
    processes = [process for process in root.iterfind("bpmn:process", BPMN_PREFIXES)
                 if process.get("isExecutable") == "true"]
    for transaction in [found for process in processes for found in process.iter(f"{{{BPMN_NS}}}transaction")]:
        scope = transaction.getparent()
        transaction_id = transaction.get("id") or ""
        if scope is None or not transaction_id:
            continue  # refused by check_structure: no id, or drawn nowhere
        if transaction.find("bpmn:multiInstanceLoopCharacteristics", BPMN_PREFIXES) is not None:
            raise refuse_element(resource, transaction, "a multi-instance transaction is not supported; draw the "
                                                        "transaction inside a multi-instance subprocess")
        cancels = _with_cancel(transaction.iterfind("bpmn:endEvent", BPMN_PREFIXES))
        attached = [event for event in scope.iterfind("bpmn:boundaryEvent", BPMN_PREFIXES)
                    if event.get("attachedToRef") == transaction_id]
        catches = _with_cancel(attached)
        if len(catches) > 1:
            raise refuse_element(resource, catches[1], "a transaction has one cancel boundary event")
        if cancels and not catches:
            raise refuse_element(resource, transaction, "the transaction has a cancel end event but no cancel "
                                                        "boundary event: attach one, where the case goes on once "
                                                        "the transaction is cancelled")
        if cancels:
            _check_one_path(resource, transaction, attached)
        error_id = f"{transaction_id}__cancelled"
        if cancels or catches:
            code = f"transaction-cancelled:{transaction_id}"
            root.insert(0, etree.Element(f"{{{BPMN_NS}}}error", id=error_id, name=code, errorCode=code))
        for end in cancels:
            _replace_definition(end, "compensateEventDefinition")
            end.tag = f"{{{BPMN_NS}}}intermediateThrowEvent"
            end_id = end.get("id") or ""
            thrown = etree.SubElement(transaction, f"{{{BPMN_NS}}}endEvent", id=f"{end_id}__cancelled")
            etree.SubElement(thrown, f"{{{BPMN_NS}}}errorEventDefinition", errorRef=error_id)
            etree.SubElement(transaction, f"{{{BPMN_NS}}}sequenceFlow", id=f"{end_id}__to_cancelled",
                             sourceRef=end_id, targetRef=thrown.get("id") or "")
        for catch in catches:
            _replace_definition(catch, "errorEventDefinition").set("errorRef", error_id)
            catch.set("cancelActivity", "true")  # a cancel boundary event always interrupts
        transaction.tag = f"{{{BPMN_NS}}}subProcess"
    for process in processes:
        for event in _with_cancel(process.iter(f"{{{BPMN_NS}}}endEvent", f"{{{BPMN_NS}}}boundaryEvent",
                                               f"{{{BPMN_NS}}}intermediateThrowEvent",
                                               f"{{{BPMN_NS}}}intermediateCatchEvent", f"{{{BPMN_NS}}}startEvent")):
            raise refuse_element(resource, event, "a cancel event is a cancel end event drawn directly in a "
                                                  "transaction subprocess, or a cancel boundary event attached to "
                                                  "one")


def _replace_definition(event: etree._Element, kind: str) -> etree._Element:
    cancel = event.find("bpmn:cancelEventDefinition", BPMN_PREFIXES)
    replacement = etree.Element(f"{{{BPMN_NS}}}{kind}")
    if cancel is not None:
        event.replace(cancel, replacement)
    return replacement


def _check_one_path(resource: str, transaction: etree._Element, attached: list[etree._Element]) -> None:
    """Refuse what could run beside a cancel end event of the transaction, or catch its cancel."""
    reason = ("lets paths of the transaction run side by side; a transaction with a cancel end event runs one "
              "path at a time here (Camunda stops the other paths before it compensates, which the service "
              "does not)")
    outgoing: dict[str, int] = {}
    for flow in transaction.iterfind("bpmn:sequenceFlow", BPMN_PREFIXES):
        outgoing[flow.get("sourceRef") or ""] = outgoing.get(flow.get("sourceRef") or "", 0) + 1
    for element in transaction:
        tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
        splits = outgoing.get(element.get("id") or "", 0) > 1 and tag not in ("exclusiveGateway",
                                                                               "eventBasedGateway")
        starts = element.findall("bpmn:startEvent", BPMN_PREFIXES) if tag == "subProcess" else []
        beside = (tag == "boundaryEvent" and element.get("cancelActivity") == "false") or (
            element.get("triggeredByEvent") == "true" and any(start.get("isInterrupting") == "false"
                                                              for start in starts))
        if tag in ("parallelGateway", "inclusiveGateway") or splits or beside:
            raise refuse_element(resource, element, reason)
        errors = [start.find("bpmn:errorEventDefinition", BPMN_PREFIXES) for start in starts]
        if any(error is not None and not error.get("errorRef") for error in errors):
            raise refuse_element(resource, element, "an event subprocess that catches every error would catch "
                                                    "the cancel of its transaction; give its error start event an "
                                                    "error code")
    for boundary in attached:
        error = boundary.find("bpmn:errorEventDefinition", BPMN_PREFIXES)
        if error is not None and not error.get("errorRef"):
            raise refuse_element(resource, boundary, "an error boundary event that catches every error would "
                                                     "catch the cancel of its transaction; give it an error code")
