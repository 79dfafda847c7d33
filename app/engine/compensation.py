"""Compensation as Camunda 7 runs it, which SpiffWorkflow 3.2 does not carry (it cannot parse a
compensation boundary event, never reaches a handler that no sequence flow leads to, and takes a
compensation throw event for a plain one).

- An activity with a compensation boundary event, joined by an association to an activity marked
  `isForCompensation="true"` (its handler), can be compensated once it has completed.
- A compensation intermediate throw or end event compensates the completed activities of its own
  scope (its process or embedded subprocess; for a throw inside an event subprocess, the scope the
  event subprocess belongs to), or with `activityRef` only that activity: it starts their handlers
  one after another, the last completed first, and goes on when the last handler has finished
  (Camunda 7 always waits, whatever `waitForCompletion` says). An activity is compensated once; a
  handler that is a user task or an external task opens and must be worked.
- A completed embedded subprocess without a handler of its own is compensated as Camunda's default
  does: the completed activities inside it (and inside the subprocesses it holds) are, the last
  first. When it completes, the handlers of those activities are written down on its task (the
  library's finished subprocess is not kept), and a throw outside runs them from there; they run
  beside the throw, with the case's variables as they are then.
- A completed multi-instance activity is undone once per completed instance, the last first, each
  handler seeing that instance's own variables (its element, loopCounter) as its own; a
  multi-instance subprocess without a handler of its own, by what each instance did inside it.
- An embedded subprocess holding an event subprocess started by compensation is undone by it: that
  event subprocess is made the subprocess's handler (started plainly, not listening), and a throw
  inside it runs the handlers the subprocess wrote down of what it did (or of the activity its
  activityRef names), each once.
- The boundary event itself is no step: Camunda's history never shows it, and neither does ours.

The boundary events and their associations are read and taken out of the file before the library
parses it (prepare_compensation), the handlers are parsed as well (CompensatingProcessParser), and
the parsed throw events and handlers are given this behaviour (use_compensation). What the service
does not run of compensation is refused at deploy, naming the element.
"""
from __future__ import annotations

from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.parser.ProcessParser import ProcessParser
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.multi_instance import LOCAL, instance_locals, is_multi_instance_instance
from app.engine.outputs import set_local_variables
from app.engine.xml import BPMN_NS, BPMN_PREFIXES, local_name, refuse_element

# What a handler may be: the kinds the service runs without a sequence flow leading to them (a
# subprocess runs its inside as any embedded subprocess does).
_HANDLERS = frozenset({"userTask", "serviceTask", "task", "manualTask", "receiveTask", "subProcess"})
_LOOPS = ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")

# Kept in a throw event's task: the handlers still to run, and the one running.
_PENDING = "compensation_pending"
_RUNNING = "compensation_running"
# Kept in a completed activity's task once its handler has been started.
_COMPENSATED = "compensated"
# Kept in a completed subprocess's task: the handlers of what it did, in the order it did it; for one
# with a compensation event subprocess, also the activity each undoes (a throw inside may name one).
_INSIDE = "compensation_inside"
_INSIDE_OF = "compensation_inside_of"
# Kept in a compensation event subprocess's task: the subprocess it undoes.
_UNDOES = "compensates"


@dataclass
class Compensation:
    """The compensation a deployment's files draw, by bpmn id."""

    handlers: dict[str, str] = field(default_factory=dict)  # activity → its handler
    throws: dict[str, str | None] = field(default_factory=dict)  # throw or end event → its activityRef
    # Throws inside an event subprocess: they compensate the scope around it.
    from_event_subprocess: set[str] = field(default_factory=set)
    # Subprocesses (multi-instance ones too) that hold compensable activities (directly or deeper) and
    # no handler of their own, or a compensation event subprocess that may undo them.
    holding: set[str] = field(default_factory=set)
    # Subprocesses undone by their compensation event subprocess (their handler), and those.
    by_event_subprocess: set[str] = field(default_factory=set)
    compensation_event_subprocesses: set[str] = field(default_factory=set)


def _scopes(root: etree._Element) -> list[etree._Element]:
    # A process that is not executable is never run (nor read by the library), as in Camunda.
    return [scope for process in root.iterfind("bpmn:process", BPMN_PREFIXES)
            if process.get("isExecutable") == "true"
            for scope in (process, *process.iter(f"{{{BPMN_NS}}}subProcess"))]


def prepare_compensation(resource: str, root: etree._Element, found: Compensation) -> None:
    """Check the compensation a file draws, add it to `found`, and take the compensation boundary
    events and their associations out of the file (see the module's docstring)."""
    associations = list(root.iter(f"{{{BPMN_NS}}}association"))
    for scope in _scopes(root):
        _take_compensation_event_subprocess(resource, scope, found)
    for scope in _scopes(root):
        members = {child.get("id"): child for child in scope if isinstance(child.tag, str) and child.get("id")}
        flows = [child for child in scope if local_name(child) == "sequenceFlow"]
        compensable: dict[str, str] = {}
        for boundary in scope.iterfind("bpmn:boundaryEvent", BPMN_PREFIXES):
            if boundary.find("bpmn:compensateEventDefinition", BPMN_PREFIXES) is None:
                continue
            # check_structure refused any other, and loop activities (Camunda runs none).
            activity = members[boundary.get("attachedToRef")]
            activity_id = activity.get("id") or ""
            if activity_id in compensable:
                raise refuse_element(resource, boundary, f"activity '{activity_id}' has two compensation boundary "
                                                         "events; one compensation handler per activity")
            links = [link for link in associations
                     if boundary.get("id") in (link.get("sourceRef"), link.get("targetRef"))]
            handlers = [members.get(link.get("targetRef") if link.get("sourceRef") == boundary.get("id")
                                    else link.get("sourceRef")) for link in links]
            if not links:
                scope.remove(boundary)  # no handler: it undoes nothing, as in Camunda
                continue
            if len(handlers) != 1 or handlers[0] is None:
                raise refuse_element(resource, boundary, "the compensation boundary event needs one association to "
                                                         "its compensation handler, an activity of the same process "
                                                         "or subprocess marked for compensation")
            handler = handlers[0]
            if handler.get("isForCompensation") != "true":
                raise refuse_element(resource, handler, "the activity a compensation boundary event leads to must be "
                                                        "marked for compensation (isForCompensation=\"true\")")
            if local_name(handler) not in _HANDLERS or any(handler.find(f"bpmn:{loop}", BPMN_PREFIXES) is not None
                                                        for loop in _LOOPS):
                raise refuse_element(resource, handler, "a compensation handler may be a user task, an external task, "
                                                        "a task, a manual task, a receive task or an embedded "
                                                        "subprocess, each run once")
            if any(other.get("attachedToRef") == handler.get("id")
                   for other in scope.iterfind("bpmn:boundaryEvent", BPMN_PREFIXES)):
                raise refuse_element(resource, handler, "a compensation handler cannot have boundary events: it is "
                                                        "started by the compensation, outside the flow they lead to")
            if any(handler.get("id") in (flow.get("sourceRef"), flow.get("targetRef")) for flow in flows):
                raise refuse_element(resource, handler, "a compensation handler has no incoming or outgoing sequence "
                                                        "flow: it runs only when its activity is compensated")
            compensable[activity_id] = handler.get("id") or ""
            for link in links:
                owner = link.getparent()
                if owner is not None:
                    owner.remove(link)
            scope.remove(boundary)
        found.handlers.update(compensable)
    for scope in _scopes(root):
        if local_name(scope) == "subProcess" and (scope.get("id") not in found.handlers
                                              or scope.get("id") in found.by_event_subprocess) \
                and _holds_compensable(scope, found):
            found.holding.add(scope.get("id") or "")
    for scope in _scopes(root):
        _check_throws(resource, scope, found)


def _compensation_start(event_subprocess: etree._Element) -> etree._Element | None:
    return next((start for start in event_subprocess.iterfind("bpmn:startEvent", BPMN_PREFIXES)
                 if start.find("bpmn:compensateEventDefinition", BPMN_PREFIXES) is not None), None)


def _take_compensation_event_subprocess(resource: str, scope: etree._Element, found: Compensation) -> None:
    """An embedded subprocess's event subprocess started by compensation is, as in Camunda, what undoes
    the subprocess once it has completed, in place of the handlers of what it did (which a throw
    inside it may still run). It is checked, and made the subprocess's handler: an embedded
    subprocess marked for compensation, started plainly."""
    handlers = [child for child in scope
                if local_name(child) == "subProcess" and child.get("triggeredByEvent") == "true"
                and _compensation_start(child) is not None]
    if not handlers:
        return
    if local_name(scope) != "subProcess" or scope.get("triggeredByEvent") == "true":
        raise refuse_element(resource, handlers[0], "an event subprocess started by compensation belongs in an "
                                                    "embedded subprocess, which it undoes once that has completed")
    if len(handlers) > 1:
        raise refuse_element(resource, handlers[1], f"subprocess '{scope.get('id')}' has more than one event "
                                                    "subprocess started by compensation")
    handler = handlers[0]
    start = _compensation_start(handler)
    definition = start.find("bpmn:compensateEventDefinition", BPMN_PREFIXES) if start is not None else None
    if start is None or definition is None:
        return
    # Its definition's activityRef and waitForCompletion change nothing, as in Camunda.
    parent = scope.getparent()
    if parent is not None and any(boundary.get("attachedToRef") == scope.get("id")
                                  and boundary.find("bpmn:compensateEventDefinition", BPMN_PREFIXES) is not None
                                  for boundary in parent.iterfind("bpmn:boundaryEvent", BPMN_PREFIXES)):
        raise refuse_element(resource, handler, f"subprocess '{scope.get('id')}' has both a compensation boundary "
                                                 "event and an event subprocess started by compensation; keep one")
    if scope.find("bpmn:multiInstanceLoopCharacteristics", BPMN_PREFIXES) is not None and any(
            event.find("bpmn:compensateEventDefinition", BPMN_PREFIXES) is not None
            for tag in ("intermediateThrowEvent", "endEvent") for event in handler.iter(f"{{{BPMN_NS}}}{tag}")):
        raise refuse_element(resource, handler, "a compensation throw in the compensation event subprocess of a "
                                                "multi-instance subprocess is not supported")
    found.handlers[scope.get("id") or ""] = handler.get("id") or ""
    found.by_event_subprocess.add(scope.get("id") or "")
    found.compensation_event_subprocesses.add(handler.get("id") or "")
    start.remove(definition)
    handler.set("triggeredByEvent", "false")
    handler.set("isForCompensation", "true")


def _holds_compensable(subprocess: etree._Element, found: Compensation) -> bool:
    """Whether a subprocess (not an event subprocess) holds an activity with a handler, directly or in
    the subprocesses it holds."""
    if subprocess.get("triggeredByEvent") == "true":
        return False
    return any(isinstance(child.tag, str)
               and (child.get("id") in found.handlers
                    or (local_name(child) == "subProcess" and _holds_compensable(child, found)))
               for child in subprocess)


def _check_throws(resource: str, scope: etree._Element, found: Compensation) -> None:
    # A throw in an event subprocess compensates the scope the event subprocess belongs to.
    in_event_subprocess = scope.get("triggeredByEvent") == "true" or scope.get("id") in \
        found.compensation_event_subprocesses
    owner = scope.getparent() if in_event_subprocess else scope
    members = {child.get("id") for child in owner if isinstance(child.tag, str)} if owner is not None else set()
    for event in [*scope.iterfind("bpmn:intermediateThrowEvent", BPMN_PREFIXES),
                  *scope.iterfind("bpmn:endEvent", BPMN_PREFIXES)]:
        definition = event.find("bpmn:compensateEventDefinition", BPMN_PREFIXES)
        if definition is None:
            continue
        reference = definition.get("activityRef")
        # One without a handler is undone by nothing, as in Camunda.
        if reference is not None and reference not in members:
            raise refuse_element(resource, event, f"the compensation throw names activity '{reference}', which is no "
                                                  "activity of the same process or subprocess")
        found.throws[event.get("id") or ""] = reference
        if in_event_subprocess:
            found.from_event_subprocess.add(event.get("id") or "")


class CompensatingProcessParser(ProcessParser):
    """The library's process parser, which also parses the compensation handlers of a process or
    subprocess: no sequence flow leads to them, so the library would never see them."""

    def add_tasks(self) -> None:
        super().add_tasks()
        for node in self.xpath("./*[@isForCompensation='true']"):
            self.parse_node(node)


class _CompensationThrow:
    """A compensation throw or end event: it starts the handlers of its scope's completed activities,
    one after another, and is ready once the last has finished."""

    activity_ref: str | None
    from_event_subprocess: bool = False

    def _update_hook(self, my_task: Task) -> bool:
        if _PENDING not in my_task.internal_data:
            if not super()._update_hook(my_task):  # type: ignore[misc]  # the library's event spec
                return False
            my_task.internal_data[_PENDING] = self._handlers_to_run(my_task)
        running = my_task.internal_data.get(_RUNNING)
        if running is not None:
            handler = next((child for child in my_task.children if str(child.id) == running), None)
            if handler is not None and not handler.has_state(TaskState.FINISHED_MASK):
                my_task._set_state(TaskState.WAITING)
                return False
            if handler is not None:
                # What the handler wrote is the case's; the instance's own variables it ran with are not.
                own = set(handler.internal_data.get(LOCAL, ()))
                my_task.set_data(**deepcopy({name: value for name, value in handler.data.items() if name not in own}))
            del my_task.internal_data[_RUNNING]
        pending: list[str | list[Any]] = my_task.internal_data[_PENDING]
        if not pending:
            return True
        entry = pending.pop(0)
        # A handler alone, or with the own variables of the multi-instance instance it undoes (and, a
        # compensation event subprocess, the subprocess it undoes).
        name, own_variables = (entry, {}) if isinstance(entry, str) else (entry[0], entry[1])
        handler_spec = my_task.workflow.spec.task_specs[name]
        handler = my_task._add_child(handler_spec, TaskState.FUTURE)
        handler.triggered = True  # not one of the event's outputs: kept when the event moves on
        if not isinstance(entry, str) and len(entry) > 2:
            handler.internal_data[_UNDOES] = entry[2]
        my_task.internal_data[_RUNNING] = str(handler.id)
        my_task._set_state(TaskState.WAITING)
        # Set before it becomes ready (its assignee may read them) and again after, over a case
        # variable of the same name that becoming ready merged in.
        set_local_variables(handler, deepcopy(own_variables))
        handler_spec._update(handler)
        set_local_variables(handler, deepcopy(own_variables))
        return False

    def _handlers_to_run(self, my_task: Task) -> list[str | list[Any]]:
        scope = my_task.workflow
        if self.from_event_subprocess and scope.parent_task_id is not None:
            owner = scope.top_workflow.get_task_from_id(scope.parent_task_id)
            if _UNDOES in owner.internal_data:
                return self._inside_undone(scope.top_workflow.get_task_from_id(UUID(owner.internal_data[_UNDOES])))
            scope = owner.workflow
        # A multi-instance activity's instances are undone through it (see _per_instance).
        done = [task for task in scope.tasks.values() if is_compensable(task) and not is_multi_instance_instance(task)
                and (self.activity_ref is None or task.task_spec.bpmn_id == self.activity_ref)]
        done.sort(key=lambda task: task.last_state_change, reverse=True)
        handlers: list[str | list[Any]] = []
        for task in done:
            undoing = _undoing(task)
            if getattr(task.task_spec, "undone_by_event_subprocess", False) \
                    and not isinstance(task.task_spec, MultiInstanceTask):
                undoing = [[undoing[0], {}, str(task.id)]]
            handlers += reversed(undoing)
            task.internal_data[_COMPENSATED] = True  # once: a later throw leaves it be
        return handlers

    def _inside_undone(self, subprocess: Task) -> list[str | list[Any]]:
        """A throw in a compensation event subprocess: the handlers of what the subprocess it undoes did
        (with activityRef, of that activity), the last first, each run once."""
        inside: list[str | list[Any]] = subprocess.internal_data.get(_INSIDE, [])
        of: list[str] = subprocess.internal_data.get(_INSIDE_OF, [])
        chosen = [index for index, activity in enumerate(of) if self.activity_ref in (None, activity)]
        handlers = [inside[index] for index in reversed(chosen)]
        subprocess.internal_data[_INSIDE] = [entry for index, entry in enumerate(inside) if index not in chosen]
        subprocess.internal_data[_INSIDE_OF] = [activity for index, activity in enumerate(of) if index not in chosen]
        return handlers


def _undoing(task: Task) -> list[str | list[Any]]:
    """The handlers that undo a completed activity, in the order of what they undo: its own; for a
    multi-instance activity its own once per completed instance, with that instance's own variables
    (its element, loopCounter), as in Camunda; for a subprocess without one, those of what it did,
    and for a multi-instance one, those of what each instance did, with that instance's variables."""
    own = compensation_handler(task)
    if own is None and not isinstance(task.task_spec, MultiInstanceTask):
        return list(task.internal_data[_INSIDE])
    if not isinstance(task.task_spec, MultiInstanceTask):
        return [own] if own is not None else []
    undoing: list[str | list[Any]] = []
    for child in _completed_instances(task):
        variables = {name: child.data[name] for name in instance_locals(child) if name in child.data}
        if own is not None:
            undoing.append([own, variables])
            continue
        for entry in child.internal_data.get(_INSIDE, ()):
            name, inner = (entry, {}) if isinstance(entry, str) else (entry[0], entry[1])
            undoing.append([name, {**variables, **inner}])
    return undoing


def _completed_instances(task: Task) -> list[Task]:
    return sorted((child for child in task.children
                   if is_multi_instance_instance(child) and child.has_state(TaskState.COMPLETED)),
                  key=lambda child: child.last_state_change)


class _CompensationHandler:
    """A handler tells the throw event that started it when it has finished."""

    def test(self) -> None:
        """No sequence flow leads to a handler, which the library would take for a broken spec."""

    def _on_complete_hook(self, my_task: Task) -> None:
        super()._on_complete_hook(my_task)  # type: ignore[misc]  # the library's task spec
        thrower = my_task.parent
        if thrower is not None and is_compensation_throw(thrower.task_spec) and thrower.has_state(TaskState.WAITING):
            thrower.task_spec._update(thrower)


def compensation_handler(task: Task) -> str | None:
    """The handler of a completed activity that is still to be compensated, if it has one."""
    handler: str | None = getattr(task.task_spec, "compensation_handler", None)
    return None if handler is None or task.internal_data.get(_COMPENSATED) else handler


def is_compensable(task: Task) -> bool:
    """Whether a completed activity may still be compensated: by its handler, or, a subprocess, by
    those of what it did."""
    return task.has_state(TaskState.COMPLETED) and not task.internal_data.get(_COMPENSATED) and (
        getattr(task.task_spec, "compensation_handler", None) is not None or bool(task.internal_data.get(_INSIDE))
        or (isinstance(task.task_spec, MultiInstanceTask)
            and any(child.internal_data.get(_INSIDE) for child in _completed_instances(task))))


class _RecordsCompensation:
    """An embedded subprocess holding compensable activities: when it completes, the handlers of what
    it did are written down on its task, in the order it did it (see the module's docstring)."""

    def update_data(self, my_task: Task, subworkflow: Any) -> None:
        super().update_data(my_task, subworkflow)  # type: ignore[misc]  # the library's subprocess spec
        done = sorted((task for task in subworkflow.tasks.values()
                       if is_compensable(task) and not is_multi_instance_instance(task)),
                      key=lambda task: task.last_state_change)
        inside: list[str | list[Any]] = []
        of: list[str] = []
        for task in done:
            undoing = _undoing(task)
            inside += undoing
            of += [task.task_spec.bpmn_id] * len(undoing)
        if inside:
            my_task.internal_data[_INSIDE] = inside
            if compensation_handler(my_task) is not None:  # its compensation event subprocess may name them
                my_task.internal_data[_INSIDE_OF] = of


_VARIANTS: dict[tuple[type, type], type] = {}


def _become(task_spec: Any, behaviour: type) -> None:
    cls = type(task_spec)
    if issubclass(cls, behaviour):
        return
    variant = _VARIANTS.get((behaviour, cls))
    if variant is None:
        variant = _VARIANTS[(behaviour, cls)] = type(f"{behaviour.__name__[1:]}{cls.__name__}", (behaviour, cls), {})
    task_spec.__class__ = variant


def is_compensation_throw(task_spec: Any) -> bool:
    return isinstance(task_spec, _CompensationThrow)


def is_compensation_handler(task_spec: Any) -> bool:
    return isinstance(task_spec, _CompensationHandler)


def use_compensation(specs: Iterable[BpmnProcessSpec], compensation: Compensation) -> None:
    """Give the parsed activities, handlers and throw events their compensation behaviour."""
    specs = list(specs)
    handler_ids = set(compensation.handlers.values())
    handler_specs = {}
    for spec in specs:
        for task_spec in spec.task_specs.values():
            bpmn_id = task_spec.bpmn_id
            if bpmn_id in compensation.handlers:
                task_spec.compensation_handler = compensation.handlers[bpmn_id]
                task_spec.undone_by_event_subprocess = bpmn_id in compensation.by_event_subprocess
            if bpmn_id in handler_ids:
                _become(task_spec, _CompensationHandler)
                handler_specs[task_spec.name] = task_spec
            if bpmn_id in compensation.throws:
                _become(task_spec, _CompensationThrow)
                task_spec.activity_ref = compensation.throws[bpmn_id]
                task_spec.from_event_subprocess = bpmn_id in compensation.from_event_subprocess
            if bpmn_id in compensation.holding:
                _become(task_spec, _RecordsCompensation)
    # A throw runs its handlers beside it, in its own workflow: there each handler of another scope
    # (inside a subprocess it compensates, or around its event subprocess) is found by name too.
    for spec in specs:
        if any(is_compensation_throw(task_spec) for task_spec in spec.task_specs.values()):
            for name, handler in handler_specs.items():
                spec.task_specs.setdefault(name, handler)
