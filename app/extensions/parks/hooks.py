"""What processes ask of the park register and the expert pool, through camunda:properties and
expression functions."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ElementInfo, OpenUserTask, ProcessModel
from app.errors import InvalidProcessModel, InvalidRequest, ProcessExecutionFailed
from app.extensions.parks.experts import MAX_DRAW, PURPOSES, draw_in
from app.extensions.parks.register import STATUSES, check_in, record_in
from app.persistence.models import ExpertDraw, ParkStanding

STANDING_PROPERTY, CAUSE_PROPERTY = "parkStanding", "parkStandingCause"
DRAW_PROPERTY, DRAW_SIZE_PROPERTY = "expertDraw", "expertCount"
# The standings a process may decide from each earlier one (None: a park not yet on the register);
# a creation after a revocation is also held to the ban (ECO-19).
DECIDED_FROM = {"creating": (None, "revoked", "stopped", "incomplete"), "named": ("creating", "named", "warned"),
                "warned": ("named",), "revoked": ("named", "warned"), "stopped": ("creating",),
                "incomplete": ("creating",)}


def check_process_properties(resource: str, elements: Mapping[str, ElementInfo]) -> None:
    """Refuse at deployment what would fail later: an unknown standing or purpose, a bad draw size."""
    def refuse(element: ElementInfo, reason: str) -> InvalidProcessModel:
        return InvalidProcessModel(f"{resource}: element '{element.id}' {reason}",
                                   details={"resource": resource, "element": element.id, "reason": reason})

    for element in elements.values():
        properties = element.properties
        if STANDING_PROPERTY in properties and properties[STANDING_PROPERTY] not in STATUSES:
            raise refuse(element, f"{STANDING_PROPERTY} must be one of {', '.join(STATUSES)}")
        if properties.get(STANDING_PROPERTY) == "revoked" and not properties.get(CAUSE_PROPERTY):
            raise refuse(element, f"records a revocation: {CAUSE_PROPERTY} must name the variable of its cause")
        if DRAW_PROPERTY in properties:
            if element.activity_type != "userTask":
                raise refuse(element, f"{DRAW_PROPERTY} belongs on a user task")
            if properties[DRAW_PROPERTY] not in PURPOSES:
                raise refuse(element, f"{DRAW_PROPERTY} must be one of {', '.join(PURPOSES)}")
            size = properties.get(DRAW_SIZE_PROPERTY, "")
            if not size.isdigit() or not 1 <= int(size) <= MAX_DRAW:
                raise refuse(element, f"{DRAW_SIZE_PROPERTY} must be a whole number from 1 to {MAX_DRAW}")


def _park_variable(variables: Mapping[str, Any], name: str, element: str) -> str:
    value = variables.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ProcessExecutionFailed(f"element '{element}' concerns the park register, but the variable "
                                     f"'{name}' is not set", details={"activityId": element})
    return value


def record_decided(session: Session, element: ElementInfo, variables: Mapping[str, Any], *, today: date,
                   now: datetime, process_instance_id: str) -> ParkStanding:
    """Record the standing the completed element names (`parkStanding`)."""
    status = element.properties[STANDING_PROPERTY]
    cause_variable = element.properties.get(CAUSE_PROPERTY)
    cause = variables.get(cause_variable) if cause_variable else None
    park_id = _park_variable(variables, "park_id", element.id)
    park = session.get(ParkStanding, park_id)
    if (park.status if park else None) not in DECIDED_FROM[status]:
        raise ProcessExecutionFailed(
            f"element '{element.id}' would record park '{park_id}' as {status}, but the park is "
            f"{park.status if park else 'not on the register'}: a park becomes {status} only from "
            f"{' or '.join(str(before or 'no entry') for before in DECIDED_FROM[status])}",
            details={"activityId": element.id})
    try:
        return record_in(session, park_id, park_name=_park_variable(variables, "park_name", element.id),
                         province=_park_variable(variables, "province", element.id), status=status, since=today,
                         cause=cause, process_instance_id=process_instance_id, now=now)
    except InvalidRequest as error:
        raise ProcessExecutionFailed(f"element '{element.id}': {error}", details={"activityId": element.id}) from None


def draw_for_task(session: Session, element: ElementInfo, variables: Mapping[str, Any], *, task_id: str,
                  now: datetime, process_instance_id: str) -> ExpertDraw:
    """Draw the experts who become the candidates of the opening user task (`expertDraw`)."""
    try:
        return draw_in(session, _park_variable(variables, "park_id", element.id), element.properties[DRAW_PROPERTY],
                       int(element.properties[DRAW_SIZE_PROPERTY]), now=now,
                       process_instance_id=process_instance_id, task_id=task_id, activity_id=element.id)
    except InvalidRequest as error:
        raise ProcessExecutionFailed(f"user task '{element.id}': {error}", details={"activityId": element.id}) from None


def register_functions(session: Session, today: Callable[[], date]) -> dict[str, Callable[..., Any]]:
    """Expression functions that read the register within the step's unit of work."""
    def park_id_of(value: Any, function: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{function} needs a park id, got {value!r}")
        return value.strip()

    def application_bar(park_id: Any) -> str:
        return check_in(session, park_id_of(park_id, "parkApplicationBar"), today()).reason or ""

    def standing(park_id: Any) -> str:
        # The park's standing on the register (STATUSES), or "none" for a park not on it.
        park = session.get(ParkStanding, park_id_of(park_id, "parkStanding"))
        return park.status if park is not None else "none"

    return {"parkApplicationBar": application_bar, "parkStanding": standing}


class ParkRegister(StepHook):
    """ECO-18, ECO-19: an element with `parkStanding` records, when it completes, the standing of the
    case's park; `parkApplicationBar` and `parkStanding` read the register in expressions."""

    def check_model(self, model: ProcessModel) -> None:
        check_process_properties(model.resource_name, model.elements)

    def functions(self, session: Session, today: Callable[[], date]) -> Mapping[str, Callable[..., Any]]:
        return register_functions(session, today)

    def on_elements_ended(self, step: Step, ended: Sequence[ActivityChange]) -> None:
        for change, element in step.ended_with(ended, STANDING_PROPERTY):
            park = record_decided(step.session, element, step.variables, today=step.today, now=step.now,
                                  process_instance_id=step.instance.id)
            step.record("park.standing", activity_id=element.id, task_id=change.activity_instance_id,
                        park_id=park.park_id, status=park.status, since=park.since.isoformat(), cause=park.cause,
                        ban_until=park.ban_until.isoformat() if park.ban_until else None)


class ExpertDraws(StepHook):
    """ECO-20: a user task with `expertDraw` is offered, when it opens, to experts drawn for the park."""

    def on_tasks_opened(self, step: Step, tasks: Sequence[OpenUserTask]) -> Mapping[str, Sequence[str]]:
        drawn: dict[str, list[str]] = {}
        for task in tasks:
            element = step.run.model.elements[task.task_definition_key]
            if DRAW_PROPERTY not in element.properties:
                continue
            draw = draw_for_task(step.session, element, step.variables, task_id=task.id, now=step.now,
                                 process_instance_id=step.instance.id)
            drawn[task.id] = list(draw.drawn)
            step.record("experts.drawn", activity_id=element.id, task_id=task.id, draw_id=draw.id,
                        park_id=draw.park_id, purpose=draw.purpose, drawn=list(draw.drawn),
                        excluded=list(draw.excluded), algorithm=draw.algorithm)
        return drawn
