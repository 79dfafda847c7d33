"""What operators ask of the running service: whether it is ready to serve (the readiness probe) and
the figures of its work read from the database when metrics are scraped. Every read is one cheap
aggregate statement, bounded by a statement timeout on PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.cases.projections import ACTIVE
from app.context import Services
from app.persistence.migrations import database_revision, script_head
from app.persistence.models import CalendarYear, ExternalTask, Incident, ProcessInstance, TaskCandidate, Timer, UserTask

UP = "UP"
# How long one probe or scrape statement may run on PostgreSQL before it counts as not answering.
STATEMENT_TIMEOUT_MS = 2000


def _bounded(services: Services, session: Session) -> None:
    if not services.db.is_sqlite:
        session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))


def readiness(services: Services) -> dict[str, str]:
    """Each check, "UP" or what is wrong: the database answers, its schema is at this build's newest
    migration, and the working-day calendar holds the current year (deadlines need it)."""
    checks = {"database": UP, "migrations": UP, "calendar": UP}
    try:
        with services.db.read() as session:
            _bounded(services, session)
            current, head = database_revision(session.connection()), script_head()
            if current != head:
                checks["migrations"] = (f"the schema is at revision {current or 'none'}, this build needs {head}: "
                                        "run `eco-orchestrator migrate` or restart one instance")
            year = services.today().year
            try:
                if session.scalar(select(func.count()).select_from(CalendarYear).where(CalendarYear.year == year)) == 0:
                    checks["calendar"] = (f"the working-day calendar has no year {year}: import it "
                                          f"(PUT /api/calendar/years/{year})")
            except DBAPIError:
                checks["calendar"] = "the calendar cannot be read (the schema is not migrated)"
    except DBAPIError:
        checks = {"database": "the database does not answer", "migrations": "unknown", "calendar": "unknown"}
    return checks


@dataclass
class WorkFigures:
    """The service's open work now, as /metrics shows it."""

    at: datetime
    active_instances: int = 0
    open_tasks: int = 0
    overdue_tasks: int = 0
    open_tasks_by_group: dict[str, int] = field(default_factory=dict)
    overdue_tasks_by_group: dict[str, int] = field(default_factory=dict)
    due_timers: int = 0
    oldest_due_timer: datetime | None = None
    external_task_backlog: dict[str, int] = field(default_factory=dict)
    open_incidents: dict[str, int] = field(default_factory=dict)


def work_figures(services: Services) -> WorkFigures:
    now = services.clock.now()
    figures = WorkFigures(now)
    with services.db.read() as session:
        _bounded(services, session)
        figures.active_instances = session.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.status == ACTIVE)) or 0
        overdue = UserTask.due < now
        figures.open_tasks, figures.overdue_tasks = session.execute(
            select(func.count(), func.count().filter(overdue)).select_from(UserTask)).one()
        by_group = session.execute(
            select(TaskCandidate.identity, func.count(), func.count().filter(overdue))
            .join(UserTask, UserTask.id == TaskCandidate.task_id)
            .where(TaskCandidate.kind == "group").group_by(TaskCandidate.identity)).all()
        figures.open_tasks_by_group = {group: count for group, count, _ in by_group}
        figures.overdue_tasks_by_group = {group: late for group, _, late in by_group}
        figures.due_timers, figures.oldest_due_timer = session.execute(
            select(func.count(), func.min(Timer.due_at))
            .where(Timer.due_at <= now, Timer.suspended.is_(False))).one()
        figures.external_task_backlog = dict(session.execute(
            select(ExternalTask.topic_name, func.count())
            .where(or_(ExternalTask.lock_expiration.is_(None), ExternalTask.lock_expiration <= now),
                   or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0), ExternalTask.suspended.is_(False))
            .group_by(ExternalTask.topic_name)).all())
        figures.open_incidents = dict(session.execute(
            select(Incident.incident_type, func.count()).where(Incident.end_time.is_(None))
            .group_by(Incident.incident_type)).all())
    return figures
