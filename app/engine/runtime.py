"""Running one process instance: start, restore, complete user tasks, report what changed.

A ProcessRun wraps one SpiffWorkflow workflow for the length of one unit of work; it is never shared
between threads. Everything it hands out is plain data (dataclasses, dicts, ISO strings).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Callable, Iterator, Mapping
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from app.clock import Clock
from app.engine.expressions import ExpressionError
from app.engine.forms import parse_datetime
from app.engine.model import ProcessModel, UserTaskDefinition
from app.engine.script_engine import SafeScriptEngine
from app.engine.serialization import dump_workflow, load_workflow
from app.engine.timers import on_clock
from app.errors import Conflict, NotFound, ProcessExecutionFailed

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_MAX_ROUNDS = 1000


@dataclass(frozen=True)
class RunContext:
    """What a run needs from its surroundings: the clock, the functions expressions may call, and the
    zone in which a date written without an offset is read."""

    clock: Clock
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    zone: tzinfo = timezone.utc
    # Deadlines the functions computed during the run (with their rule and calendar version), for the
    # caller to record with the instance.
    deadlines: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ActivityChange:
    """An activity (flow node) that started and/or ended during one unit of work."""

    activity_instance_id: str
    activity_id: str
    activity_name: str | None
    activity_type: str
    started: bool
    ended: bool
    canceled: bool


@dataclass(frozen=True)
class OpenUserTask:
    id: str
    task_definition_key: str
    name: str | None
    assignee: str | None
    candidate_users: tuple[str, ...]
    candidate_groups: tuple[str, ...]
    due: datetime | None
    follow_up: datetime | None
    priority: int
    form_key: str | None
    documentation: str | None


@dataclass(frozen=True)
class PendingTimer:
    task_id: str
    activity_id: str
    due: datetime | None


def _identities(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def _as_datetime(value: Any, what: str, zone: tzinfo) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    parsed = parse_datetime(str(value), zone)
    if parsed is None:
        raise ExpressionError(f"{what} must give a date, got '{value}'")
    return parsed


class ProcessRun:
    def __init__(self, model: ProcessModel, workflow: BpmnWorkflow, context: RunContext) -> None:
        self.model = model
        self.workflow = workflow
        self.context = context

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def start(cls, model: ProcessModel, variables: Mapping[str, Any],
              context: RunContext) -> tuple["ProcessRun", list[ActivityChange]]:
        workflow = BpmnWorkflow(model.spec, model.subprocess_specs,
                                script_engine=SafeScriptEngine(context.functions, model.condition_texts))
        run = cls(model, workflow, context)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(variables)
        return run, run._advance(None)

    @classmethod
    def restore(cls, model: ProcessModel, state: str, context: RunContext) -> "ProcessRun":
        workflow = load_workflow(state, model.spec, model.subprocess_specs)
        workflow.script_engine = SafeScriptEngine(context.functions, model.condition_texts)
        return cls(model, workflow, context)

    def serialize(self) -> str:
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
        merged: dict[str, Any] = dict(self.workflow.data)
        for task in sorted(self._frontier(), key=lambda t: t.last_state_change):
            merged.update(task.data)
        return merged

    def set_variables(self, values: Mapping[str, Any], removals: tuple[str, ...] = ()) -> None:
        targets = self._frontier() or [self.workflow]
        for target in targets:
            target.data.update(values)
            for name in removals:
                target.data.pop(name, None)

    def open_user_tasks(self) -> list[OpenUserTask]:
        tasks = []
        for task in self._all_tasks():
            definition = self.model.user_tasks.get(task.task_spec.bpmn_id or "")
            if definition is not None and task.has_state(TaskState.READY):
                tasks.append(self._describe_user_task(task, definition))
        return tasks

    def _describe_user_task(self, task, definition: UserTaskDefinition) -> OpenUserTask:
        engine: SafeScriptEngine = self.workflow.script_engine

        def value(template, what):
            if template is None:
                return None
            try:
                return template.evaluate(task.data, engine.functions)
            except ExpressionError as error:
                raise ProcessExecutionFailed(
                    f"user task '{definition.id}': {what} cannot be evaluated: {error}",
                    details={"activityId": definition.id}) from None

        try:
            zone = self.context.zone
            due = _as_datetime(value(definition.due_date, "camunda:dueDate"), "camunda:dueDate", zone)
            follow_up = _as_datetime(value(definition.follow_up_date, "camunda:followUpDate"),
                                     "camunda:followUpDate", zone)
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
        return OpenUserTask(
            id=str(task.id),
            task_definition_key=definition.id,
            name=definition.name,
            assignee=str(assignee) if assignee not in (None, "") else None,
            candidate_users=_identities(value(definition.candidate_users, "camunda:candidateUsers")),
            candidate_groups=_identities(value(definition.candidate_groups, "camunda:candidateGroups")),
            due=due,
            follow_up=follow_up,
            priority=priority_number,
            form_key=definition.form_key,
            documentation=definition.documentation,
        )

    def pending_timers(self) -> list[PendingTimer]:
        timers = []
        for task in self._all_tasks():
            spec = task.task_spec
            if not isinstance(spec, CatchingEvent) or not task.has_state(TaskState.WAITING):
                continue
            definition = getattr(spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = task.internal_data.get("event_value")
            if isinstance(value, dict):
                if value.get("cycles") == 0:
                    continue  # a cycle that has run all its repetitions waits for nothing more
                value = value.get("next")
            due = parse_datetime(value, self.context.zone) if isinstance(value, str) else None
            timers.append(PendingTimer(str(task.id), spec.bpmn_id, due))
        return timers

    # -- commands -------------------------------------------------------------------------------
    def _ready_user_task(self, task_id: str):
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, TypeError, TaskNotFoundException):
            task = None
        if task is None or (task.task_spec.bpmn_id or "") not in self.model.user_tasks:
            raise NotFound(f"No task found with id '{task_id}'")
        if not task.has_state(TaskState.READY):
            raise Conflict(f"Task '{task_id}' is no longer open")
        return task

    def complete_user_task(self, task_id: str, variables: Mapping[str, Any]) -> list[ActivityChange]:
        task = self._ready_user_task(task_id)
        task.data.update(variables)
        return self._advance(task)

    def fire_due_timers(self) -> list[ActivityChange]:
        return self._advance(None)

    def cancel(self) -> list[ActivityChange]:
        before = self._states()
        self.workflow.cancel()
        return self._changes(before)

    # -- internals ------------------------------------------------------------------------------
    def _states(self) -> dict[str, int]:
        return {str(task.id): task.state for task in self._all_tasks()}

    def _engine_work_pending(self) -> bool:
        return any(task.has_state(TaskState.READY) and not task.task_spec.manual for task in self._all_tasks())

    def _advance(self, completing) -> list[ActivityChange]:
        before = self._states()
        with on_clock(self.context.clock, self.context.zone):
            try:
                if completing is not None:
                    completing.run()
                # A timer that falls due while steps run is only seen by the next refresh: repeat until
                # the instance rests on user tasks or waiting events.
                for _ in range(_MAX_ROUNDS):
                    self.workflow.refresh_timers()
                    if not self._engine_work_pending():
                        break
                    self.workflow.do_engine_steps()
                else:
                    raise ProcessExecutionFailed(f"the process does not come to rest after {_MAX_ROUNDS} rounds")
            except SpiffWorkflowException as error:
                raise _execution_error(error) from None
            except ExpressionError as error:
                raise ProcessExecutionFailed(str(error)) from None
            except (TypeError, ValueError, AttributeError) as error:
                # The library reports some bad values (a timer text that is no date) with plain errors.
                raise ProcessExecutionFailed(f"the process cannot advance: {error}") from None
        return self._changes(before)

    def _changes(self, before: Mapping[str, int]) -> list[ActivityChange]:
        changes = []
        for task in self._all_tasks():
            spec = task.task_spec
            bpmn_id = spec.bpmn_id
            if not bpmn_id or bpmn_id not in self.model.elements:
                continue
            task_id = str(task.id)
            old = before.get(task_id)
            was_active = old is not None and bool(old & (_ACTIVE | TaskState.FINISHED_MASK))
            now_active = task.has_state(_ACTIVE | TaskState.FINISHED_MASK)
            was_finished = old is not None and bool(old & TaskState.FINISHED_MASK)
            now_finished = task.has_state(TaskState.FINISHED_MASK)
            started = now_active and not was_active and not task.has_state(TaskState.CANCELLED)
            ended = now_finished and not was_finished and (was_active or started)
            if started or ended:
                info = self.model.elements[bpmn_id]
                changes.append(ActivityChange(task_id, bpmn_id, info.name, info.activity_type, started, ended,
                                              task.has_state(TaskState.CANCELLED)))
        return changes


def _execution_error(error: SpiffWorkflowException) -> ProcessExecutionFailed:
    task_spec = getattr(error, "task_spec", None)
    activity = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", None)
    message = str(error).split("\n")[0]
    if activity:
        message = f"activity '{activity}': {message}"
    return ProcessExecutionFailed(message, details={"activityId": activity})
