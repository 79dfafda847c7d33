"""Camunda's reports, aggregated by the database: how long ended cases took per month or quarter of
their start, how many tasks were completed per name or per procedure, and how many open tasks each
candidate group is offered. Only the cases the caller may read are counted."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, Select, cast, func, null, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.persistence.models import ActivityInstance, ProcessDefinition, ProcessInstance, TaskCandidate, UserTask
from app.persistence.queries import later_than, latest_versions_only

if TYPE_CHECKING:
    from app.context import Services

MONTH, QUARTER = "MONTH", "QUARTER"


@dataclass
class DurationCriteria:
    viewer: Principal
    period_unit: str
    definition_ids: list[str] = field(default_factory=list)
    definition_keys: list[str] = field(default_factory=list)
    started_before: datetime | None = None
    started_after: datetime | None = None


@dataclass(frozen=True)
class DurationPeriod:
    period: int
    period_unit: str
    maximum: int
    minimum: int
    average: int


def _month(session: Session, column: Any, offset_minutes: int) -> ColumnElement[int]:
    """The month (1-12) of an instant in the service's zone, given as its offset from UTC."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%m", column, f"{offset_minutes:+d} minutes"), Integer)
    local = func.timezone("UTC", column) + func.make_interval(0, 0, 0, 0, 0, offset_minutes)
    return cast(func.extract("month", local), Integer)


def _milliseconds(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86_400_000
    return func.extract("epoch", end - start) * 1000


def _offset_minutes(services: Services) -> int:
    """The service zone's offset from UTC now, by which instants are put into months."""
    offset = services.clock.now().astimezone(services.settings.zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def _durations(services: Services, query: Select, start: Any, end: Any, dated: Any, unit: str) -> list[DurationPeriod]:
    """Maximum, minimum and average of end - start (milliseconds) over the query's rows, grouped by
    the month or quarter (of any year, as Camunda groups them) of `dated`."""
    offset = _offset_minutes(services)
    with services.db.read() as session:
        month = _month(session, dated, offset)
        period = month if unit == MONTH else (month + 2) // 3
        duration = _milliseconds(session, start, end)
        query = (query.with_only_columns(period.label("period"), func.max(duration), func.min(duration),
                                         func.avg(duration), maintain_column_froms=True)
                 .group_by("period").order_by("period"))
        return [DurationPeriod(int(row[0]), unit, round(row[1]), round(row[2]), round(row[3]))
                for row in session.execute(query)]


def duration_report(services: Services, c: DurationCriteria) -> list[DurationPeriod]:
    """How long the ended cases took, by the month or quarter in which they started."""
    query = select(ProcessInstance.id).where(ProcessInstance.end_time.is_not(None))
    for values, column in ((c.definition_ids, ProcessInstance.definition_id),
                           (c.definition_keys, ProcessInstance.definition_key)):
        if values:
            query = query.where(column.in_(values))
    if c.started_before is not None:
        query = query.where(ProcessInstance.start_time < c.started_before)
    if c.started_after is not None:
        query = query.where(later_than(ProcessInstance.start_time, c.started_after))
    query = permissions.only_visible(query, ProcessInstance.id, c.viewer)
    return _durations(services, query, ProcessInstance.start_time, ProcessInstance.end_time,
                      ProcessInstance.start_time, c.period_unit)


def _ended_tasks(viewer: Principal, completed_before: datetime | None, completed_after: datetime | None) -> Select:
    """The user tasks that ended (completed or deleted with their case), between the given instants
    inclusive, of the cases the viewer may read."""
    a = ActivityInstance
    query = select(a.id).where(a.activity_type == "userTask", a.end_time.is_not(None))
    if completed_before is not None:
        query = query.where(a.end_time <= completed_before)
    if completed_after is not None:
        query = query.where(a.end_time >= completed_after)
    return permissions.only_visible(query, a.process_instance_id, viewer)


def task_duration_report(services: Services, viewer: Principal, unit: str, completed_before: datetime | None,
                         completed_after: datetime | None) -> list[DurationPeriod]:
    """How long the ended user tasks took, by the month or quarter in which they ended."""
    a = ActivityInstance
    return _durations(services, _ended_tasks(viewer, completed_before, completed_after), a.start_time, a.end_time,
                      a.end_time, unit)


TASK_NAME, PROCESS_DEFINITION = "taskName", "processDefinition"


@dataclass(frozen=True)
class TaskCount:
    count: int
    task_name: str | None
    definition_key: str
    definition_id: str | None
    definition_name: str | None
    tenant_id: str | None


def completed_task_counts(services: Services, viewer: Principal, group_by: str, completed_before: datetime | None,
                          completed_after: datetime | None) -> list[TaskCount]:
    """Completed user tasks counted by task name (and procedure) or by procedure, each procedure
    named by its latest version, as Camunda's task report counts them."""
    a = ActivityInstance
    keys: Sequence[Any] = ((a.activity_name, a.process_definition_key, a.tenant_id) if group_by == TASK_NAME
                           else (a.process_definition_key, a.tenant_id))
    counts = _ended_tasks(viewer, completed_before, completed_after).with_only_columns(
        func.count(a.id).label("count"), *keys)
    if group_by == TASK_NAME:
        counts = counts.where(a.activity_name.is_not(None), a.activity_name != "")
    grouped = counts.group_by(*keys).subquery()
    latest = latest_versions_only(select(ProcessDefinition.key, ProcessDefinition.id, ProcessDefinition.name),
                                  ProcessDefinition).subquery()
    name = grouped.c.activity_name if group_by == TASK_NAME else None
    query = (select(grouped.c.count, grouped.c.process_definition_key, grouped.c.tenant_id, latest.c.id,
                    latest.c.name, *([name] if name is not None else []))
             .outerjoin(latest, latest.c.key == grouped.c.process_definition_key))
    order = ([name, grouped.c["count"].desc()] if name is not None
             else [latest.c.name, grouped.c.process_definition_key, grouped.c["count"].desc()])
    with services.db.read() as session:
        return [TaskCount(row[0], row[5] if name is not None else None, row[1], row[3], row[4], row[2])
                for row in session.execute(query.order_by(*order))]


def candidate_group_counts(services: Services, viewer: Principal) -> list[tuple[str | None, int]]:
    """Open tasks per candidate group (None: the tasks offered to no group), as Camunda counts them."""
    group = (select(TaskCandidate.identity).where(TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == "group")
             .correlate(UserTask))
    offered = (select(TaskCandidate.identity.label("group_name"), UserTask.id.label("task_id"))
               .join(UserTask, UserTask.id == TaskCandidate.task_id).where(TaskCandidate.kind == "group"))
    unoffered = select(null().label("group_name"), UserTask.id.label("task_id")
                       ).where(~group.exists())
    offered = permissions.only_visible_tasks(offered, viewer)
    unoffered = permissions.only_visible_tasks(unoffered, viewer)
    every = offered.union_all(unoffered).subquery()
    query = (select(every.c.group_name, func.count(every.c.task_id)).group_by(every.c.group_name)
             .order_by(every.c.group_name.is_not(None), every.c.group_name))
    with services.db.read() as session:
        return [(row[0], row[1]) for row in session.execute(query)]
