"""Behaviour a process switches on with camunda:properties, added to the step without editing it.

Each extension of the service (the park register, expert draws, the agency register, spawning one
case per listed item, regions, confidential readers), the broadcast of the signals a process throws
(app.cases.events) and the instances call activities start (app.cases.call_activities), is a
StepHook registered in the composition root (app.main). The core of the step (app.cases.instances)
calls every hook at the same points: when a file is deployed, when a run needs its expression
functions, when a case starts, when user tasks open, when elements end, when signals are thrown,
around the saving of a step and when an instance is deleted. Adding a property's behaviour is a
new hook, with no edit to the core, the context or the deployer.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from app.engine import ActivityChange, ElementInfo, OpenUserTask, ProcessModel, ProcessRun, StepResult, ThrownSignal

if TYPE_CHECKING:
    from app.context import Services
    from app.persistence.models import ProcessInstance


@dataclass(frozen=True)
class Step:
    """What a hook may touch of one step of a case: its unit of work, the case, its run and result,
    and the core's means to write what the hook decides."""

    services: Services
    session: Session
    instance: ProcessInstance
    run: ProcessRun
    result: StepResult
    now: datetime
    # Who gave the command the step belongs to (None: the service itself, a worker).
    user_id: str | None
    # Appends an event to the case's history: record(kind, activity_id=..., task_id=..., **payload).
    record: Callable[..., None]
    # Adds groups or users, as ("group" | "user", identity), to those who take part in the case.
    add_participants: Callable[[Iterable[tuple[str, str]]], None]
    # Starts a case of the latest version of a process key, in this unit of work:
    # start(process_key, variables, business_key) -> the new instance.
    start: Callable[[str, Mapping[str, Any], str | None], ProcessInstance]

    @property
    def today(self) -> date:
        return self.now.astimezone(self.run.context.zone).date()

    @cached_property
    def variables(self) -> dict[str, Any]:
        """The case's variables after the step, read once for every hook that needs them."""
        return self.run.variables()

    def ended_with(self, ended: Sequence[ActivityChange], name: str) -> list[tuple[ActivityChange, ElementInfo]]:
        """The elements that ended in the step and carry the camunda:property `name`."""
        return [(change, element) for change in ended
                if (element := self.run.model.elements.get(change.activity_id)) is not None
                and name in element.properties]


class StepHook:
    """An extension of the step; every method is optional and does nothing unless overridden."""

    def check_model(self, model: ProcessModel) -> None:
        """Refuse at deploy what would fail later (raise InvalidProcessModel naming the element)."""

    def functions(self, session: Session, today: Callable[[], date]) -> Mapping[str, Callable[..., Any]]:
        """Expression functions that read the service's registers in the step's unit of work; every
        call is recorded with its answer, so that a replay gives the same answers."""
        return {}

    def region_of(self, model: ProcessModel, variables: Mapping[str, Any]) -> str | None:
        """The region a new case of the model belongs to, if this extension decides it."""
        return None

    def on_started(self, step: Step) -> None:
        """A case has just started."""

    def on_tasks_opened(self, step: Step, tasks: Sequence[OpenUserTask]) -> Mapping[str, Sequence[str]]:
        """User tasks have opened; answers extra candidate users by task id."""
        return {}

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        """Elements have completed in the step (not those cancelled)."""

    def on_signals_thrown(self, step: Step, signals: Sequence[ThrownSignal]) -> None:
        """The process threw signals in the step, which is saved (app.cases.events broadcasts them)."""

    # The instances a step starts or ends beside its own (app.cases.call_activities): these get the
    # unit of work itself, as they save other instances' steps in it.
    def before_saving(self, services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
                      result: StepResult, now: datetime, user_id: str | None) -> StepResult:
        """The step is about to be saved; answers the step to save (it may have grown)."""
        return result

    def after_saving(self, services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
                     result: StepResult, now: datetime, user_id: str | None) -> None:
        """The step's rows are written (its activities among them)."""

    def on_deleted(self, services: Services, session: Session, instance: ProcessInstance, reason: str | None,
                   now: datetime, user_id: str | None, *, by_command: bool, skip_called: bool) -> None:
        """The instance was deleted: by a command (`by_command`), or as part of another instance's."""
