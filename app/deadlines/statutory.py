"""The statutory clock (法定时限与计时暂停) of a case.

A process names its statutory limit in the camunda:property `statutoryLimit` of the process (for
example `20 working days` or `20个工作日`, or `30 days` counted in natural days) and may promise a
shorter one (`promisedLimit`, 承诺时限). Where the regulation sets no limit, the property is an
expression over the case's variables (`${statutory_limit}`, a form field or start variable holding
such a text), read whenever the clock is computed: while the variable is not set the clock counts
used and stopped days with no remaining days, and a value that cannot be read is reported in the
clock's `problems`, not refused, so that the case's other deadlines stay listed.

The clock runs from the day after the case starts. Time spent in the special procedures the law
does not count (Administrative Licensing Law 第四十五条: expert review, publicity, hearing, the
applicant's correction) is not counted: an element marked with the camunda:property `clockStops`
(its value is the reason, e.g. `专家评审`) stops the clock while a token is inside it, and whoever
handles the case stops and resumes it by hand with a reason (暂停计时 / 恢复计时). An administrator
extends the limit (延期), naming who approved it.

Everything is read from the case's own record (its activities, its chained history and, for a
limit given by a variable, its variables), so the clock an auditor recomputes years later is the
one the officials saw. A day counts as stopped when the clock stood still at the day's close (for
today: now), a stop ending exactly at midnight included.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.calendar.rules import WorkCalendar
from app.cases.hooks import StepHook
from app.cases.instances import get_active_instance, get_instance, read_run, record
from app.cases.projections import ACTIVE
from app.cases.tasks import optional_text
from app.context import Services
from app.deadlines import calendars
from app.engine import ProcessModel
from app.engine.expressions import ExpressionError, compile_template, contains_expression
from app.errors import InvalidProcessModel, InvalidRequest, StatutoryClockState
from app.persistence.models import ActivityInstance, HistoryEvent, ProcessInstance, TaskCandidate, UserTask

LIMIT, PROMISED, STOPS = "statutoryLimit", "promisedLimit", "clockStops"
PAUSED, RESUMED, EXTENDED = "clock.paused", "clock.resumed", "clock.extended"
_LIMIT = re.compile(r"^\s*(\d{1,4})\s*(?:(working days?|个?工作日)|(days?|日|天|个自然日|自然日))\s*$", re.IGNORECASE)
NORMAL, WARNING, OVERDUE = "normal", "warning", "overdue"


@dataclass(frozen=True)
class Limit:
    days: int
    working: bool  # working days (工作日), else natural days


def parse_limit(text: str) -> Limit:
    found = _LIMIT.match(text)
    if found is None:
        raise ValueError(f"a time limit is written as '20 working days' (or 20个工作日) or '30 days', got '{text}'")
    return Limit(int(found.group(1)), found.group(2) is not None)


class StatutoryLimits(StepHook):
    """Refuse at deploy a limit that cannot be read, or a clock stop without a reason."""

    def check_model(self, model: ProcessModel) -> None:
        for name in (LIMIT, PROMISED):
            if name in model.properties:
                text = model.properties[name]
                try:
                    # An expression is read from the case's variables when the clock is computed.
                    compile_template(text) if contains_expression(text) else parse_limit(text)
                except (ExpressionError, ValueError) as error:
                    raise InvalidProcessModel(f"{model.resource_name}: camunda:property {name}: {error}",
                                              details={"resource": model.resource_name, "element": model.key}) from None
        for element in model.elements.values():
            if STOPS in element.properties and not element.properties[STOPS].strip():
                raise InvalidProcessModel(
                    f"{model.resource_name}: element '{element.id}' stops the clock without a reason: give "
                    f"camunda:property {STOPS} the special procedure's name (专家评审, 公示, 听证, 补正)",
                    details={"resource": model.resource_name, "element": element.id})


@dataclass
class Stop:
    kind: str  # "activity" (a token inside a clockStops element) or "manual"
    reason: str | None
    start: datetime
    end: datetime | None
    activity_id: str | None = None
    by: str | None = None
    working_days: int = 0


@dataclass
class Extension:
    working_days: int
    reason: str | None
    by: str | None
    approved_by: str | None
    at: datetime


@dataclass
class StatutoryClock:
    limit: Limit | None
    promised: Limit | None
    started: date
    used_days: int
    paused_days: int
    paused: bool
    stops: list[Stop]
    extensions: list[Extension]
    remaining_days: int | None = None
    promised_remaining_days: int | None = None
    level: str | None = None
    last_day: date | None = None
    ended: bool = False
    # Why a limit given by a variable is not counted (its value cannot be read as a limit).
    problems: list[str] = field(default_factory=list)


def _limit_of(model: ProcessModel, name: str, variables: Callable[[], Mapping[str, Any]],
              problems: list[str]) -> Limit | None:
    """The limit the property gives: its text, or the value of its expression over the case's
    variables (None while a variable it reads is not set)."""
    text = model.properties.get(name)
    if text is None:
        return None
    if not contains_expression(text):
        return parse_limit(text)
    template = compile_template(text)
    values = variables()
    if any(values.get(variable) in (None, "") for variable in template.variable_names):
        return None
    try:
        value = template.evaluate(values, {})
        return parse_limit(value if isinstance(value, str) else str(value))
    except (ExpressionError, ValueError) as error:
        problems.append(f"{name} {text}: {error}")
        return None


def _stops(session: Session, model: ProcessModel, instance_id: str) -> tuple[list[Stop], list[Extension]]:
    stopping = {element.id: element.properties[STOPS] for element in model.elements.values()
                if STOPS in element.properties}
    stops = [Stop("activity", stopping[row.activity_id], row.start_time, row.end_time, row.activity_id)
             for row in session.scalars(select(ActivityInstance).where(
                 ActivityInstance.process_instance_id == instance_id,
                 ActivityInstance.activity_id.in_(stopping)).order_by(ActivityInstance.sequence))] if stopping else []
    extensions = []
    manual: Stop | None = None
    for event in session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance_id,
                                                            HistoryEvent.kind.in_((PAUSED, RESUMED, EXTENDED)))
                                 .order_by(HistoryEvent.sequence)):
        if event.kind == PAUSED:
            manual = Stop("manual", event.payload.get("reason"), event.occurred_at, None, by=event.user_id)
            stops.append(manual)
        elif event.kind == RESUMED and manual is not None:
            manual.end, manual = event.occurred_at, None
        elif event.kind == EXTENDED:
            extensions.append(Extension(event.payload["workingDays"], event.payload.get("reason"), event.user_id,
                                        event.payload.get("approvedBy"), event.occurred_at))
    return stops, extensions


def _count(calendar: WorkCalendar, instance: ProcessInstance, limit: Limit | None, stops: list[Stop],
           now: datetime, zone: Any) -> tuple[int, int, date, date]:
    """Days used and stopped from the day after the start through the last day (today, or the end)."""
    started = instance.start_time.astimezone(zone).date()
    until = instance.end_time or now
    last = until.astimezone(zone).date()
    working = limit is None or limit.working
    used = paused = 0
    day = started + timedelta(days=1)
    while day <= last:
        if not working or calendar.is_working_day(day):
            midnight = datetime.combine(day + timedelta(days=1), time(), zone)
            close = min(midnight, until)
            # A stop that ends with the day (a publicity whose timer fires at midnight) stops the
            # day; one that begins with the next day does not.
            stop = next((s for s in stops if s.start < close and (s.end is None or s.end > close or s.end == midnight)),
                        None)
            if stop is None:
                used += 1
            else:
                paused += 1
                stop.working_days += 1
        day += timedelta(days=1)
    return used, paused, started, last


def _remaining(limit: Limit | None, extended: int, used: int) -> int | None:
    return None if limit is None else limit.days + extended - used


def statutory_clock(services: Services, instance_id: str, reader: Principal) -> StatutoryClock:
    with services.db.read() as session:
        instance = get_instance(session, instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        return clock_of(services, session, instance)


def clock_of(services: Services, session: Session, instance: ProcessInstance) -> StatutoryClock:
    """The clock of a case the caller may read."""
    model = services.models.get(session, instance.definition_id)
    stops, extensions = _stops(session, model, instance.id)
    problems: list[str] = []

    @cache  # the run is restored once, and only for a limit given by a variable
    def variables() -> Mapping[str, Any]:
        return read_run(services, session, instance).variables()
    limit = _limit_of(model, LIMIT, variables, problems)
    promised = _limit_of(model, PROMISED, variables, problems)
    calendar = calendars.current(services)
    now, zone = services.clock.now(), services.settings.zone
    used, paused, started, last = _count(calendar, instance, limit, stops, now, zone)
    extended = sum(extension.working_days for extension in extensions)
    ended = instance.status != ACTIVE
    clock = StatutoryClock(limit, promised, started, used, paused, paused=not ended and any(
        stop.end is None for stop in stops), stops=stops, extensions=extensions, ended=ended, problems=problems)
    clock.remaining_days = _remaining(limit, extended, used)
    clock.promised_remaining_days = _remaining(promised, extended, used)
    if clock.remaining_days is not None and limit is not None:
        warn_within = services.settings.deadline_warning_working_days
        clock.level = (OVERDUE if clock.remaining_days < 0 else
                       WARNING if clock.remaining_days <= warn_within else NORMAL)
        if not ended and not clock.paused and clock.remaining_days > 0:
            clock.last_day = (calendar.add_working_days(last, clock.remaining_days).due if limit.working
                              else last + timedelta(days=clock.remaining_days))
    return clock


def has_limit(model: ProcessModel) -> bool:
    return LIMIT in model.properties


def _may_handle(session: Session, principal: Principal, instance_id: str) -> bool:
    """An administrator, or whoever works one of the case's open tasks: the handling department."""
    if permissions.is_administrator(principal):
        return True
    offered = select(TaskCandidate.kind, TaskCandidate.identity).join(
        UserTask, UserTask.id == TaskCandidate.task_id).where(UserTask.process_instance_id == instance_id)
    if any(principal.named_by(kind, identity) for kind, identity in session.execute(offered)):
        return True
    return session.scalar(select(UserTask.id).where(UserTask.process_instance_id == instance_id,
                                                    UserTask.assignee == principal.user_id).limit(1)) is not None


def _manually_paused(session: Session, instance_id: str) -> bool:
    last = session.scalar(select(HistoryEvent.kind).where(HistoryEvent.process_instance_id == instance_id,
                                                          HistoryEvent.kind.in_((PAUSED, RESUMED)))
                          .order_by(HistoryEvent.sequence.desc()).limit(1))
    return last == PAUSED


def _command(services: Services, instance_id: str, actor: Principal, kind: str, payload: dict[str, Any],
             *, administrators_only: bool = False) -> None:
    with services.db.write() as session:
        instance = get_active_instance(session, instance_id)
        allowed = (permissions.is_administrator(actor) if administrators_only
                   else _may_handle(session, actor, instance.id))
        if not allowed:
            raise permissions.denied(actor, "UPDATE", "ProcessInstance", instance.id)
        model = services.models.get(session, instance.definition_id)
        if LIMIT not in model.properties:
            raise InvalidRequest(f"the process of case {instance.id} has no statutoryLimit: it runs no clock")
        paused = _manually_paused(session, instance.id)
        if kind == PAUSED and paused:
            raise StatutoryClockState("the clock of this case is already stopped by hand; resume it first")
        if kind == RESUMED and not paused:
            raise StatutoryClockState("the clock of this case is not stopped by hand")
        record(session, instance, kind, services.clock.now(), user_id=actor.user_id, **payload)


def pause(services: Services, instance_id: str, body: dict[str, Any], *, actor: Principal) -> None:
    reason = optional_text(body.get("reason"), "reason", 500)
    if not reason:
        raise InvalidRequest("stopping the clock needs a 'reason' (the special procedure: 专家评审, 听证, ...)")
    _command(services, instance_id, actor, PAUSED, {"reason": reason})


def resume(services: Services, instance_id: str, body: dict[str, Any], *, actor: Principal) -> None:
    _command(services, instance_id, actor, RESUMED, {"reason": optional_text(body.get("reason"), "reason", 500)})


def extend(services: Services, instance_id: str, body: dict[str, Any], *, actor: Principal) -> None:
    days = body.get("workingDays")
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 365:
        raise InvalidRequest("'workingDays' is a whole number of days from 1 to 365")
    reason = optional_text(body.get("reason"), "reason", 500)
    if not reason:
        raise InvalidRequest("an extension needs a 'reason'")
    _command(services, instance_id, actor, EXTENDED,
             {"workingDays": days, "reason": reason,
              "approvedBy": optional_text(body.get("approvedBy"), "approvedBy", 255)}, administrators_only=True)
