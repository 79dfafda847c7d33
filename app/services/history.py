"""History queries: instances that ran, activities they went through, and their event record."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.persistence.models import ActivityInstance, ProcessDefinition, ProcessInstance


@dataclass
class InstanceFilter:
    process_instance_id: str | None = None
    process_instance_ids: list[str] = field(default_factory=list)
    business_key: str | None = None
    business_key_like: str | None = None
    definition_id: str | None = None
    definition_key: str | None = None
    definition_key_in: list[str] = field(default_factory=list)
    finished: bool = False
    unfinished: bool = False
    started_before: datetime | None = None
    started_after: datetime | None = None
    state: str | None = None
    sort_desc: dict[str, bool] = field(default_factory=dict)


INSTANCE_SORT = {"instanceId": ProcessInstance.id, "definitionKey": ProcessInstance.definition_key,
                 "definitionId": ProcessInstance.definition_id, "businessKey": ProcessInstance.business_key,
                 "startTime": ProcessInstance.start_time, "endTime": ProcessInstance.end_time}


def historic_instance_query(c: InstanceFilter) -> Select:
    query = select(ProcessInstance, ProcessDefinition).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
    for value, column in [(c.process_instance_id, ProcessInstance.id), (c.business_key, ProcessInstance.business_key),
                          (c.definition_id, ProcessInstance.definition_id),
                          (c.definition_key, ProcessInstance.definition_key), (c.state, ProcessInstance.status)]:
        if value is not None:
            query = query.where(column == value)
    if c.process_instance_ids:
        query = query.where(ProcessInstance.id.in_(c.process_instance_ids))
    if c.definition_key_in:
        query = query.where(ProcessInstance.definition_key.in_(c.definition_key_in))
    if c.business_key_like is not None:
        query = query.where(ProcessInstance.business_key.like(c.business_key_like))
    if c.finished:
        query = query.where(ProcessInstance.end_time.is_not(None))
    if c.unfinished:
        query = query.where(ProcessInstance.end_time.is_(None))
    if c.started_before is not None:
        query = query.where(ProcessInstance.start_time < c.started_before)
    if c.started_after is not None:
        query = query.where(ProcessInstance.start_time > c.started_after)
    order = [INSTANCE_SORT[key].desc() if desc else INSTANCE_SORT[key].asc() for key, desc in c.sort_desc.items()]
    return query.order_by(*order, ProcessInstance.start_time, ProcessInstance.id)


@dataclass
class ActivityFilter:
    process_instance_id: str | None = None
    activity_id: str | None = None
    activity_type: str | None = None
    task_assignee: str | None = None
    finished: bool = False
    unfinished: bool = False
    canceled: bool = False
    sort_desc: dict[str, bool] = field(default_factory=dict)


ACTIVITY_SORT = {"activityInstanceId": ActivityInstance.id, "instanceId": ActivityInstance.process_instance_id,
                 "activityId": ActivityInstance.activity_id, "activityName": ActivityInstance.activity_name,
                 "activityType": ActivityInstance.activity_type, "startTime": ActivityInstance.start_time,
                 "endTime": ActivityInstance.end_time, "occurrence": ActivityInstance.sequence}


def activity_query(c: ActivityFilter) -> Select:
    query = select(ActivityInstance)
    for value, column in [(c.process_instance_id, ActivityInstance.process_instance_id),
                          (c.activity_id, ActivityInstance.activity_id),
                          (c.activity_type, ActivityInstance.activity_type),
                          (c.task_assignee, ActivityInstance.assignee)]:
        if value is not None:
            query = query.where(column == value)
    if c.finished:
        query = query.where(ActivityInstance.end_time.is_not(None))
    if c.unfinished:
        query = query.where(ActivityInstance.end_time.is_(None))
    if c.canceled:
        query = query.where(ActivityInstance.canceled.is_(True))
    order = [ACTIVITY_SORT[key].desc() if desc else ACTIVITY_SORT[key].asc() for key, desc in c.sort_desc.items()]
    return query.order_by(*order, ActivityInstance.start_time, ActivityInstance.sequence)


def historic_instance(session: Session, instance_id: str) -> tuple[ProcessInstance, ProcessDefinition]:
    row = session.execute(historic_instance_query(InstanceFilter(process_instance_id=instance_id))).first()
    if row is None:
        raise NotFound(f"Historic process instance with id {instance_id} does not exist")
    return row[0], row[1]
