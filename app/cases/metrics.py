"""Camunda's usage metrics (`/metrics/{name}/sum`, `/metrics` by interval), counted from what the
service records rather than from counters kept beside it: a count an auditor can recompute from the
cases themselves."""
from __future__ import annotations

import importlib.metadata
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from sqlalchemy import BigInteger, ColumnElement, Integer, Select, cast, distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.context import Services
from app.definitions.decisions import EVALUATED
from app.errors import BadUserRequest, InvalidRequest
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


def _case_decisions(start: datetime | None, end: datetime | None) -> Select:
    """Business rule tasks' evaluations, in their cases' histories."""
    return _between(HistoryEvent.occurred_at, start, end, select(func.count()).select_from(HistoryEvent)
                    .where(HistoryEvent.kind == EVALUATED))


def _standalone_decisions(start: datetime | None, end: datetime | None) -> Select:
    """Stand-alone evaluations, in the administrative history."""
    return _between(AdminEvent.occurred_at, start, end, select(func.count()).select_from(AdminEvent)
                    .where(AdminEvent.kind == EVALUATED))


def _decisions(start: datetime | None, end: datetime | None) -> Select:
    return select(_case_decisions(start, end).scalar_subquery() + _standalone_decisions(start, end).scalar_subquery())


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


# Camunda's interval query reads its meter log, which holds these; the unique task workers are kept
# apart there (its task meter log) and are not in it either.
# Each with the instant it is counted at (the decisions from two histories, added up per interval).
_INTERVALS = {"activity-instance-start": ((_started_activities, ActivityInstance.start_time),),
              "activity-instance-end": ((_ended_activities, ActivityInstance.end_time),),
              "root-process-instance-start": ((_root_instances, ProcessInstance.start_time),),
              "executed-decision-instances": ((_case_decisions, HistoryEvent.occurred_at),
                                              (_standalone_decisions, AdminEvent.occurred_at))}
_INTERNAL_NAMES = {"flow-node-instances": "activity-instance-start", "process-instances": "root-process-instance-start",
                   "decision-instances": "executed-decision-instances", "task-users": "unique-task-workers"}
# Camunda's most rows an interval query answers.
INTERVAL_ROWS_MAX = 200


@dataclass(frozen=True)
class IntervalValue:
    timestamp: datetime
    name: str
    value: int


def _bucket(session: Session, instant: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
            seconds: int) -> ColumnElement[Any]:
    """The number of the `seconds`-long interval (counted from 1970, as Camunda's) an instant is in."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", instant), Integer) // seconds
    return cast(func.floor(func.extract("epoch", instant) / seconds), BigInteger)


def metric_intervals(services: Services, name: str | None, start: datetime | None, end: datetime | None,
                     seconds: int, first: int, most: int) -> list[IntervalValue]:
    """Each metric's count per interval of `seconds` within [start, end), newest first; intervals
    without any are left out, as Camunda leaves them out."""
    if most > INTERVAL_ROWS_MAX:
        raise InvalidRequest(f"Metrics interval query row limit can't be set larger than {INTERVAL_ROWS_MAX}.")
    internal = _INTERNAL_NAMES.get(name, name) if name else None
    if internal == "unique-task-workers":
        return []
    if internal is not None and internal not in _INTERVALS:
        raise InvalidRequest(f"The metric '{name}' is not counted here; counted by interval are "
                             f"{', '.join(sorted({*_INTERVALS, *_INTERNAL_NAMES}))}")
    found: list[IntervalValue] = []
    with services.db.read() as session:
        for metric in [internal] if internal else sorted(_INTERVALS):
            counts: dict[int, int] = {}
            for counting, instant in _INTERVALS[metric]:
                bucket = _bucket(session, instant, seconds)
                query = (counting(start, end).with_only_columns(bucket, func.count(), maintain_column_froms=True)
                         .group_by(bucket).order_by(bucket.desc()).limit(first + most))
                for number, count in session.execute(query):
                    counts[int(number)] = counts.get(int(number), 0) + count
            found.extend(IntervalValue(datetime.fromtimestamp(number * seconds, UTC), name or metric, count)
                         for number, count in counts.items())
    found.sort(key=lambda row: (row.timestamp, row.name), reverse=True)
    return found[first:first + most]


def refuse_task_metrics_deletion() -> NoReturn:
    """Camunda deletes its task worker metrics, kept apart from the tasks; here they are counted from
    the cases' chained history, which nothing deletes but the whole history of an ended case."""
    raise BadUserRequest("The task worker metrics are not kept apart here: they are counted from the cases' chained "
                         "history (who completed which task), which cannot lose an entry and still verify; they "
                         "leave with an ended case's history once its retention has passed (DELETE "
                         "/history/process-instance/{id}, POST /history/cleanup)")


def diagnostics(services: Services) -> dict[str, Any]:
    """Camunda's telemetry data, which this service collects for nobody and sends nowhere: what it
    runs on, and its counts of process instances, flow node instances and decision evaluations."""
    with services.db.read() as session:
        dialect = session.get_bind().dialect
        database_version = ".".join(str(part) for part in dialect.server_version_info or ())
        counts = {name: session.scalar(counting(None, None)) or 0 for name, counting in (
            ("process-instances", _root_instances), ("flow-node-instances", _started_activities),
            ("decision-instances", _decisions))}
    return {"installation": None, "product": {
        "name": "eco-orchestrator", "version": importlib.metadata.version("eco-orchestrator"), "edition": "community",
        "internals": {
            "database": {"vendor": dialect.name, "version": database_version},
            "application-server": {"vendor": "uvicorn", "version": importlib.metadata.version("uvicorn")},
            "jdk": None, "python": {"vendor": platform.python_implementation(), "version": platform.python_version()},
            "commands": {}, "metrics": {name: {"count": count} for name, count in counts.items()},
            "data-collection-start-date": None, "camunda-integration": [], "license-key": None, "webapps": []}}}
