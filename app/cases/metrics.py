"""Camunda's usage metrics (`/metrics/{name}/sum`), counted from what the service records rather
than from counters kept beside it: a count an auditor can recompute from the cases themselves."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.context import Services
from app.definitions.decisions import EVALUATED
from app.errors import InvalidRequest
from app.persistence.models import ActivityInstance, AdminEvent, HistoryEvent, ProcessInstance


def _between(column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
             start: datetime | None, end: datetime | None, query: Select) -> Select:
    if start is not None:
        query = query.where(column >= start)
    if end is not None:
        query = query.where(column < end)
    return query


def _started_activities(start: datetime | None, end: datetime | None) -> Select:
    return _between(ActivityInstance.start_time, start, end, select(func.count()).select_from(ActivityInstance))


def _ended_activities(start: datetime | None, end: datetime | None) -> Select:
    return _between(ActivityInstance.end_time, start, end,
                    select(func.count()).select_from(ActivityInstance).where(ActivityInstance.end_time.is_not(None)))


def _root_instances(start: datetime | None, end: datetime | None) -> Select:
    return _between(ProcessInstance.start_time, start, end, select(func.count()).select_from(ProcessInstance)
                    .where(ProcessInstance.super_process_instance_id.is_(None)))


def _decisions(start: datetime | None, end: datetime | None) -> Select:
    """Business rule tasks' evaluations (in their cases' histories) and stand-alone ones (in the
    administrative history)."""
    of_cases = _between(HistoryEvent.occurred_at, start, end, select(func.count()).select_from(HistoryEvent)
                        .where(HistoryEvent.kind == EVALUATED))
    standalone = _between(AdminEvent.occurred_at, start, end, select(func.count()).select_from(AdminEvent)
                          .where(AdminEvent.kind == EVALUATED))
    return select(of_cases.scalar_subquery() + standalone.scalar_subquery())


def _task_users(start: datetime | None, end: datetime | None) -> Select:
    """The people who completed a task (Camunda counts the task's assignees)."""
    return _between(HistoryEvent.occurred_at, start, end, select(func.count(distinct(HistoryEvent.user_id)))
                    .where(HistoryEvent.kind == "task.completed", HistoryEvent.user_id.is_not(None)))


# Camunda's names (and their older aliases) of what is counted here.
COUNTED = {"activity-instance-start": _started_activities, "flow-node-instances": _started_activities,
           "activity-instance-end": _ended_activities, "process-instances": _root_instances,
           "root-process-instance-start": _root_instances, "decision-instances": _decisions,
           "executed-decision-instances": _decisions, "task-users": _task_users, "unique-task-workers": _task_users}


def metric_sum(services: Services, name: str, start: datetime | None, end: datetime | None) -> int:
    counting = COUNTED.get(name)
    if counting is None:
        raise InvalidRequest(f"The metric '{name}' is not counted here; counted are {', '.join(sorted(COUNTED))} "
                             "(job metrics do not apply: timers here are not jobs that fail or are acquired)")
    with services.db.read() as session:
        return session.scalar(counting(start, end)) or 0
