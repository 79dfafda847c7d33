"""What one step of an instance did, handed back by every command of a run.

A step is one command on a run (start, complete a task, deliver an event, fire timers, cancel) and
the engine work it sets off. Its result is plain data that the caller writes in one unit of work:
the activities that started and ended, what the instance now waits for (user tasks, external tasks,
timers, messages and signals), and what the step computed on the way — deadlines and register reads
reported by the expression functions the caller supplied, decisions evaluated by business rule tasks,
signals thrown by the process (the caller broadcasts them in the same unit of work).
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.engine.decisions import DecisionRecord


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
    # Suspended by an operator (the job, not the instance): it does not fire, due or not.
    held: bool = False
    priority: int = 0


@dataclass(frozen=True)
class TimerJob:
    """What a waiting timer is, for the commands on it as a job: its activity, where it waits
    (boundary, intermediate, gateway, event-subprocess-start) and whether it repeats."""

    id: str
    activity_id: str
    kind: str
    cycle: bool
    due: datetime | None


@dataclass(frozen=True)
class EventWait:
    """A token waiting for a message or a signal of a name (a catch event, receive task, boundary
    event or a branch of an event-based gateway)."""

    task_id: str
    activity_id: str
    kind: str  # "message" or "signal"
    event_name: str


@dataclass(frozen=True)
class ThrownSignal:
    """A signal a throw or end event of the instance threw during the step, for the service to
    broadcast. `waiting` are the instance's own tokens that waited for it at that moment: as in
    Camunda, a token that reaches a catch of the signal later in the same step does not receive it."""

    name: str
    activity_id: str
    waiting: frozenset[str]
    # What its camunda:in mappings pass: variables for every receiver, a business key for started instances.
    variables: Mapping[str, Any] = field(default_factory=dict)
    business_key: str | None = None


@dataclass(frozen=True)
class OpenExternalTask:
    id: str
    activity_id: str
    topic: str
    priority: int


@dataclass(frozen=True)
class CallRequest:
    """A call activity reached in the step: it waits until an instance of `process_key` (resolved as
    `binding` says) has run with `variables` and ended (app.engine.call_activities)."""

    task_id: str  # the waiting token of the call activity (its activity instance)
    activity_id: str
    process_key: str
    binding: str  # latest, deployment, version or versionTag
    version: int | None
    version_tag: str | None
    variables: dict[str, Any]
    business_key: str | None


@dataclass(frozen=True)
class ThrownError:
    """A BPMN error that ended the instance uncaught: the activity that called it may catch it."""

    code: str | None


@dataclass(frozen=True)
class StepResult:
    changes: tuple[ActivityChange, ...]
    completed: bool
    user_tasks: tuple[OpenUserTask, ...]
    external_tasks: tuple[OpenExternalTask, ...]
    timers: tuple[PendingTimer, ...]
    waits: tuple[EventWait, ...]
    # What the expression functions reported (deadlines with their rule and calendar version, reads
    # of the service's registers with their answers) and the decisions evaluated, in order.
    deadlines: tuple[Any, ...] = ()
    register_reads: tuple[dict[str, Any], ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    signals: tuple[ThrownSignal, ...] = ()
    # The call activities reached, each waiting for an instance the service starts.
    calls: tuple[CallRequest, ...] = ()
    # The BPMN error that ended the instance with nothing of it catching the error.
    uncaught_error: ThrownError | None = None
    # The user tasks that were open before the step (their rows exist): the projection is brought up
    # to date from the difference, without reading it back.
    user_tasks_before: frozenset[str] = frozenset()

    @property
    def ended(self) -> tuple[ActivityChange, ...]:
        """The activities that completed in the step (not those cancelled)."""
        return tuple(change for change in self.changes if change.ended and not change.canceled)


@dataclass
class StepLog:
    """What the functions reported during a step, gathered until its result is made."""

    deadlines: list[Any] = field(default_factory=list)
    register_reads: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    signals: list[ThrownSignal] = field(default_factory=list)
    calls: list[CallRequest] = field(default_factory=list)


_log: contextvars.ContextVar[StepLog | None] = contextvars.ContextVar("step_log", default=None)


@contextlib.contextmanager
def logging_step() -> Iterator[StepLog]:
    log = StepLog()
    token = _log.set(log)
    try:
        yield log
    finally:
        _log.reset(token)


def report_deadline(deadline: Any) -> None:
    """Called by a deadline function during a step: the deadline is handed back with the step's
    result. Outside a step (a query that only reads) there is nothing to record it with."""
    log = _log.get()
    if log is not None:
        log.deadlines.append(deadline)


def report_register_read(read: dict[str, Any]) -> None:
    """Called by a function that read one of the service's registers, with its arguments and answer."""
    log = _log.get()
    if log is not None:
        log.register_reads.append(read)


def report_decision(decision: DecisionRecord) -> None:
    log = _log.get()
    if log is not None:
        log.decisions.append(decision)


def report_signal(signal: ThrownSignal) -> None:
    log = _log.get()
    if log is not None:
        log.signals.append(signal)


def report_call(request: CallRequest) -> None:
    log = _log.get()
    if log is not None:
        log.calls.append(request)
