"""The eco-industrial park register and the expert pool (seed 001, ECO-18, ECO-19, ECO-20).

The register keeps each park's standing: in creation, named, under an exit warning, revoked (with its
ECO-18 cause and the last day of its ECO-19 re-application ban), stopped or incomplete. The expert pool
keeps the experts, the conflicts they declared with parks (recusal, 回避) and every random draw,
recorded so that an auditor can recompute it from the row alone (see `rank`).

Processes drive both through camunda:properties, so that no process text runs as code:
- `parkStanding` on a flow node records that standing for the instance's park (variables `park_id`,
  `park_name`, `province`) when the node completes, with the cause held by the variable that
  `parkStandingCause` names, in the same unit of work as the step;
- `expertDraw` (a purpose) and `expertCount` on a user task draw that many experts for the park when
  the task opens and offer it to them as candidate users;
- the expression function `parkApplicationBar(park_id)` answers why the park may not apply for a new
  creation today, or an empty text when it may (ECO-01, ECO-19).
"""
from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.calendar import shift_months
from app.cases.hooks import Step, StepHook
from app.engine import ActivityChange, ElementInfo, OpenUserTask, ProcessModel
from app.errors import InvalidProcessModel, InvalidRequest, NotFound, ProcessExecutionFailed
from app.persistence.models import Expert, ExpertConflict, ExpertDraw, ParkStanding

if TYPE_CHECKING:
    from app.context import Services

STATUSES = ("creating", "named", "warned", "revoked", "stopped", "incomplete")
# Standings in which a park is in the programme: it cannot start a second creation (ECO-01).
IN_PROGRAMME = ("creating", "named", "warned")
# ECO-18 (art. 28 (一)-(七)); the first three bar a new creation application for 5 years, the others for 3.
REVOCATION_CAUSES = ("serious_pollution", "central_inspection", "data_fraud", "warning_not_rectified",
                     "no_management_body", "voluntary_withdrawal", "other")
FIVE_YEAR_CAUSES = frozenset(REVOCATION_CAUSES[:3])
PURPOSES = ("acceptance", "evaluation")
# The standings a park must have for a draw of each purpose: acceptance ends a creation (ECO-08..11),
# evaluation judges a named park or one under an exit warning (ECO-16, ECO-17).
DRAW_STANDINGS = {"acceptance": ("creating",), "evaluation": ("named", "warned")}
STANDING_PROPERTY, CAUSE_PROPERTY = "parkStanding", "parkStandingCause"
# The standings a process may decide from each earlier one (None: a park not yet on the register);
# a creation after a revocation is also held to the ban (ECO-19).
DECIDED_FROM = {"creating": (None, "revoked", "stopped", "incomplete"), "named": ("creating", "named", "warned"),
                "warned": ("named",), "revoked": ("named", "warned"), "stopped": ("creating",),
                "incomplete": ("creating",)}
DRAW_PROPERTY, DRAW_SIZE_PROPERTY = "expertDraw", "expertCount"
ALGORITHM = "sha256-rank-v1"
MAX_DRAW = 100


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidRequest(f"'{field}' must be one of {', '.join(allowed)}, not {value!r}")
    return value


@overload
def _text(value: str | None, field: str, *, limit: int = 255, required: Literal[True] = True) -> str: ...


@overload
def _text(value: str | None, field: str, *, limit: int = 255, required: bool) -> str | None: ...


def _text(value: str | None, field: str, *, limit: int = 255, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRequest(f"'{field}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"'{field}' must be a text of at most {limit} characters")
    return value.strip()


def ban_end(since: date, cause: str) -> date:
    """ECO-19: the last day of the re-application ban after a revocation on `since` (the day of the
    revocation is not counted; the period ends on the same day 5 or 3 years later)."""
    return shift_months(since, 12 * (5 if cause in FIVE_YEAR_CAUSES else 3))


# --- the register ---------------------------------------------------------------------------------

def record_standing(services: Services, park_id: str, *, park_name: str, province: str, status: str,
                    since: date, cause: str | None = None, process_instance_id: str | None = None,
                    user_id: str | None = None) -> ParkStanding:
    """Record a park's standing as an administrator states it."""
    with services.db.write() as session:
        now = services.clock.now()
        park = record_in(session, park_id, park_name=park_name, province=province, status=status, since=since,
                         cause=cause, process_instance_id=process_instance_id, now=now)
        ledger.record_admin(session, "park.standing", f"park:{park.park_id}", now, user_id, status=park.status,
                            since=park.since.isoformat(), cause=park.cause, province=park.province,
                            ban_until=park.ban_until.isoformat() if park.ban_until else None)
        return park


def record_in(session: Session, park_id: str, *, park_name: str, province: str, status: str, since: date,
              cause: str | None, process_instance_id: str | None, now: datetime) -> ParkStanding:
    """Record a park's standing within the caller's unit of work."""
    park_id = _text(park_id, "parkId", limit=64)
    park_name = _text(park_name, "parkName")
    province = _text(province, "province", limit=64)
    _one_of(status, STATUSES, "status")
    if status == "revoked":
        cause = _one_of(cause, REVOCATION_CAUSES, "cause")
    else:
        cause = _text(cause, "cause", required=False)
    park = session.get(ParkStanding, park_id)
    # A banned park can be in no other standing until its ban ends (stopping or failing a creation
    # presupposes one), so nothing recorded meanwhile can lift the ban.
    if status != "revoked" and park is not None and _banned(park, since):
        raise InvalidRequest(f"Park '{park_id}' cannot be recorded as {status} on {since}: {_ban_reason(park)}")
    if park is None:
        park = ParkStanding(park_id=park_id)
        session.add(park)
    park.park_name, park.province, park.status, park.since, park.cause = park_name, province, status, since, cause
    park.ban_until = ban_end(since, cause) if status == "revoked" and cause is not None else None
    park.decided_by_instance_id = process_instance_id
    park.updated = now
    return park


_Row = TypeVar("_Row")


def _read(services: Services, kind: type[_Row], key: str, missing: str) -> _Row:
    with services.db.read() as session:
        row = session.get(kind, key)
    if row is None:
        raise NotFound(missing)
    return row


def get_park(services: Services, park_id: str) -> ParkStanding:
    return _read(services, ParkStanding, park_id, f"No park '{park_id}' on the register")


def list_parks(services: Services, *, province: str | None = None, status: str | None = None) -> list[ParkStanding]:
    query = select(ParkStanding).order_by(ParkStanding.park_id)
    if province:
        query = query.where(ParkStanding.province == province)
    if status:
        query = query.where(ParkStanding.status == _one_of(status, STATUSES, "status"))
    with services.db.read() as session:
        return list(session.scalars(query))


def _banned(park: ParkStanding, on: date) -> bool:
    return park.status == "revoked" and park.ban_until is not None and on <= park.ban_until


def _ban_reason(park: ParkStanding) -> str:
    """Why a banned park (`_banned`) may not apply."""
    ban_until = park.ban_until
    if ban_until is None:
        raise ValueError(f"park '{park.park_id}' is not banned")
    years = 5 if park.cause in FIVE_YEAR_CAUSES else 3
    return (f"its naming was revoked on {park.since.isoformat()} for {park.cause} (ECO-18), so no new creation "
            f"application is accepted for {years} years (ECO-19): the ban ends on {ban_until.isoformat()}, "
            f"applications are accepted from {(ban_until + timedelta(days=1)).isoformat()}")


@dataclass(frozen=True)
class ApplicationCheck:
    park_id: str
    on: date
    allowed: bool
    reason: str | None
    status: str | None
    cause: str | None
    ban_until: date | None


def application_check(services: Services, park_id: str, on: date) -> ApplicationCheck:
    """ECO-01/ECO-19: may this park file a new creation application on `on`? Unknown parks may."""
    with services.db.read() as session:
        return check_in(session, park_id, on)


def check_in(session: Session, park_id: str, on: date) -> ApplicationCheck:
    park = session.get(ParkStanding, park_id)
    if park is None:
        return ApplicationCheck(park_id, on, True, None, None, None, None)
    reason = None
    if park.status in IN_PROGRAMME:
        reason = (f"the park is {park.status} since {park.since.isoformat()}: a park in creation, named or under "
                  "an exit warning cannot start a second creation")
    elif _banned(park, on):
        reason = _ban_reason(park)
    return ApplicationCheck(park_id, on, reason is None, reason, park.status, park.cause, park.ban_until)


# --- the expert pool ------------------------------------------------------------------------------

def add_expert(services: Services, expert_id: str, *, name: str, specialty: str, organization: str,
               active: bool = True, user_id: str | None = None) -> Expert:
    expert_id = _text(expert_id, "id", limit=64)
    expert = Expert(id=expert_id, name=_text(name, "name"), specialty=_text(specialty, "specialty"),
                    organization=_text(organization, "organization"), active=bool(active))
    with services.db.write() as session:
        if session.get(Expert, expert_id) is not None:
            raise InvalidRequest(f"An expert with id '{expert_id}' is already in the pool; "
                                 f"PUT /api/experts/{expert_id} updates it")
        expert.created = services.clock.now()
        session.add(expert)
        _record_expert(session, "expert.added", expert, expert.created, user_id)
    return expert


def _record_expert(session: Session, kind: str, expert: Expert, now: datetime, user_id: str | None) -> None:
    ledger.record_admin(session, kind, f"expert:{expert.id}", now, user_id, name=expert.name,
                        specialty=expert.specialty, organization=expert.organization, active=expert.active)


def update_expert(services: Services, expert_id: str, *, name: str | None = None, specialty: str | None = None,
                  organization: str | None = None, active: bool | None = None, user_id: str | None = None) -> Expert:
    """Change the given fields; `active=False` takes the expert out of every later draw."""
    with services.db.write() as session:
        expert = _expert(session, expert_id)
        for field, value in (("name", name), ("specialty", specialty), ("organization", organization)):
            if value is not None:
                setattr(expert, field, _text(value, field))
        if active is not None:
            expert.active = bool(active)
        _record_expert(session, "expert.updated", expert, services.clock.now(), user_id)
    return expert


def declare_conflict(services: Services, expert_id: str, park_id: str, reason: str, *,
                     user_id: str | None = None) -> ExpertConflict:
    """The expert is recused from every draw for the park; a second declaration replaces the reason."""
    park_id = _text(park_id, "parkId", limit=64)
    reason = _text(reason, "reason", limit=2000)
    with services.db.write() as session:
        _expert(session, expert_id)
        conflict = session.get(ExpertConflict, (expert_id, park_id))
        if conflict is None:
            conflict = ExpertConflict(expert_id=expert_id, park_id=park_id)
            session.add(conflict)
        conflict.reason, conflict.declared = reason, services.clock.now()
        ledger.record_admin(session, "expert.conflict", f"expert:{expert_id}", conflict.declared, user_id,
                            park_id=park_id, reason=reason)
    return conflict


def list_experts(services: Services, *, active: bool | None = None) -> list[tuple[Expert, list[ExpertConflict]]]:
    query = select(Expert).order_by(Expert.id)
    if active is not None:
        query = query.where(Expert.active == active)
    with services.db.read() as session:
        experts = list(session.scalars(query))
        conflicts: dict[str, list[ExpertConflict]] = {}
        for conflict in session.scalars(select(ExpertConflict).order_by(ExpertConflict.park_id)):
            conflicts.setdefault(conflict.expert_id, []).append(conflict)
    return [(expert, conflicts.get(expert.id, [])) for expert in experts]


def _expert(session: Session, expert_id: str) -> Expert:
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"No expert '{expert_id}' in the pool")
    return expert


# --- draws ----------------------------------------------------------------------------------------

def rank(seed: str, eligible: list[str]) -> list[str]:
    """sha256-rank-v1: each eligible id gets the key sha256(UTF-8 of seed + ":" + id) in lowercase hex;
    the ids sorted by key (then by id) are the ranking, and a draw of n takes its first n. Recomputable
    from a draw's recorded seed and eligible list alone, for example in a shell:
    `printf '%s' "$seed:$id" | sha256sum` for each id, then `sort`."""
    keys = {expert_id: hashlib.sha256(f"{seed}:{expert_id}".encode()).hexdigest() for expert_id in eligible}
    return sorted(keys, key=lambda expert_id: (keys[expert_id], expert_id))


def draw_experts(services: Services, park_id: str, purpose: str, count: int, *,
                 process_instance_id: str | None = None, user: str | None = None) -> ExpertDraw:
    """ECO-20: draw `count` experts at random from the active pool, recusing those with a declared
    conflict with the park."""
    with services.db.write() as session:
        draw = draw_in(session, park_id, purpose, count, now=services.clock.now(),
                       process_instance_id=process_instance_id, user=user)
        ledger.record_admin(session, "experts.drawn", f"park:{draw.park_id}", draw.drawn_at, user, draw_id=draw.id,
                            purpose=draw.purpose, drawn=list(draw.drawn), excluded=list(draw.excluded),
                            seed=draw.seed, algorithm=draw.algorithm)
        return draw


def draw_in(session: Session, park_id: str, purpose: str, count: int, *, now: datetime,
            process_instance_id: str | None = None, user: str | None = None, task_id: str | None = None,
            activity_id: str | None = None) -> ExpertDraw:
    """A draw within the caller's unit of work."""
    _one_of(purpose, PURPOSES, "purpose")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DRAW:
        raise InvalidRequest(f"'count' must be a whole number from 1 to {MAX_DRAW}, not {count!r}")
    park = session.get(ParkStanding, park_id)
    if park is None:
        raise InvalidRequest(f"'parkId': no park '{park_id}' on the register; record its standing first")
    if park.status not in DRAW_STANDINGS[purpose]:
        raise InvalidRequest(f"Cannot draw {purpose} experts for park '{park_id}': it is {park.status}, and an "
                             f"{purpose} concerns a park that is {' or '.join(DRAW_STANDINGS[purpose])}")
    active = list(session.scalars(select(Expert.id).where(Expert.active).order_by(Expert.id)))
    recused = dict(session.execute(select(ExpertConflict.expert_id, ExpertConflict.reason)
                                   .where(ExpertConflict.park_id == park_id)).all())
    eligible = [expert_id for expert_id in active if expert_id not in recused]
    excluded = [{"expertId": expert_id, "reason": recused[expert_id]}
                for expert_id in active if expert_id in recused]
    if len(eligible) < count:
        raise InvalidRequest(f"Cannot draw {count} experts for park '{park_id}': only {len(eligible)} active "
                             f"experts are eligible ({len(excluded)} recused for a declared conflict)")
    seed = secrets.token_hex(16)
    draw = ExpertDraw(id=str(uuid.uuid4()), park_id=park_id, purpose=purpose, requested=count, seed=seed,
                      eligible=eligible, excluded=excluded, drawn=rank(seed, eligible)[:count],
                      algorithm=ALGORITHM, drawn_at=now, process_instance_id=process_instance_id, drawn_by=user,
                      task_id=task_id, activity_id=activity_id)
    session.add(draw)
    return draw


def list_draws(services: Services, reader: Principal, *, process_instance_id: str | None = None,
               task_id: str | None = None, park_id: str | None = None) -> list[ExpertDraw]:
    """The recorded draws the reader may read."""
    query = select(ExpertDraw).order_by(ExpertDraw.drawn_at, ExpertDraw.id)
    for column, value in ((ExpertDraw.process_instance_id, process_instance_id), (ExpertDraw.task_id, task_id),
                          (ExpertDraw.park_id, park_id)):
        if value:
            query = query.where(column == value)
    with services.db.read() as session:
        return [draw for draw in session.scalars(query) if permissions.may_read_draw(session, reader, draw)]


def get_draw(services: Services, draw_id: str, reader: Principal) -> ExpertDraw:
    with services.db.read() as session:
        draw = session.get(ExpertDraw, draw_id)
        if draw is None:
            raise NotFound(f"No expert draw '{draw_id}'")
        if not permissions.may_read_draw(session, reader, draw):
            raise permissions.denied(reader, "READ", "ExpertDraw", draw_id)
        return draw


@dataclass(frozen=True)
class Verification:
    draw: ExpertDraw
    reproduced: bool
    recomputed: list[str]


def verify_draw(services: Services, draw_id: str, reader: Principal) -> Verification:
    """Recompute a draw from its recorded seed, eligible list and size: does it give the drawn list?"""
    draw = get_draw(services, draw_id, reader)
    recomputed = rank(draw.seed, list(draw.eligible))[:draw.requested] if draw.algorithm == ALGORITHM else []
    return Verification(draw, recomputed == list(draw.drawn), recomputed)


# --- what processes ask of the register and the pool ----------------------------------------------

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
