"""Deadline warnings (预警): every open deadline with how many working days remain, and its level."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.projections import ACTIVE
from app.context import Services
from app.deadlines import calendars, statutory
from app.errors import InvalidRequest
from app.persistence.models import ProcessInstance, TaskCandidate, Timer, UserTask

NORMAL, WARNING, OVERDUE = "normal", "warning", "overdue"


@dataclass(frozen=True)
class OpenDeadline:
    # "task" (a user task's due date), "timer" (what an instance waits for) or "statutory" (the
    # last day of the case's statutory limit, on its clock)
    kind: str
    process_instance_id: str | None  # None: a standalone task's due date
    business_key: str | None
    process_definition_key: str | None
    activity_id: str | None
    name: str | None
    task_id: str | None
    due: datetime
    last_day: date
    working_days_left: int
    level: str
    provisional: bool


def open_deadlines(services: Services, *, process_instance_id: str | None = None, business_key: str | None = None,
                   candidate_group: str | None = None, viewer: Principal | None = None) -> list[OpenDeadline]:
    if not (process_instance_id or business_key or candidate_group):
        raise InvalidRequest("Give processInstanceId, businessKey or candidateGroup")
    tasks = permissions.only_visible_tasks(select(UserTask).where(UserTask.due.is_not(None)), viewer)
    timers = permissions.only_visible(
        select(Timer, ProcessInstance).join(ProcessInstance, ProcessInstance.id == Timer.process_instance_id),
        Timer.process_instance_id, viewer)
    if process_instance_id:
        tasks = tasks.where(UserTask.process_instance_id == process_instance_id)
        timers = timers.where(Timer.process_instance_id == process_instance_id)
    if business_key:
        tasks = tasks.where(UserTask.business_key == business_key)
        timers = timers.where(ProcessInstance.business_key == business_key)
    if candidate_group:
        # A group works tasks; the timers an instance waits for belong to no group.
        tasks = tasks.where(UserTask.id.in_(select(TaskCandidate.task_id).where(
            TaskCandidate.kind == "group", TaskCandidate.identity == candidate_group)))
    with services.db.read() as session:
        found = [("task", row.process_instance_id, row.business_key, row.process_definition_key,
                  row.task_definition_key, row.name, row.id, row.due) for row in session.scalars(tasks)]
        if not candidate_group:
            found += [("timer", timer.process_instance_id, instance.business_key, timer.process_definition_key,
                       timer.activity_id, None, None, timer.due_at)
                      for timer, instance in session.execute(timers.where(Timer.due_at.is_not(None)))]
        # The statutory clocks of the cases found, where their process has a statutory limit.
        cases = {row[1] for row in found if row[1] is not None}  # a standalone task has no case
        if process_instance_id or business_key:
            chosen = permissions.only_visible(select(ProcessInstance.id).where(ProcessInstance.status == ACTIVE),
                                              ProcessInstance.id, viewer)
            chosen = chosen.where(ProcessInstance.id == process_instance_id if process_instance_id
                                  else ProcessInstance.business_key == business_key)
            cases |= set(session.scalars(chosen))
        clocks = _statutory(services, session, cases)
    calendar = calendars.current(services)
    zone = services.settings.zone
    now = services.clock.now()
    today = now.astimezone(zone).date()
    warn_within = services.settings.deadline_warning_working_days
    result = clocks
    for kind, instance_id, key, definition_key, activity_id, name, task_id, due in found:
        # A due instant at midnight closes the day before it: that day is the period's last day.
        last_day = (due.astimezone(zone) - timedelta(microseconds=1)).date()
        left = calendar.working_days_between(today, last_day)  # after today, through the last day
        level = OVERDUE if now >= due else (WARNING if left <= warn_within else NORMAL)
        # Provisional while a day still counted, today and the last day included, lies in a year whose
        # calendar is not confirmed: its import may move the deadline until the period is over.
        provisional = bool(calendar.unconfirmed_years_between(min(today, last_day) - timedelta(days=1), last_day))
        result.append(OpenDeadline(kind, instance_id, key, definition_key, activity_id, name, task_id, due,
                                   last_day, left, level, provisional))
    return sorted(result, key=lambda d: d.due)


def _statutory(services: Services, session: Session, cases: set[str]) -> list[OpenDeadline]:
    """A running statutory clock is a deadline too: its last day, counted on the clock (a stopped
    clock has none until it runs again)."""
    found = []
    zone = services.settings.zone
    for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(sorted(cases)),
                                                                   ProcessInstance.status == ACTIVE)):
        if not statutory.has_limit(services.models.get(session, instance.definition_id)):
            continue
        clock = statutory.clock_of(services, session, instance)
        if clock.last_day is None or clock.remaining_days is None or clock.level is None:
            continue
        due = datetime.combine(clock.last_day + timedelta(days=1), time(), zone)
        found.append(OpenDeadline("statutory", instance.id, instance.business_key, instance.definition_key,
                                  instance.definition_key, None, None, due, clock.last_day, clock.remaining_days,
                                  clock.level, False))
    return found
