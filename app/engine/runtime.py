"""Running one process instance: start, restore, complete user tasks, report what changed.

A ProcessRun wraps one SpiffWorkflow workflow for the length of one unit of work; it is never shared
between threads. Everything it hands out is plain data (dataclasses, dicts, ISO strings).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    CodeEventDefinition,
    ErrorEventDefinition,
    EscalationEventDefinition,
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.clock import Clock, add_iso_duration
from app.engine.call_activities import CalledProcessTask, returned_variables
from app.engine.elements import ConditionNarrowing, ProcessModel, UserTaskDefinition
from app.engine.event_subprocesses import (
    Handler,
    catch_and_listen,
    code_handler,
    event_subprocess_waits,
    running_handlers,
    scope_events,
    start_handler,
    start_thrown_handlers,
    waiting_handler,
)
from app.engine.events import AwaitsTrigger, ServiceCondition
from app.engine.expressions import (
    ExpressionError,
    PropertyNotFound,
    Template,
    compile_template,
    to_text,
    truthy_condition,
)
from app.engine.forms import parse_datetime
from app.engine.migration import MigrationInstruction, migrate_workflow, start_events
from app.engine.modification import (
    ActivityInstanceNode,
    Instruction,
    activity_of,
    activity_tree,
    apply_instructions,
    has_tokens,
    nodes_of,
    opened_by,
)
from app.engine.multi_instance import SHADOWED, instance_locals
from app.engine.outputs import discard_set_locals, local_variables, set_local_variables
from app.engine.plain import plain
from app.engine.pruning import prune
from app.engine.script_engine import InstanceIdentity, SafeScriptEngine
from app.engine.serialization import dump_workflow, load_workflow
from app.engine.steps import (
    ActivityChange,
    EventWait,
    OpenExternalTask,
    OpenUserTask,
    PendingTimer,
    StepLog,
    StepResult,
    ThrownError,
    TimerJob,
    logging_step,
)
from app.engine.timers import (
    HELD_TIMERS,
    SCHEDULED,
    TIMER_PRIORITIES,
    TimerLimits,
    due_key,
    due_when_read_at,
    is_held,
    on_clock,
    start_timer_schedule,
    timer_job_id,
    timer_slot,
)
from app.errors import Conflict, InvalidRequest, NotFound, ProcessExecutionFailed

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_MAX_ROUNDS = 1000


class _CancelledScope(Exception):
    """A task of a subprocess whose activity was cancelled earlier in the step was about to run."""


@dataclass(frozen=True)
class RunContext:
    """What a run needs from its surroundings: the clock, the functions expressions may call, and the
    zone in which a date written without an offset is read."""

    clock: Clock
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    zone: tzinfo = UTC
    # Resolves a business rule task's DecisionLookup to (decision definition id, DecisionTable).
    decisions: Callable[[Any], tuple[str, Any]] | None = None
    timer_limits: TimerLimits = TimerLimits()
    # CPU seconds one step may spend running the process (a loop with no wait state never ends).
    cpu_seconds: float = 2.0
    # The instance the run belongs to, which expressions read as `execution` (none: a timer start
    # scheduled at deploy, before any instance).
    instance: InstanceIdentity | None = None


# "trigger": a receive task without a message, moved on by its execution id.
_EVENT_KINDS = {"message": MessageEventDefinition, "signal": SignalEventDefinition, "trigger": AwaitsTrigger}


def _event_definitions(spec: TaskSpec) -> list[EventDefinition]:
    definition = getattr(spec, "event_definition", None)
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition] if definition is not None else []


# A user task's name, assignee, candidates, dates and priority as evaluated when it opened.
_DESCRIBED = "described"


def _as_text(value: Any) -> str | None:
    return None if value is None else to_text(value)


def _identities(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def _as_datetime(value: Any, what: str, zone: tzinfo, now: datetime) -> datetime | None:
    """A task's due or follow-up date as Camunda's due date calendar reads it: a date, or a text that
    is an ISO instant or a duration (`P2DT2H30M`) counting from now."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    text = str(value).strip()
    if text.startswith("P"):
        try:
            # Counted on the official calendar: a month from 31 January is 28 February there.
            return add_iso_duration(now.astimezone(zone), text)
        except ValueError as error:
            raise ExpressionError(f"{what}: {error}") from None
    parsed = parse_datetime(text, zone)
    if parsed is None:
        raise ExpressionError(f"{what} must give a date or a duration such as P2D, got '{value}'")
    return parsed


class ProcessRun:
    def __init__(self, model: ProcessModel, workflow: BpmnWorkflow, context: RunContext) -> None:
        self.model = model
        self.workflow = workflow
        self.context = context
        # What each token held before the step's action or before it ran (ProcessRun._share_changes).
        self._held: dict[Any, dict[str, Any]] = {}
        scope_events(workflow)

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def start(cls, model: ProcessModel, variables: Mapping[str, Any], context: RunContext,
              start_event: str | None = None, instructions: Sequence[Instruction] = ()
              ) -> tuple[ProcessRun, StepResult]:
        """Start an instance at its plain start event, at `start_event` (a message, signal or timer
        start event whose trigger arrived), or, with `instructions`, at the activities they name
        (Camunda's start instructions: modification instructions applied to an instance that runs no
        start event)."""
        if instructions:
            return cls._start_at(model, variables, context, instructions)
        kinds = {start.id: start.kind for start in model.start_events}
        if start_event is None and kinds and "none" not in kinds.values():
            raise InvalidRequest(f"process '{model.key}' has no plain start event: it starts by "
                                 + " or ".join(sorted(set(kinds.values()))))
        if start_event is not None and start_event not in kinds:
            raise NotFound(f"process '{model.key}' has no start event '{start_event}'")
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=_script_engine(model, context))
        run = cls(model, workflow, context)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        if start_event is None:
            return run, run._advance(None)
        return run, run._advance(lambda: run._fire_start_event(start_event, variables))

    @classmethod
    def _start_at(cls, model: ProcessModel, variables: Mapping[str, Any], context: RunContext,
                  instructions: Sequence[Instruction]) -> tuple[ProcessRun, StepResult]:
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs, script_engine=_script_engine(model, context))
        run = cls(model, workflow, context)
        # Withdrawn before the step: no start event runs, nor appears in the instance's history.
        for task in start_events(workflow):
            task.cancel()
        values = deepcopy(dict(variables))
        return run, run._advance(lambda: apply_instructions(model, workflow, "", instructions, values))

    def _fire_start_event(self, start_event: str, variables: Mapping[str, Any]) -> None:
        # Fire the chosen start event and withdraw the others, so that no other start runs.
        for task in start_events(self.workflow):
            if task.task_spec.bpmn_id == start_event:
                task.data.update(variables)
                task._set_internal_data(event_fired=True)
                task.task_spec._update(task)
            else:
                task.cancel()

    @classmethod
    def restore(cls, model: ProcessModel, state: str, context: RunContext) -> ProcessRun:
        workflow = load_workflow(state, model.spec, model.subprocess_specs)
        workflow.script_engine = _script_engine(model, context)
        return cls(model, workflow, context)

    def resume(self, context: RunContext) -> None:
        """Take up a run kept in memory since its last step, in a new step's context."""
        self.context = context
        self.workflow.script_engine = _script_engine(self.model, context)

    def serialize(self) -> str:
        prune(self.workflow)
        return dump_workflow(self.workflow)

    # -- queries --------------------------------------------------------------------------------
    @property
    def completed(self) -> bool:
        return self.workflow.completed

    def _all_tasks(self) -> Iterator:
        yield from self.workflow.tasks.values()
        for subprocess in self.workflow.subprocesses.values():
            yield from subprocess.tasks.values()

    def _frontier(self) -> list:
        return [task for task in self._all_tasks() if task.has_state(_ACTIVE) and task.task_spec.bpmn_id]

    def variables(self) -> dict[str, Any]:
        """The instance's variables: what its active tokens carry (or the final data once ended)."""
        if self.workflow.completed:
            return dict(self.workflow.data)
        frontier = self._frontier()
        return self._case_variables(frontier, self._instance_variable_names(frontier))

    def _case_variables(self, frontier: list, own: set[str]) -> dict[str, Any]:
        merged: dict[str, Any] = dict(self.workflow.data)
        for task in sorted(frontier, key=lambda t: t.last_state_change):
            if isinstance(task.task_spec, BoundaryEvent) and task.has_state(TaskState.WAITING):
                # A listening boundary event re-reads the data its activity started with whenever the
                # library updates it: the activity itself carries the case's current values.
                continue
            merged.update((name, value) for name, value in task.data.items() if name not in own)
            for name, value in task.internal_data.get(SHADOWED, {}).items():
                merged.setdefault(name, value)  # a case variable a task's input parameter hides meanwhile
        return merged

    @staticmethod
    def _instance_variable_names(frontier: list) -> set[str]:
        """The variables of a multi-instance activity's instances: their own, not the case's."""
        return {name for task in frontier for name in instance_locals(task)}

    def task_variables(self, task_id: str) -> dict[str, Any]:
        """What an open task sees: the case's variables and its own (its input parameters, those of its
        multi-instance instance)."""
        if self.workflow.completed:
            return self.variables()
        frontier = self._frontier()
        own = self._instance_variable_names(frontier)
        merged = self._case_variables(frontier, own)
        task = self._task(task_id)
        if task is not None:
            merged.update((name, value) for name, value in task.data.items() if name in own)
        return merged

    def set_variables(self, values: Mapping[str, Any], removals: tuple[str, ...] = ()) -> None:
        """The case's variables; a task's own variable of the same name stays as it is, and the case's
        value it hides is the one it gives back when the task completes."""
        self._write_case_variables(self._frontier() or [self.workflow], values, removals)

    def _write_case_variables(self, targets: Iterable[Any], values: Mapping[str, Any],
                              removals: tuple[str, ...] = (), scope: Any = None) -> None:
        """Set the variables of `scope` (a subprocess; the process when None) on each token given:
        a token inside a subprocess of the scope that has one of them as its own keeps its own."""
        for target in targets:
            shielded = set().union(*(names for _, names in self._scopes(target, scope))) \
                if isinstance(target, Task) else set()
            given = {name: value for name, value in values.items() if name not in shielded}
            dropped = [name for name in removals if name not in shielded]
            own = set(instance_locals(target)) if target is not self.workflow else set()
            hidden = target.internal_data.setdefault(SHADOWED, {}) if own else {}
            # The library merges a waiting catch event's predecessor's data over its own each time it
            # looks at it (every timer refresh): the predecessor takes the values too, or they would
            # be undone.
            kept = [target.data, target.parent.data] if _rereads_predecessor(target) else [target.data]
            for name, value in given.items():
                if name in own:
                    hidden[name] = value
                else:
                    for data in kept:
                        data[name] = value
            for name in dropped:
                for data in [hidden] if name in own else kept:
                    data.pop(name, None)

    def task_local_variables(self, task_id: str) -> dict[str, Any]:
        """An open user task's own variables: its input parameters, those set on it alone, and an
        instance's of a multi-instance activity."""
        return local_variables(self._ready_user_task(task_id))

    def external_task_local_variables(self, task_id: str) -> dict[str, Any]:
        """An open external task's own variables (Camunda's local variables of its execution): its input
        parameters, and its instance's of a multi-instance activity."""
        return local_variables(self._external_task(task_id))

    def set_task_local_variables(self, task_id: str, values: Mapping[str, Any], removals: tuple[str, ...] = ()
                                 ) -> None:
        set_local_variables(self._ready_user_task(task_id), values, removals)

    def open_user_tasks(self) -> list[OpenUserTask]:
        tasks = []
        for task in self._all_tasks():
            definition = self.model.user_tasks.get(task.task_spec.bpmn_id or "")
            if definition is not None and task.has_state(TaskState.READY):
                tasks.append(self._describe_user_task(task, definition))
        return tasks

    def _describe_user_task(self, task: Task, definition: UserTaskDefinition) -> OpenUserTask:
        # Its expressions are evaluated once, when it opens, as Camunda creates a task: a variable
        # they read, changed or deleted later, changes nothing of it.
        described = task.internal_data.get(_DESCRIBED)
        if described is None:
            described = task.internal_data[_DESCRIBED] = self._evaluate_user_task(task, definition)
        return OpenUserTask(
            id=str(task.id),
            task_definition_key=definition.id,
            name=described["name"],
            assignee=described["assignee"],
            candidate_users=tuple(described["candidate_users"]),
            candidate_groups=tuple(described["candidate_groups"]),
            due=datetime.fromisoformat(described["due"]) if described["due"] else None,
            follow_up=datetime.fromisoformat(described["follow_up"]) if described["follow_up"] else None,
            priority=described["priority"],
            form_key=definition.form_key,
            documentation=definition.documentation,
        )

    def _evaluate_user_task(self, task: Task, definition: UserTaskDefinition) -> dict[str, Any]:
        engine: SafeScriptEngine = self.workflow.script_engine

        def value(template: Template | None, what: str) -> Any:
            if template is None:
                return None
            try:
                return engine.value(task, template)
            except ExpressionError as error:
                raise ProcessExecutionFailed(
                    f"user task '{definition.id}': {what} cannot be evaluated: {error}",
                    details={"activityId": definition.id}) from None

        try:
            zone, now = self.context.zone, self.context.clock.now()
            due = _as_datetime(value(definition.due_date, "camunda:dueDate"), "camunda:dueDate", zone, now)
            follow_up = _as_datetime(value(definition.follow_up_date, "camunda:followUpDate"),
                                     "camunda:followUpDate", zone, now)
        except ExpressionError as error:
            raise ProcessExecutionFailed(f"user task '{definition.id}': {error}",
                                         details={"activityId": definition.id}) from None
        priority = value(definition.priority, "camunda:priority")
        try:
            priority_number = int(priority) if priority not in (None, "") else 50
        except (TypeError, ValueError):
            raise ProcessExecutionFailed(f"user task '{definition.id}': priority '{priority}' is not a number",
                                         details={"activityId": definition.id}) from None
        assignee = value(definition.assignee, "camunda:assignee")
        return {"name": _as_text(value(definition.name, "the name")),
                "assignee": str(assignee) if assignee not in (None, "") else None,
                "candidate_users": list(_identities(value(definition.candidate_users, "camunda:candidateUsers"))),
                "candidate_groups": list(_identities(value(definition.candidate_groups, "camunda:candidateGroups"))),
                "due": due.isoformat() if due else None, "follow_up": follow_up.isoformat() if follow_up else None,
                "priority": priority_number}

    def _waiting_catches(self) -> Iterator[tuple[Any, Any]]:
        """Each waiting catch event with each event definition it waits for (several in an
        event-based gateway)."""
        for task in self._all_tasks():
            if isinstance(task.task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
                for definition in _event_definitions(task.task_spec):
                    yield task, definition

    def pending_timers(self) -> list[PendingTimer]:
        timers = []
        for task, timer in self._waiting_catches():
            if not isinstance(timer, TimerEventDefinition):
                continue
            slot = timer_slot(task.task_spec, timer)
            value = task.internal_data.get(due_key(slot))
            if isinstance(value, dict):
                if value.get("cycles") == 0:
                    continue  # a cycle that has run all its repetitions waits for nothing more
                value = value.get("next")
            due = parse_datetime(value, self.context.zone) if isinstance(value, str) else None
            # An event-based gateway keeps each timer's due instant as a timer event does.
            priority = task.internal_data.get(TIMER_PRIORITIES, {}).get(str(slot), 0)
            timers.append(PendingTimer(timer_job_id(task, slot),
                                       self._gateway_branch(task, timer) or task.task_spec.bpmn_id, due,
                                       is_held(task, slot), priority))
        return timers

    def event_waits(self) -> list[EventWait]:
        return [EventWait(str(task.id), self._gateway_branch(task, definition) or task.task_spec.bpmn_id, kind,
                          definition.name)
                for task, definition in self._waiting_catches()
                for kind, kind_class in _EVENT_KINDS.items() if isinstance(definition, kind_class)
                ] + event_subprocess_waits(self.workflow)

    @staticmethod
    def _gateway_branch(task: Task, definition: EventDefinition) -> str | None:
        """Inside an event-based gateway, the catch event the definition belongs to."""
        slot = _gateway_slot(task, definition)
        return None if slot is None else task.task_spec.outputs[slot].bpmn_id

    def open_external_tasks(self) -> list[OpenExternalTask]:
        engine: SafeScriptEngine = self.workflow.script_engine
        tasks = []
        for task in self._all_tasks():
            definition = self.model.external_tasks.get(task.task_spec.bpmn_id or "")
            if definition is None or not task.has_state(TaskState.STARTED) or isinstance(task.task_spec,
                                                                                         MultiInstanceTask):
                continue
            priority = 0
            if definition.priority is not None:
                try:
                    priority = int(engine.value(task, definition.priority))
                except (ExpressionError, TypeError, ValueError) as error:
                    reason = str(error) if isinstance(error, ExpressionError) else "not a whole number"
                    raise ProcessExecutionFailed(f"external task '{definition.id}': camunda:taskPriority "
                                                 f"gives no number: {reason}",
                                                 details={"activityId": definition.id}) from None
            tasks.append(OpenExternalTask(str(task.id), definition.id, definition.topic, priority))
        return tasks

    # -- commands -------------------------------------------------------------------------------
    def _timers_due_at(self, instant: datetime) -> list[tuple[Task, str, EventDefinition]]:
        """(token, key of its due instant, timer) of each timer waiting for `instant`. Only single
        timers: a cycle keeps its next instant with its repetitions, and is never a deadline."""
        found = []
        for task, definition in self._waiting_catches():
            if not isinstance(definition, TimerEventDefinition):
                continue
            key = due_key(timer_slot(task.task_spec, definition))
            value = task.internal_data.get(key)
            if isinstance(value, str) and parse_datetime(value, self.context.zone) == instant:
                found.append((task, key, definition))
        return found

    def timers_due_at(self, instant: datetime) -> list[str]:
        """The activities whose timers wait for exactly this instant."""
        return [self._gateway_branch(task, timer) or task.task_spec.bpmn_id
                for task, _, timer in self._timers_due_at(instant)]

    def move_timers(self, old_due: datetime, new_due: datetime) -> None:
        """Timers waiting for `old_due` wait for `new_due` instead (a provisional deadline recomputed
        once its year's calendar was confirmed)."""
        for task, key, _ in self._timers_due_at(old_due):
            task.internal_data[key] = new_due.isoformat()

    def _waiting_timer(self, job_id: str) -> tuple[Task, int, EventDefinition]:
        for task, definition in self._waiting_catches():
            if isinstance(definition, TimerEventDefinition):
                slot = timer_slot(task.task_spec, definition)
                if timer_job_id(task, slot) == job_id:
                    return task, slot, definition
        raise NotFound(f"Job with id {job_id} does not exist")

    def timer_job(self, job_id: str) -> TimerJob:
        """The waiting timer that is job `job_id` (NotFound when the instance waits on no such timer)."""
        task, slot, definition = self._waiting_timer(job_id)
        spec = task.task_spec
        if isinstance(spec, BoundaryEvent):
            kind = "boundary"
        elif isinstance(spec.event_definition, MultipleEventDefinition):
            kind = "gateway"
        elif isinstance(spec, StartEvent):
            kind = "event-subprocess-start"
        else:
            kind = "intermediate"
        value = task.internal_data.get(due_key(slot))
        due = value.get("next") if isinstance(value, dict) else value
        return TimerJob(job_id, self._gateway_branch(task, definition) or spec.bpmn_id, kind, isinstance(value, dict),
                        parse_datetime(due, self.context.zone) if isinstance(due, str) else None)

    def set_timer_due(self, job_id: str, due: datetime, *, cascade: bool) -> None:
        """The timer waits for `due` instead. A cycle goes on from `due` when the move `cascade`s, else
        from the instant it was scheduled for, as Camunda moves the following timers of a cycle or not."""
        task, slot, _ = self._waiting_timer(job_id)
        key = due_key(slot)
        value = task.internal_data.get(key)
        if isinstance(value, dict):
            if cascade:
                value.pop(SCHEDULED, None)
            else:
                value.setdefault(SCHEDULED, value["next"])
            value["next"] = due.isoformat()
        else:
            task.internal_data[key] = due.isoformat()

    def recalculate_timer_due(self, job_id: str, base: datetime) -> datetime:
        """Read the timer's definition again at `base` and wait for the instant it names."""
        task, _, definition = self._waiting_timer(job_id)
        with self._on_clock():
            try:
                due = due_when_read_at(definition, task, base)
            except SpiffWorkflowException as error:
                raise _execution_error(error) from None
            except ExpressionError as error:
                raise ProcessExecutionFailed(str(error)) from None
        self.set_timer_due(job_id, due, cascade=True)
        return due

    def hold_timer(self, job_id: str, held: bool) -> None:
        """Suspend (`held`) or activate one timer of the instance."""
        task, slot, _ = self._waiting_timer(job_id)
        slots = set(task.internal_data.get(HELD_TIMERS, ())) - {slot} | ({slot} if held else set())
        task.internal_data[HELD_TIMERS] = sorted(slots)

    def set_timer_priority(self, job_id: str, priority: int) -> None:
        task, slot, _ = self._waiting_timer(job_id)
        task.internal_data[TIMER_PRIORITIES] = {**task.internal_data.get(TIMER_PRIORITIES, {}), str(slot): priority}

    def delete_timer(self, job_id: str) -> None:
        """A boundary timer stops listening: its activity goes on, and ends without it."""
        task, _, _ = self._waiting_timer(job_id)
        if not isinstance(task.task_spec, BoundaryEvent):
            raise Conflict(f"Job {job_id} is not a boundary timer; deleting it would leave its token waiting")
        task.cancel()
        task.workflow.top_workflow.event_manager.remove_task(task)

    def _ready_user_task(self, task_id: str) -> Task:
        task = self._task(task_id)
        if task is None or (task.task_spec.bpmn_id or "") not in self.model.user_tasks:
            raise NotFound(f"No task found with id '{task_id}'")
        if not task.has_state(TaskState.READY):
            raise Conflict(f"Task '{task_id}' is no longer open")
        return task

    def complete_user_task(self, task_id: str, variables: Mapping[str, Any]) -> StepResult:
        task = self._ready_user_task(task_id)

        def complete() -> None:
            # As Camunda sets a completion's variables: one of a name the task has as its own stays
            # its own, and goes with the others set on it alone.
            task.data.update(variables)
            discard_set_locals(task)
            task.run()

        return self._advance(complete)

    def fire_due_timers(self) -> StepResult:
        return self._advance(None)

    def variables_changed(self) -> StepResult:
        """After variables were set from outside the process: its conditional events see them."""
        return self._advance(None) if self.model.has_conditional_events else self.snapshot()

    def _task(self, task_id: str) -> Task | None:
        try:
            return self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, TypeError, TaskNotFoundException):
            return None

    def deliver_event(self, task_id: str, kind: str, name: str, variables: Mapping[str, Any]) -> StepResult:
        """Hand a message, signal or trigger (a receive task without a message) to the one waiting token
        the service routed it to (or to the running scope whose event subprocess it starts)."""
        handler = waiting_handler(self.workflow, task_id, kind, name)
        if handler is not None:
            current = self.variables()
            return self._advance(lambda: start_handler(handler, BpmnEvent(handler.definition, dict(variables)),
                                                       current))
        task = self._task(task_id)
        if task is None or not task.has_state(TaskState.WAITING):
            raise Conflict(f"the {kind} '{name}' finds no token waiting at '{task_id}' any more")
        definition = next((d for d in _event_definitions(task.task_spec)
                           if isinstance(d, _EVENT_KINDS[kind]) and d.name == name), None)
        if definition is None:
            raise Conflict(f"the token at '{task_id}' does not wait for the {kind} '{name}'")

        return self._advance(lambda: self._catch(task, definition, variables))

    def _catch(self, task: Task, definition: EventDefinition, variables: Mapping[str, Any]) -> Task | None:
        """The waiting token catches the event; a non-interrupting boundary event gives back the token
        that goes on listening in its place."""
        if isinstance(task.task_spec, BoundaryEvent):
            # A listening boundary event holds the data its activity started with, read again from the
            # split before the activity on every update: the path it opens (and the listener that takes
            # its place) goes on with the case's current values instead.
            current = self.variables()
            task.parent.data.update(current)
            task.data.update(current)
        return catch_and_listen(task, BpmnEvent(definition, payload=dict(variables)))

    def _fire_conditions(self) -> None:
        """Conditional events whose condition holds go on, as Camunda evaluates them when the token
        arrives and whenever variables change (here: after every step, which is where they change). An
        interrupting or intermediate one goes on while its condition holds; a non-interrupting boundary
        event fires each time its condition becomes true while its activity runs. One narrowed by
        `camunda:variableName` / `camunda:variableEvents` is evaluated again only after such a change,
        and a non-interrupting one fires at each such change its condition holds after, as in Camunda."""
        if not self.model.has_conditional_events:
            return
        waiting = [(task, definition) for task, definition in self._waiting_catches()
                   if isinstance(definition, ServiceCondition)]
        # (Not before a token has left the start: the start's variables are not the case's yet.)
        handlers = [handler for handler in running_handlers(self.workflow)
                    if isinstance(handler.definition, ServiceCondition)] if self._frontier() else []
        if not waiting and not handlers:
            return
        variables = self.variables()
        for handler in handlers:
            # An event subprocess starts when its condition becomes true while its scope runs.
            bpmn_id = handler.start.bpmn_id
            held_key = f"condition_held:{bpmn_id}"
            scope_root = handler.scope.task_tree
            changed = _narrowed_change(handler.definition.narrowing, scope_root.internal_data,
                                       f"condition_seen:{bpmn_id}", variables)
            if changed is False:
                continue
            held = self._condition_holds(handler.definition, bpmn_id, handler.scope.task_tree, variables)
            if held and (changed or not scope_root.internal_data.get(held_key)):
                start_handler(handler, BpmnEvent(handler.definition, {}), variables)
            scope_root.internal_data[held_key] = held
        for task, definition in waiting:
            if not task.has_state(TaskState.WAITING):
                continue  # an interrupting event fired before it cancelled this one's activity
            # After an event-based gateway, the token waits on each branch's event: each keeps its own.
            branch = self._gateway_branch(task, definition)
            suffix = f":{branch}" if branch is not None else ""
            changed = _narrowed_change(definition.narrowing, task.internal_data, "condition_seen" + suffix, variables)
            if changed is False:
                continue
            held = self._condition_holds(definition, branch or task.task_spec.bpmn_id, task, variables)
            was_held = bool(task.internal_data.get("condition_held" + suffix))
            task.internal_data["condition_held" + suffix] = held
            spec = task.task_spec
            if not held or (was_held and not changed and isinstance(spec, BoundaryEvent) and not spec.cancel_activity):
                continue
            if branch is not None:
                # The gateway goes on at this branch (the library would take the first conditional one).
                task.internal_data["race_winner"] = _gateway_slot(task, definition)
            listening = self._catch(task, definition, {})
            if listening is not None:
                listening.internal_data["condition_held"] = True
                listening.internal_data["condition_seen"] = task.internal_data.get("condition_seen")

    def _condition_holds(self, definition: ServiceCondition, activity: str | None, task: Task,
                         variables: Mapping[str, Any]) -> bool:
        """Whether the condition of `activity` holds, evaluated in the token `task` (its scope's for an
        event subprocess's start)."""
        text = definition.expression
        try:
            return truthy_condition(self.workflow.script_engine.value(task, compile_template(text), variables), text)
        except PropertyNotFound:
            return False  # as Camunda tries a conditional event: a variable not set yet holds it back
        except ExpressionError as error:
            raise ProcessExecutionFailed(f"conditional event '{activity}': {error}",
                                         details={"activityId": activity}) from None

    def _external_task(self, task_id: str) -> Task:
        task = self._task(task_id)
        if task is None or (task.task_spec.bpmn_id or "") not in self.model.external_tasks:
            raise NotFound(f"External task with id {task_id} does not exist")
        if not task.has_state(TaskState.STARTED):
            raise Conflict(f"External task {task_id} is no longer open")
        return task

    def complete_external_task(self, task_id: str, variables: Mapping[str, Any]) -> StepResult:
        task = self._external_task(task_id)

        def complete() -> None:
            task.data.update(variables)
            task.complete()

        return self._advance(complete)

    def throw_bpmn_error(self, task_id: str, code: str, message: str | None,
                         variables: Mapping[str, Any]) -> StepResult:
        """An external task's worker reports a business error: the nearest error boundary event or
        error event subprocess that catches its code, on the task or in a scope around it, takes over."""
        return self._throw_caught(self._external_task(task_id), code, message, variables)

    def throw_user_task_error(self, task_id: str, code: str, message: str | None,
                              variables: Mapping[str, Any]) -> StepResult:
        """The user task's assignee reports a business error (Camunda's handleBpmnError on a task): the
        nearest error boundary event or error event subprocess that catches its code takes over."""
        return self._throw_caught(self._ready_user_task(task_id), code, message, variables)

    def throw_user_task_escalation(self, task_id: str, code: str, variables: Mapping[str, Any]) -> StepResult:
        """The user task's assignee escalates (Camunda's handleEscalation on a task): the nearest
        escalation boundary event or escalation event subprocess that catches its code takes over,
        interrupting the task or running beside it as drawn. Caught nowhere, Camunda throws and nothing
        changes: so here."""
        task = self._ready_user_task(task_id)
        result = self._throw_at(task, EscalationEventDefinition, code, None, variables)
        if result is None:
            activity = task.task_spec.bpmn_id
            raise ProcessExecutionFailed(f"ENGINE-01043 Execution with id '{activity}' throws an escalation event "
                                         f"with escalationCode '{code}', but no escalation handler was defined. ",
                                         details={"activityId": activity})
        return result

    def _throw_caught(self, task: Task, code: str, message: str | None,
                      variables: Mapping[str, Any]) -> StepResult:
        """The error thrown at the task, refused when nothing around it catches its code."""
        result = self._throw_at(task, ErrorEventDefinition, code, message, variables)
        if result is None:
            raise InvalidRequest(f"no error boundary event catches the error code '{code}' thrown at "
                                 f"'{task.task_spec.bpmn_id}'", details={"activityId": task.task_spec.bpmn_id})
        return result

    def _throw_at(self, task: Task, kind: type[CodeEventDefinition], code: str | None, message: str | None,
                  variables: Mapping[str, Any]) -> StepResult | None:
        """The error (or escalation) caught by the nearest boundary event or event subprocess around
        the task that catches its code, or None if none does."""
        catcher = self._code_catcher(task, kind, code)
        if catcher is None:
            return None
        if isinstance(catcher, Handler):
            catcher_id, definition = catcher.start.bpmn_id, catcher.definition
        else:
            boundary, definition = catcher
            catcher_id = boundary.task_spec.bpmn_id
        payload = dict(variables)
        catch_info = self.model.error_catches.get(catcher_id or "")
        if catch_info is not None and catch_info.code_variable:
            payload[catch_info.code_variable] = code
        if catch_info is not None and catch_info.message_variable:
            payload[catch_info.message_variable] = message

        if isinstance(catcher, Handler):
            current = self.variables()
            return self._advance(lambda: start_handler(catcher, BpmnEvent(definition, payload=payload), current))
        return self._advance(lambda: catch_and_listen(boundary, BpmnEvent(definition, payload=payload)))

    # -- call activities ------------------------------------------------------------------------
    def _waiting_call(self, task_id: str) -> Task:
        task = self._task(task_id)
        if task is None or not isinstance(task.task_spec, CalledProcessTask):
            raise NotFound(f"no call activity waits at '{task_id}'")
        if not task.has_state(TaskState.STARTED):
            raise Conflict(f"the call activity at '{task_id}' no longer waits for its called instance")
        return task

    def complete_call_activity(self, task_id: str, child_variables: Mapping[str, Any],
                               error: ThrownError | None = None) -> StepResult:
        """The instance a call activity started has ended: its camunda:out mappings set this instance's
        variables and the token moves on. One that ended with a BPMN error it did not catch: an error
        boundary event on the call activity (or around it) takes over, without camunda:out; caught
        nowhere, the error ended the called instance as a plain end event would, as in Camunda."""
        task = self._waiting_call(task_id)
        if error is not None:
            caught = self._throw_at(task, ErrorEventDefinition, error.code, None, {})
            if caught is not None:
                return caught
        definition = task.task_spec.call

        def complete() -> None:
            shared, own = returned_variables(definition, child_variables, self.workflow.script_engine)
            set_local_variables(task, own)
            # A name the call activity holds as its own (an input parameter) stays its own, as in Camunda.
            task.data.update(shared)
            task.complete()

        return self._advance(complete)

    def cancel_call_activity(self, task_id: str) -> StepResult:
        """The called instance was deleted: as Camunda does, the call activity is cancelled (with its
        boundary events; a multi-instance activity as a whole)."""
        task = self._waiting_call(task_id)
        target = task.parent if isinstance(task.parent.task_spec, MultiInstanceTask) else task
        if target.parent is not None and isinstance(target.parent.task_spec, BoundaryEventSplit):
            target = target.parent
        return self._advance(target.cancel)

    @property
    def has_tokens(self) -> bool:
        """Whether anything of the instance is still active (it may have ended without completing)."""
        return not self.workflow.completed and bool(self._frontier())

    def _code_catcher(self, task: Task | None, kind: type[CodeEventDefinition], code: str | None
                      ) -> tuple[Task, CodeEventDefinition] | Handler | None:
        while task is not None:
            siblings = task.parent.children if task.parent is not None else []
            for sibling in siblings:
                spec = sibling.task_spec
                if not isinstance(spec, BoundaryEvent) or not sibling.has_state(TaskState.WAITING):
                    continue
                definition = spec.event_definition
                if isinstance(definition, kind) and definition.code in (None, code):
                    return sibling, definition
            handler = code_handler(task.workflow, kind, code)
            if handler is not None:
                return handler
            # Up to the subprocess (or call activity) task that runs this task's workflow.
            workflow = task.workflow
            task = (workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
                    if workflow.parent_task_id is not None else None)
        return None

    def activity_instances(self) -> tuple[ActivityInstanceNode, ...]:
        return activity_tree(self.model, self.workflow)

    def opened_by(self, task_id: str) -> list[str] | None:
        """The activity instances the completion of a user task opened that still run (see
        app.engine.modification.opened_by)."""
        return opened_by(self.model, self.workflow, task_id)

    def modify(self, instance_id: str, instructions: Sequence[Instruction]) -> tuple[StepResult, bool]:
        """Camunda's process instance modification (app.engine.modification), as one step; and whether
        it left the instance without any token, which ends it cancelled, as in Camunda (with the
        case's variables kept)."""
        variables = self.variables()
        result = self._advance(lambda: apply_instructions(self.model, self.workflow, instance_id, instructions,
                                                          variables))
        if result.completed or has_tokens(self.model, self.workflow):
            return result, False
        self.workflow.cancel()
        self.set_variables(variables)
        return replace(result, completed=True), True

    def migrate(self, target: ProcessModel, target_definition_id: str, instructions: Sequence[MigrationInstruction],
                variables: Mapping[str, Any]) -> tuple[ProcessRun, StepResult]:
        """Camunda's process instance migration (app.engine.migration), as one step: the run of the
        target definition the instance goes on with, and what changed: the activity instances kept
        are the same ones (no change), those of the source not kept end cancelled, those the target
        adds around the kept ones start. `variables` (the plan's) are set on the case afterwards."""
        open_before = self._open_user_task_ids()
        nodes = {str(task.id): task for task in nodes_of(self.model, self.workflow)}
        instance = self.context.instance
        context = replace(self.context, instance=replace(instance, definition_id=target_definition_id)
                          if instance is not None else None)
        workflow = BpmnWorkflow(target.spec, target.subprocess_specs, script_engine=_script_engine(target, context))
        run = ProcessRun(target, workflow, context)
        kept: set[str] = set()

        def move() -> None:
            kept.update(migrate_workflow(self.model, self.workflow, target, workflow, instructions))
            if variables:
                run.set_variables(variables)

        result = run._advance(move)
        ended = [ActivityChange(task_id, activity_id, self.model.elements[task.task_spec.bpmn_id].name, activity_type,
                                started=False, ended=True, canceled=True)
                 for task_id, task in nodes.items() if task_id not in kept
                 for activity_id, activity_type in [activity_of(self.model, task)]]
        changes = ended + [change for change in result.changes if change.activity_instance_id not in kept]
        return run, replace(result, changes=tuple(changes), user_tasks_before=open_before)

    def cancel(self) -> StepResult:
        before, open_before = self._states(), self._open_user_task_ids()
        with logging_step() as log:
            self.workflow.cancel()
            return self._result(self._changes(before), log, open_before)

    def _on_clock(self) -> contextlib.AbstractContextManager[None]:
        return on_clock(self.context.clock, self.context.zone, self.context.timer_limits, self.model.semantics)

    def snapshot(self) -> StepResult:
        """What the instance waits for, after a change that ran no engine step (variables set by an
        operator, timers moved to a recomputed deadline)."""
        with logging_step() as log, self._on_clock():
            return self._result([], log, self._open_user_task_ids())

    # -- internals ------------------------------------------------------------------------------
    def _states(self) -> dict[str, int]:
        return {str(task.id): task.state for task in self._all_tasks()}

    def _engine_work_pending(self) -> bool:
        return any(task.has_state(TaskState.READY) and not task.task_spec.manual for task in self._all_tasks())

    def _advance(self, action: Callable[[], Any] | None) -> StepResult:
        before, open_before = self._states(), self._open_user_task_ids()
        # Only the action's tasks need it here: a task the engine runs is taken as it starts.
        self._held = {task.id: dict(task.data) for task in self._frontier()} if action is not None else {}
        cpu_limit = time.thread_time() + self.context.cpu_seconds

        def within_cpu_budget(task: Task) -> None:
            if time.thread_time() > cpu_limit:
                raise ProcessExecutionFailed(
                    f"activity '{task.task_spec.bpmn_id}': the process did not come to rest within "
                    f"{self.context.cpu_seconds:g} s of computation (a loop without a wait state?)",
                    details={"activityId": task.task_spec.bpmn_id})

        with logging_step() as log, self._on_clock():
            try:
                if action is not None:
                    action()
                    # What the action completed (a task worked, an event caught) changed the case's
                    # variables for every token, in the order it completed them.
                    for task in sorted((task for task in self._all_tasks() if task.has_state(TaskState.COMPLETED)
                                        and before.get(str(task.id)) != TaskState.COMPLETED),
                                       key=lambda task: task.last_state_change):
                        self._share_changes(task)
                # A timer that falls due while steps run is only seen by the next refresh: repeat until
                # the instance rests on user tasks or waiting events.
                for _ in range(_MAX_ROUNDS):
                    self.workflow.refresh_timers()
                    self._fire_conditions()
                    started = start_thrown_handlers(self.workflow)
                    if not started and not self._engine_work_pending():
                        break
                    # An error or escalation thrown by the task just run starts its event subprocess
                    # before the scope it cancels goes on.
                    self._engine_steps(within_cpu_budget)
                else:
                    raise ProcessExecutionFailed(f"the process does not come to rest after {_MAX_ROUNDS} rounds")
                uncaught = self._uncaught_error()
            except SpiffWorkflowException as error:
                raise _execution_error(error) from None
            except ExpressionError as error:
                raise ProcessExecutionFailed(str(error)) from None
            except (TypeError, ValueError, AttributeError) as error:
                # The library reports some bad values (a timer text that is no date) with plain errors.
                reason = plain(str(error), "a value has the wrong kind or is out of range")
                raise ProcessExecutionFailed(f"the process cannot advance: {reason}") from None
            return self._result(self._changes(before), log, open_before, uncaught)

    def _engine_steps(self, within_cpu_budget: Callable[[Task], None]) -> None:
        # The library walks the subprocesses it found active before running any of them; when one of
        # them cancels the activity of others (an instance of a multi-instance subprocess throws the
        # error its boundary event catches), those others must not run on, nor be updated.
        def did_complete_task(task: Task) -> None:
            self._share_changes(task)
            start_thrown_handlers(self.workflow)

        def will_complete_task(task: Task) -> None:
            self._held[task.id] = dict(task.data)
            within_cpu_budget(task)
            if task.workflow is not self.workflow and self._in_cancelled_scope(task.workflow):
                raise _CancelledScope

        while True:
            try:
                self.workflow.do_engine_steps(will_complete_task=will_complete_task,
                                              did_complete_task=did_complete_task)
                return
            except (TaskNotFoundException, _CancelledScope):
                if not self._drop_orphaned_subprocesses():
                    raise

    def _share_changes(self, task: Task) -> None:
        """The case's variables the completed task changed are given to every other token, as in
        Camunda, where they are the instance's. The library keeps a copy of the variables per token
        and a join merges the copies: a branch's stale copy would otherwise undo what another branch
        set (its own variables, an instance's of a multi-instance activity, stay its own)."""
        # Compared with what it held before it ran (its predecessor's data, for a task run before
        # these were kept), so that a value set back to an earlier one is a change too.
        before = self._held.pop(task.id, None)
        if before is None:
            if task.parent is None:
                return
            before = task.parent.data
        own = set(instance_locals(task))
        changed = {name: value for name, value in task.data.items()
                   if name not in own and (name not in before or before[name] != value)}
        if not changed:
            return
        others = [other for other in self._frontier() if other is not task]
        # A variable an enclosing subprocess has as its own (an input parameter, an instance's of a
        # multi-instance subprocess) is changed there, as in Camunda, and seen inside it only.
        everywhere = dict(changed)
        for workflow, names in self._scopes(task):
            scoped = {name: everywhere.pop(name) for name in names & set(everywhere)}
            if scoped:
                self._write_case_variables([other for other in others if _within(other, workflow)], scoped,
                                           scope=workflow)
        if everywhere:
            self._write_case_variables(others, everywhere)

    def _scopes(self, task: Task, outermost: Any = None) -> list[tuple[Any, set[str]]]:
        """The subprocesses around the task, innermost first, up to `outermost` (the process), each
        with the variables it has as its own."""
        scopes: list[tuple[Any, set[str]]] = []
        workflow = task.workflow
        while workflow is not (outermost or self.workflow) and workflow.parent_task_id is not None:
            owner = self.workflow.get_task_from_id(workflow.parent_task_id)
            scopes.append((workflow, set(instance_locals(owner))))
            workflow = owner.workflow
        return scopes

    def _in_cancelled_scope(self, workflow: Any) -> bool:
        while workflow is not self.workflow:
            try:
                workflow = self.workflow.get_task_from_id(workflow.parent_task_id).workflow
            except TaskNotFoundException:
                return True
        return False

    def _drop_orphaned_subprocesses(self) -> bool:
        """Forget the subprocesses whose activity is gone from the instance, with the events they threw
        that nothing caught (the cancelled instances' own errors); whether there were any."""
        dropped = []
        while orphans := [parent_id for parent_id, subprocess in self.workflow.subprocesses.items()
                          if self._in_cancelled_scope(subprocess)]:
            dropped += [self.workflow.subprocesses.pop(parent_id) for parent_id in orphans]
        self.workflow.bpmn_events = [event for event in self.workflow.bpmn_events
                                     if not any(event.target is subprocess for subprocess in dropped)]
        return bool(dropped)

    def _uncaught_error(self) -> ThrownError | None:
        """The BPMN error thrown in the step that nothing of the instance caught (the library keeps the
        events it could not deliver); the activity that called the instance may catch it."""
        errors = [event.event_definition for event in self.workflow.get_events()
                  if isinstance(event.event_definition, ErrorEventDefinition)]
        return ThrownError(errors[0].code) if errors else None

    def _open_user_task_ids(self) -> frozenset[str]:
        return frozenset(str(task.id) for task in self._all_tasks()
                         if task.has_state(TaskState.READY) and task.task_spec.bpmn_id in self.model.user_tasks)

    def _result(self, changes: list[ActivityChange], log: StepLog, open_before: frozenset[str],
                uncaught_error: ThrownError | None = None) -> StepResult:
        # What the instance waits for is read inside the step: due dates call the deadline functions,
        # whose reports belong to it. Processes that cannot have external tasks or message and signal
        # catches spare every step those walks.
        return StepResult(
            changes=tuple(changes), completed=self.completed, user_tasks=tuple(self.open_user_tasks()),
            external_tasks=tuple(self.open_external_tasks()) if self.model.external_tasks else (),
            timers=tuple(self.pending_timers()),
            waits=tuple(self.event_waits()) if self.model.catches_messages_or_signals else (),
            deadlines=tuple(log.deadlines), register_reads=tuple(log.register_reads), decisions=tuple(log.decisions),
            signals=tuple(log.signals), calls=tuple(log.calls), uncaught_error=uncaught_error,
            user_tasks_before=open_before)

    def _changes(self, before: Mapping[str, int]) -> list[ActivityChange]:
        changes = []
        for task in self._all_tasks():
            spec = task.task_spec
            bpmn_id = spec.bpmn_id
            if not bpmn_id or bpmn_id not in self.model.elements:
                continue
            task_id = str(task.id)
            old = before.get(task_id)
            # A boundary event happens when it fires; one that only listened leaves no trace, as in Camunda.
            active = _ACTIVE & ~TaskState.WAITING if isinstance(spec, BoundaryEvent) else _ACTIVE
            if isinstance(spec, BoundaryEvent) and task.has_state(TaskState.CANCELLED):
                continue
            was_active = old is not None and bool(old & (active | TaskState.FINISHED_MASK))
            now_active = task.has_state(active | TaskState.FINISHED_MASK)
            was_finished = old is not None and bool(old & TaskState.FINISHED_MASK)
            now_finished = task.has_state(TaskState.FINISHED_MASK)
            started = now_active and not was_active and not task.has_state(TaskState.CANCELLED)
            ended = now_finished and not was_finished and (was_active or started)
            if started or ended:
                info = self.model.elements[bpmn_id]
                # A multi-instance activity is its instances inside a body, as Camunda's history shows it.
                activity_id, activity_type = ((f"{bpmn_id}#multiInstanceBody", "multiInstanceBody")
                                              if isinstance(spec, MultiInstanceTask) else (bpmn_id, info.activity_type))
                changes.append(ActivityChange(task_id, activity_id, info.name, activity_type, started, ended,
                                              task.has_state(TaskState.CANCELLED)))
        return changes


def _script_engine(model: ProcessModel, context: RunContext) -> SafeScriptEngine:
    return SafeScriptEngine(context.functions, model.condition_texts, context.decisions, context.instance)


def _execution_error(error: SpiffWorkflowException) -> ProcessExecutionFailed:
    task_spec = getattr(error, "task_spec", None)
    activity = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", None)
    message = plain(str(error), "the element cannot run")
    if activity:
        message = f"activity '{activity}': {message}"
    return ProcessExecutionFailed(message, details={"activityId": activity})


def schedule_start_timer(model: ProcessModel, start_event: str, context: RunContext) -> tuple[datetime, dict | None]:
    """The first due instant of a timer start event (and its cycle), counted from the clock's now."""
    info = next((start for start in model.start_events if start.id == start_event and start.kind == "timer"), None)
    if info is None:
        raise NotFound(f"process '{model.key}' has no timer start event '{start_event}'")
    with on_clock(context.clock, context.zone, context.timer_limits, model.semantics):
        try:
            value = compile_template(info.timer_text or "").evaluate({}, context.functions)
            return start_timer_schedule(info.timer_kind or "", value, context.clock.now(), context.timer_limits)
        except (ExpressionError, ValueError, TypeError) as error:
            raise ProcessExecutionFailed(f"timer start event '{start_event}' of '{model.key}': "
                                         f"{plain(str(error), 'the timer cannot be read')}",
                                         details={"activityId": start_event}) from None


def _within(task: Task, workflow: Any) -> bool:
    """Whether the task runs in the (sub)workflow, or in one nested in it."""
    inner = task.workflow
    while inner is not workflow:
        if inner.parent_workflow is None:
            return False
        inner = inner.parent_workflow
    return True


def _rereads_predecessor(task: Any) -> bool:
    """Whether the task is a token waiting at a catch event, an event-based gateway or a join, which
    the library gives its predecessor's data again each time it looks at it, and when a join goes on
    (a boundary event re-reads its activity's, on purpose: ProcessRun._case_variables)."""
    return (isinstance(task, Task) and task.has_state(TaskState.WAITING) and task.parent is not None
            and (isinstance(task.task_spec, UnstructuredJoin) or isinstance(task.task_spec, CatchingEvent)
                 and not isinstance(task.task_spec, BoundaryEvent)))


def _gateway_slot(task: Task, definition: EventDefinition) -> int | None:
    """Inside an event-based gateway, the index of the branch whose event the definition is."""
    inner = getattr(task.task_spec.event_definition, "event_definitions", None)
    if inner is None:
        return None
    # By identity: the library finds two timers of one name, or two conditions, equal.
    return next(index for index, own in enumerate(inner) if own is definition)


def _narrowed_change(narrowing: ConditionNarrowing | None, store: dict[str, Any], key: str,
                     variables: Mapping[str, Any]) -> bool | None:
    """For a conditional event narrowed to a variable or kinds of change: False when nothing it
    listens to changed since it was last evaluated (it is not evaluated), True when something did;
    None for the first evaluation (its token arrived or its scope started) and for an event that is
    not narrowed. What was seen is kept in `store` under `key`, as a short digest per variable."""
    if narrowing is None or not narrowing.narrows:
        return None
    names = [narrowing.variable_name] if narrowing.variable_name is not None else list(variables)
    seen = {name: _digest(variables[name]) for name in names if name in variables}
    before = store.get(key)
    store[key] = seen
    if before is None:
        return None
    kinds = {"create" if name not in before else "update" for name in seen if before.get(name) != seen[name]}
    kinds |= {"delete" for name in before if name not in seen}
    return bool(kinds) and (not narrowing.variable_events or bool(kinds & narrowing.variable_events))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
