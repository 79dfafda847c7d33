"""Event subprocesses started by a message, signal, condition, error or escalation, as Camunda 7 runs them.

SpiffWorkflow starts such an event subprocess only from `workflow.catch(event)`, only in the
top-level process, and never interrupts anything. The service routes messages and signals itself,
so it starts them itself instead:

- while a scope runs (the instance, or an embedded subprocess), each of its event subprocesses
  started by a message or a signal is a subscription of that scope (`event_subprocess_waits`), kept
  under the scope's task id, and the message or signal the service delivers there starts it;
- a conditional one starts when its condition becomes true while its scope runs (the run checks it
  after every step, where variables change: app.engine.runtime);
- an error or an escalation thrown in a scope and caught by no boundary event there starts the
  scope's event subprocess whose start catches its code (no code: any), else goes on to the
  enclosing scope; nothing catching it, nothing happens;
- an interrupting start (the default) cancels everything else that runs in the scope first, and the
  scope ends once its event subprocess has; a non-interrupting one runs beside the scope's tokens,
  as often as its event arrives;
- a timer start is run by the library: it starts the event subprocess with its scope and lets the
  timer wait inside it. An interrupting one cancels, when it fires, everything else that runs in
  the scope (_InterruptsOnTimer); it fires once, so a cycle there fires at its first instant.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TIMER_EVENT_XPATH,
)
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.util.event import EventManager
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.event_parsers import CamundaStartEventParser
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.engine.steps import EventWait
from app.engine.timers import ServiceCycleOnce
from app.engine.xml import BPMN_PREFIXES

_KINDS = {"message": MessageEventDefinition, "signal": SignalEventDefinition}
# Kept on the task of a started event subprocess: an interrupting one ends its scope's subscriptions.
_INTERRUPTING = "interrupting"


class EventSubprocessStartParser(CamundaStartEventParser):
    """The library's start event parser, which reads error and escalation start events (those of
    event subprocesses) too: it takes them for plain start events, run as soon as their scope starts."""

    def create_task(self) -> TaskSpec:
        definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, TIMER_EVENT_XPATH,
                                                CONDITIONAL_EVENT_XPATH, ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH])
        task = self._create_task(definition)
        self.spec.start.connect(task)
        return task


def interrupting_starts(root: etree._Element) -> dict[str, bool]:
    """The start events of the file's event subprocesses, each with whether it interrupts its scope
    (`isInterrupting`, true unless written false)."""
    return {start.get("id") or "": start.get("isInterrupting") != "false"
            for start in root.iterfind(".//bpmn:subProcess[@triggeredByEvent='true']/bpmn:startEvent",
                                       BPMN_PREFIXES)}


def _triggered(spec: BpmnProcessSpec) -> list[TaskSpec]:
    """A scope's event subprocesses that wait for an event: the library lists them on the scope's
    start (a timer's instead runs from the start, and the library starts it)."""
    return [spec.task_specs[name] for name in spec.start.trigger_specs]


def use_event_subprocesses(specs: Iterable[BpmnProcessSpec], interrupting: Mapping[str, bool]) -> None:
    """Connect each event subprocess to its scope's end, as the library does only once one is started
    (connecting it from the start too, which every later instance of the cached spec would then run
    from its start), and mark each start's interrupting flag."""
    for spec in specs:
        for task_spec in _triggered(spec):
            if spec.end not in task_spec.outputs:
                task_spec.connect(spec.end)  # a started event subprocess ends in its scope's end
            if not task_spec.inputs:
                task_spec.inputs = [spec.start]  # the library runs no task whose spec has no input
        for start in spec.bpmn_start_events:
            if start.bpmn_id in interrupting:
                start.interrupting = interrupting[start.bpmn_id]
                if start.interrupting and isinstance(start.event_definition, TimerEventDefinition):
                    if isinstance(start.event_definition, CycleTimerEventDefinition):
                        start.event_definition.__class__ = ServiceCycleOnce
                    start.__class__ = _interrupting_variant(type(start))


_VARIANTS: dict[type, type] = {}


def _interrupting_variant(cls: type) -> type:
    if issubclass(cls, _InterruptsOnTimer):
        return cls
    if cls not in _VARIANTS:
        _VARIANTS[cls] = type(cls.__name__, (_InterruptsOnTimer, cls), {})
    return _VARIANTS[cls]


def starts_on_messages_or_signals(specs: Iterable[BpmnProcessSpec]) -> bool:
    """Whether one of the specs' scopes has an event subprocess started by a message or a signal."""
    specs = list(specs)
    names = {task_spec.spec for spec in specs for task_spec in _triggered(spec)}
    return any(isinstance(start.event_definition, tuple(_KINDS.values()))
               for spec in specs if spec.name in names for start in spec.bpmn_start_events)


@dataclass(frozen=True)
class Handler:
    """An event subprocess that a running scope would start on its event."""

    scope: Any  # the scope's workflow: the instance's, or an embedded subprocess's
    scope_task_id: str  # the scope's task (the instance's root task, or the subprocess's task); "" unused
    task_spec: TaskSpec
    start: TaskSpec
    definition: EventDefinition


def _scopes(workflow: BpmnWorkflow) -> Iterator[tuple[Any, str]]:
    if not workflow.completed:
        yield workflow, str(workflow.task_tree.id)
    for subprocess in list(workflow.subprocesses.values()):
        parent = workflow.get_task_from_id(subprocess.parent_task_id)
        if not subprocess.completed and parent is not None and parent.has_state(TaskState.STARTED):
            yield subprocess, str(parent.id)


def _interrupted(scope: Any) -> bool:
    # Started on an event, an event subprocess's task is a child of the scope's root; started with
    # the scope (a timer's), of the scope's start.
    return any(task.internal_data.get(_INTERRUPTING) and not task.has_state(TaskState.FINISHED_MASK)
               for child in scope.task_tree.children for task in (child, *child.children))


class _InterruptsOnTimer:
    """The timer start of an interrupting event subprocess: when it fires, everything else that runs
    in the event subprocess's scope is cancelled, as Camunda interrupts the scope."""

    def _on_ready_hook(self, my_task: Task) -> None:
        super()._on_ready_hook(my_task)  # type: ignore[misc]  # the library's start event spec
        inner = my_task.workflow
        if inner.parent_task_id is None:
            return
        started = inner.top_workflow.get_task_from_id(inner.parent_task_id)
        started.internal_data[_INTERRUPTING] = True
        # Beside its way up from the scope's root run the scope's other paths: what is unfinished
        # there goes (a finished task's descendants may still run).
        way = started
        while way.parent is not None:
            pending = [other for other in way.parent.children if other is not way]
            while pending:
                other = pending.pop()
                if other.has_state(TaskState.FINISHED_MASK):
                    pending.extend(other.children)
                else:
                    other.cancel()
            way = way.parent


def _handlers_of(scope: Any, scope_task_id: str = "") -> Iterator[Handler]:
    if _interrupted(scope):
        return  # as in Camunda, a running interrupting event subprocess removed its scope's subscriptions
    for task_spec in _triggered(scope.spec):
        spec = scope.top_workflow.subprocess_specs.get(task_spec.spec)
        for start in spec.bpmn_start_events if spec is not None else ():
            yield Handler(scope, scope_task_id, task_spec, start, start.event_definition)


def _handlers(workflow: BpmnWorkflow) -> Iterator[Handler]:
    for scope, scope_task_id in _scopes(workflow):
        yield from _handlers_of(scope, scope_task_id)


def event_subprocess_waits(workflow: BpmnWorkflow) -> list[EventWait]:
    """The messages and signals the running scopes' event subprocesses wait for, under the scope's
    task id and the start event's id (Camunda's event subscription of the scope execution)."""
    return [EventWait(handler.scope_task_id, handler.start.bpmn_id, kind, handler.definition.name)
            for handler in _handlers(workflow)
            for kind, kind_class in _KINDS.items() if isinstance(handler.definition, kind_class)]


def waiting_handler(workflow: BpmnWorkflow, scope_task_id: str, kind: str, name: str) -> Handler | None:
    return next((handler for handler in _handlers(workflow)
                 if handler.scope_task_id == scope_task_id and isinstance(handler.definition, _KINDS[kind])
                 and handler.definition.name == name), None)


def running_handlers(workflow: BpmnWorkflow) -> list[Handler]:
    """The event subprocesses the running scopes would start on their event."""
    return list(_handlers(workflow))


def code_handler(scope: Any, kind: type[CodeEventDefinition], code: str | None) -> Handler | None:
    """The event subprocess of a running scope whose error (or escalation) start event catches the code."""
    return next((handler for handler in _handlers_of(scope) if isinstance(handler.definition, kind)
                 and handler.definition.code in (None, code)), None)


def _add_handler_task(handler: Handler) -> Task:
    """The event subprocess's task in its scope, not yet started: while it is there, the scope cannot end."""
    task = handler.scope.task_tree._add_child(handler.task_spec, TaskState.FUTURE)
    task.triggered = True  # not one of its parent's outputs: the library keeps it when syncing
    task.internal_data[_INTERRUPTING] = getattr(handler.start, "interrupting", True)
    handler.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)  # its way on to the scope's end
    return task


def start_handler(handler: Handler, event: BpmnEvent, variables: Mapping[str, Any],
                  task: Task | None = None) -> None:
    """Start the event subprocess on its event (in `task`, added already, or a new one): it sees
    `variables`, then what the event carries."""
    # Added under its scope's root, the event subprocess inherits the root's data, which is what the
    # scope started with: the root carries the case's current variables first.
    handler.scope.task_tree.data.update(deepcopy(dict(variables)))
    task = task or _add_handler_task(handler)
    if task.internal_data[_INTERRUPTING]:
        for other in list(handler.scope.task_tree.children):  # the root is finished: its children's trees
            if other is not task:
                other.cancel()
    handler.task_spec._update(task)  # creates and starts the event subprocess's workflow
    subprocess = handler.scope.top_workflow.subprocesses[task.id]
    for start in list(subprocess.get_tasks(state=TaskState.NOT_FINISHED_MASK)):
        if start.task_spec is handler.start:
            start.data = deepcopy(dict(variables))
            start.task_spec.catch(start, event)
            start.task_spec._update(start)


def catch_and_listen(task: Task, event: BpmnEvent) -> Task | None:
    """A waiting catch event catches the event. As in Camunda, a non-interrupting boundary event keeps
    listening while its activity runs: each event opens its own path. Answers the token that goes on
    listening, if any."""
    spec = task.task_spec
    spec.catch(task, event)
    spec._update(task)
    if isinstance(spec, BoundaryEvent) and not spec.cancel_activity:
        listening = task.parent._add_child(spec, TaskState.WAITING)
        spec._predict(listening, mask=TaskState.NOT_FINISHED_MASK)
        spec._update(listening)
        return listening
    return None


class _ScopedEvents(EventManager):
    """The library's event manager, with the scopes' event subprocesses among the catchers of an
    error or escalation thrown in a scope. The event subprocess's task is added at once, which keeps
    the scope from ending, and started once the thrower has finished (an interrupting start cancels
    the thrower's tokens): `start_thrown_handlers`."""

    pending: list[tuple[Handler, BpmnEvent, Task]]

    def update_collaboration(self, event: BpmnEvent) -> None:
        """The library would start an event subprocess of the top process on any event caught
        anywhere; the service starts them itself, in their scope."""

    def catch(self, event: BpmnEvent, internal: bool = True) -> int:
        if event.target is None or not isinstance(event.event_definition, CodeEventDefinition):
            return int(super().catch(event, internal))
        scope = event.target
        # As in Camunda, an event subprocess does not catch what is thrown directly inside it: a
        # rethrow from its end event goes on to the scopes around.
        rethrowing = _owner_spec(scope)
        while scope is not None:
            tasks = [task for task in self.tasks.values()
                     if task.workflow == scope and task.task_spec.event_definition.catches(task, event)]
            for task in tasks:
                catch_and_listen(task, event)
            if tasks:
                return len(tasks)
            handler = next((handler for handler in _handlers_of(scope)
                            if type(handler.definition) is type(event.event_definition)
                            and handler.definition.code in (None, event.event_definition.code)
                            and not (handler.task_spec is rethrowing and scope is event.target.parent_workflow)),
                           None)
            if handler is not None:
                self.pending.append((handler, event, _add_handler_task(handler)))
                return 1
            scope = scope.parent_workflow
        # Caught nowhere: an escalation is no error and the token goes on, as in Camunda. The event is
        # kept as the library keeps what it could not deliver: the call activity that started this
        # instance may catch it (app.engine.call_activities).
        if internal:
            self.workflow.bpmn_events.append(event)
        return 0


def _owner_spec(scope: Any) -> TaskSpec | None:
    """The spec of the task a subprocess's workflow runs for (None for the instance's own)."""
    if scope.parent_task_id is None:
        return None
    return scope.top_workflow.get_task_from_id(scope.parent_task_id).task_spec


def scope_events(workflow: BpmnWorkflow) -> None:
    """Let the workflow's thrown errors and escalations reach its scopes' event subprocesses."""
    if not isinstance(workflow.event_manager, _ScopedEvents):
        workflow.event_manager.__class__ = _ScopedEvents
        workflow.event_manager.pending = []


def start_thrown_handlers(workflow: BpmnWorkflow) -> bool:
    """Start the event subprocesses that caught an error or escalation thrown since the last call;
    whether there were any."""
    manager = workflow.event_manager
    pending = list(getattr(manager, "pending", ()))
    if not pending:
        return False
    manager.pending = []
    for handler, event, task in pending:
        if not task.has_state(TaskState.FINISHED_MASK):  # an interrupting one started before may have cancelled it
            start_handler(handler, event, event.payload or {}, task)
    return True

