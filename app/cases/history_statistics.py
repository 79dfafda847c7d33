"""Camunda's historic reports on process definitions, counted from the cases and their activity
instances: what the history cleanup may delete per process definition
(`/history/process-definition/cleanable-process-instance-report`), and where the instances of one
definition went (`/history/process-definition/{id}/statistics`). Only the cases the reader may read
are counted."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, case, func, or_, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.history import completed_scope
from app.cases.listing import counting
from app.persistence.models import ActivityInstance, Incident, ProcessDefinition, ProcessInstance
from app.persistence.queries import page

if TYPE_CHECKING:
    from app.context import Services


@dataclass
class CleanableCriteria:
    viewer: Principal
    definition_ids: list[str] = field(default_factory=list)
    definition_keys: list[str] = field(default_factory=list)
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    # Only definitions with ended cases.
    compact: bool = False
    # sortBy=finished: True descending, False ascending, None by key and version.
    finished_desc: bool | None = None


@dataclass(frozen=True)
class Cleanable:
    definition: ProcessDefinition
    finished: int
    cleanable: int


def _cleanable_query(c: CleanableCriteria) -> Select:
    finished = permissions.only_visible(
        select(func.count()).select_from(ProcessInstance)
        .where(ProcessInstance.definition_id == ProcessDefinition.id, ProcessInstance.end_time.is_not(None)),
        ProcessInstance.id, c.viewer).scalar_subquery()
    query = select(ProcessDefinition, finished)
    if c.definition_ids:
        query = query.where(ProcessDefinition.id.in_(c.definition_ids))
    if c.definition_keys:
        query = query.where(ProcessDefinition.key.in_(c.definition_keys))
    if c.tenant_ids:
        query = query.where(ProcessDefinition.tenant_id.in_(c.tenant_ids))
    if c.without_tenant:
        query = query.where(ProcessDefinition.tenant_id.is_(None))
    if c.compact:
        query = query.where(finished > 0)
    if c.finished_desc is not None:
        query = query.order_by(finished.desc() if c.finished_desc else finished)
    return query.order_by(ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.id)


def cleanable_report(services: Services, c: CleanableCriteria, first: int, most: int) -> list[Cleanable]:
    """Per process definition: its ended cases, and those whose retention has passed (none for a
    process without historyTimeToLive), as the history cleanup counts them."""
    now = services.clock.now()
    with services.db.read() as session:
        rows = page(session, _cleanable_query(c), first, most)
        by_age: dict[int, list[str]] = defaultdict(list)
        for definition, _ in rows:
            if definition.history_time_to_live is not None:
                by_age[definition.history_time_to_live].append(definition.id)
        cleanable: dict[str, int] = {}
        for days, ids in by_age.items():
            passed = permissions.only_visible(
                select(ProcessInstance.definition_id, func.count())
                .where(ProcessInstance.definition_id.in_(ids), ProcessInstance.end_time <= now - timedelta(days=days)),
                ProcessInstance.id, c.viewer).group_by(ProcessInstance.definition_id)
            cleanable.update((definition_id, count) for definition_id, count in session.execute(passed))
    return [Cleanable(definition, finished or 0, cleanable.get(definition.id, 0)) for definition, finished in rows]


def count_cleanable_report(services: Services, c: CleanableCriteria) -> int:
    with services.db.read() as session:
        return session.scalars(counting(_cleanable_query(c))).one()


@dataclass
class ActivityCriteria:
    viewer: Principal
    # Camunda's include flags: beside the running instances, count these.
    finished: bool = False
    canceled: bool = False
    complete_scope: bool = False
    incidents: bool = False
    started_before: datetime | None = None
    started_after: datetime | None = None
    finished_before: datetime | None = None
    finished_after: datetime | None = None
    instance_ids: list[str] = field(default_factory=list)
    descending: bool = False


@dataclass
class ActivityStatistics:
    activity_id: str
    instances: int = 0
    finished: int = 0
    canceled: int = 0
    complete_scope: int = 0
    open_incidents: int = 0
    resolved_incidents: int = 0
    deleted_incidents: int = 0


def _of_instances(query: Select, instance_column: Any, c: ActivityCriteria) -> Select:
    """Camunda's filters on the cases of the counted rows."""
    query = permissions.only_visible(query, instance_column, c.viewer)
    if c.instance_ids:
        query = query.where(instance_column.in_(c.instance_ids))
    bounds = ((c.started_before, c.started_after, ProcessInstance.start_time),
              (c.finished_before, c.finished_after, ProcessInstance.end_time))
    if any(before or after for before, after, _ in bounds):
        query = query.join(ProcessInstance, ProcessInstance.id == instance_column)
        for before, after, column in bounds:
            if before is not None:
                query = query.where(column <= before)
            if after is not None:
                query = query.where(column >= after)
    return query


def _sum(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def activity_statistics(services: Services, definition_id: str, c: ActivityCriteria) -> list[ActivityStatistics]:
    """Per activity of the definition: its running instances, and as asked its ended, canceled and
    scope-completing ones and its incidents; activities with none of these are left out, as Camunda
    leaves them out. An unknown definition has none."""
    running = ActivityInstance.end_time.is_(None)
    canceled = ActivityInstance.end_time.is_not(None) & ActivityInstance.canceled.is_(True)
    complete_scope = completed_scope(ActivityInstance)
    shown = or_(running, *(condition for wanted, condition in (
        (c.finished, ActivityInstance.end_time.is_not(None)), (c.canceled, canceled),
        (c.complete_scope, complete_scope)) if wanted))
    activities = _of_instances(
        select(ActivityInstance.activity_id, _sum(running), _sum(ActivityInstance.end_time.is_not(None)),
               _sum(canceled), _sum(complete_scope))
        .where(ActivityInstance.process_definition_id == definition_id, shown),
        ActivityInstance.process_instance_id, c).group_by(ActivityInstance.activity_id)
    found: dict[str, ActivityStatistics] = {}
    with services.db.read() as session:
        for activity_id, instances, finished, canceled_count, scope in session.execute(activities):
            found[activity_id] = ActivityStatistics(
                activity_id, instances, finished if c.finished else 0, canceled_count if c.canceled else 0,
                scope if c.complete_scope else 0)
        if c.incidents:
            incidents = _of_instances(
                select(Incident.activity_id, _sum(Incident.end_time.is_(None)),
                       _sum(Incident.end_time.is_not(None) & Incident.resolved.is_(True)),
                       _sum(Incident.end_time.is_not(None) & Incident.resolved.is_(False)))
                .where(Incident.process_definition_id == definition_id),
                Incident.process_instance_id, c).group_by(Incident.activity_id)
            for activity_id, open_count, resolved, deleted in session.execute(incidents):
                item = found.setdefault(activity_id, ActivityStatistics(activity_id))
                item.open_incidents, item.resolved_incidents, item.deleted_incidents = open_count, resolved, deleted
    return sorted(found.values(), key=lambda item: item.activity_id, reverse=c.descending)
