"""External tasks: work handed to outside workers (publishing a notice, sending a letter, fetching an
enterprise's data) under a lock with a lease, with retries and incidents when a worker keeps failing.

The task rows are a projection of the instances' open service tasks; the lock, the worker and the
retries are kept only here. Every command checks that the caller still holds the lock: a worker
whose lease ran out and whose task another worker took cannot complete it.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, update
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases import leases
from app.cases.binary_variables import with_bytes
from app.cases.instances import (
    EXTERNAL_TASK_COMPLETED,
    EXTERNAL_TASK_FAILED,
    MAX_THROWN_CODE,
    MAX_THROWN_MESSAGE,
    get_active_instance,
    instance_of_open_work,
    jsonable,
    load_run,
    read_run,
    record,
    refuse_long_thrown,
    refuse_reserved_keys,
    save_run,
)
from app.context import Services
from app.errors import BadUserRequest, InvalidRequest, NotFound, SuspendedEntityInteraction
from app.extensions import confidentiality
from app.persistence.models import ExternalTask, Incident, ProcessInstance
from app.persistence.queries import definitions_named, later_than, like, sorted_by

FAILED_EXTERNAL_TASK = "failedExternalTask"



@dataclass(frozen=True)
class TopicRequest:
    """One topic of a fetch, with Camunda's filters: a task is fetched when it meets every one given."""

    topic_name: str
    lock_duration_ms: int
    variables: list[str] | None = None
    # Only the task's own variables (Camunda's localVariables), not the case's.
    local_variables: bool = False
    business_key: str | None = None
    process_definition_id: str | None = None
    process_definition_ids: list[str] = field(default_factory=list)
    process_definition_key: str | None = None
    process_definition_keys: list[str] = field(default_factory=list)
    process_definition_version_tag: str | None = None
    tenant_ids: list[str] | None = None
    without_tenant_id: bool = False
    process_instance_id: str | None = None
    include_extension_properties: bool = False

    def conditions(self) -> list[ColumnElement[bool]]:
        # As Camunda's query: a text given, even empty, must equal; an empty list filters nothing;
        # tenantIdIn, once given, replaces withoutTenantId; the version tag is a LIKE pattern.
        given: list[tuple[bool, ColumnElement[bool]]] = [
            (self.business_key is not None, ExternalTask.business_key == self.business_key),
            (self.process_definition_id is not None, ExternalTask.process_definition_id == self.process_definition_id),
            (bool(self.process_definition_ids), ExternalTask.process_definition_id.in_(self.process_definition_ids)),
            (self.process_definition_key is not None,
             ExternalTask.process_definition_key == self.process_definition_key),
            (bool(self.process_definition_keys),
             ExternalTask.process_definition_key.in_(self.process_definition_keys)),
            (self.process_definition_version_tag is not None,
             like(ExternalTask.process_definition_version_tag, self.process_definition_version_tag or "")),
            (bool(self.tenant_ids), ExternalTask.tenant_id.in_(self.tenant_ids or ())),
            (self.without_tenant_id and self.tenant_ids is None, ExternalTask.tenant_id.is_(None)),
            (self.process_instance_id is not None, ExternalTask.process_instance_id == self.process_instance_id)]
        return [condition for applies, condition in given if applies]


@dataclass
class LockedTask:
    task: ExternalTask
    variables: dict[str, Any]
    # The camunda:properties of the task's element, when the topic asked for them.
    extension_properties: dict[str, str] = field(default_factory=dict)


# The longest a lock or a retry timeout may last, in ms: a century, far within the dates a database keeps.
LONGEST_LOCK_MS = timedelta(days=36_500) // timedelta(milliseconds=1)


def _lasting(milliseconds: int, name: str) -> timedelta:
    if milliseconds > LONGEST_LOCK_MS:
        raise InvalidRequest(f"{name} must be at most {LONGEST_LOCK_MS} ms (100 years)")
    return timedelta(milliseconds=milliseconds)


def _fetchable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    # A suspended instance's tasks wait for its activation (app.cases.suspension).
    return (leases.free(ExternalTask.lock_expiration, now),
            or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0), ExternalTask.suspended.is_(False))


def fetch_and_lock(services: Services, *, worker_id: str, max_tasks: int, topics: list[TopicRequest],
                   use_priority: bool = False, reader: Principal) -> list[LockedTask]:
    """Lock up to `max_tasks` open tasks of the topics for the worker; skips tasks locked elsewhere."""
    if not worker_id:
        raise InvalidRequest("workerId is required")
    if max_tasks < 0:
        raise InvalidRequest("maxTasks must not be negative")
    locked: list[LockedTask] = []
    with services.db.write() as session:
        now = services.clock.now()
        for topic in topics:
            if len(locked) >= max_tasks:
                break
            if topic.lock_duration_ms <= 0:
                raise InvalidRequest(f"lockDuration of topic '{topic.topic_name}' must be positive")
            query = select(ExternalTask).where(ExternalTask.topic_name == topic.topic_name, *_fetchable(now),
                                               *topic.conditions())
            order = [ExternalTask.priority.desc()] if use_priority else []
            rows = session.scalars(query.order_by(*order, ExternalTask.created, ExternalTask.id)
                                   .limit(max_tasks - len(locked)).with_for_update(skip_locked=True)).all()
            expiry = now + _lasting(topic.lock_duration_ms, "lockDuration")
            for row in rows:
                row.worker_id, row.lock_expiration = worker_id, expiry
                locked.append(_locked(services, session, row, topic, reader))
        if locked:
            session.flush()
    return locked


def _locked(services: Services, session: Session, task: ExternalTask, topic: TopicRequest,
            reader: Principal) -> LockedTask:
    instance = get_active_instance(session, task.process_instance_id)
    run = read_run(services, session, instance)
    # What the task sees: the case's variables and its own (input parameters, a multi-instance instance's),
    # or its own alone.
    seen = run.external_task_local_variables(task.id) if topic.local_variables else run.task_variables(task.id)
    values = confidentiality.visible(session, run.model, instance.id, reader, seen)
    names = topic.variables
    element = run.model.elements.get(task.activity_id)
    return LockedTask(task, with_bytes(session, values if names is None else
                                       {name: values[name] for name in names if name in values}),
                      dict(element.properties) if topic.include_extension_properties and element else {})


def _held(session: Session, services: Services, task_id: str, worker_id: str | None, action: str) -> ExternalTask:
    task = get_external_task(session, task_id)
    if task.suspended:
        raise SuspendedEntityInteraction(f"ExternalTask with id '{task_id}' is suspended: it cannot be {action} "
                                         "until its process instance is activated")
    leases.require_held(f"External Task {task_id}", holder=task.worker_id, lock_expiration=task.lock_expiration,
                        worker_id=worker_id, now=services.clock.now(), action=action)
    return task


def complete(services: Services, task_id: str, *, worker_id: str, variables: Mapping[str, Any],
             actor: Principal) -> None:
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        task = _held(session, services, task_id, worker_id, "completed")
        instance = instance_of_open_work(session, task.process_instance_id)
        run = load_run(services, session, instance)
        result = run.complete_external_task(task_id, variables)
        now = services.clock.now()
        record(session, instance, EXTERNAL_TASK_COMPLETED, now, user_id=actor.user_id, activity_id=task.activity_id,
               task_id=task_id, worker_id=worker_id, topic=task.topic_name, variables=jsonable(variables),
               priority=task.priority, retries=task.retries)
        save_run(services, session, instance, run, result, now)


def bpmn_error(services: Services, task_id: str, *, worker_id: str, error_code: str | None, error_message: str | None,
               variables: Mapping[str, Any], actor: Principal) -> None:
    refuse_long_thrown("errorCode", error_code, MAX_THROWN_CODE)
    refuse_long_thrown("errorMessage", error_message, MAX_THROWN_MESSAGE)
    if not error_code:
        raise InvalidRequest("errorCode is required")
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        task = _held(session, services, task_id, worker_id, "reported")
        instance = instance_of_open_work(session, task.process_instance_id)
        run = load_run(services, session, instance)
        result = run.throw_bpmn_error(task_id, error_code, error_message, variables)
        now = services.clock.now()
        record(session, instance, "externalTask.bpmnError", now, user_id=actor.user_id, activity_id=task.activity_id,
               task_id=task_id, worker_id=worker_id, error_code=error_code, error_message=error_message,
               variables=jsonable(variables))
        save_run(services, session, instance, run, result, now)


def failure(services: Services, task_id: str, *, worker_id: str, error_message: str | None,
            error_details: str | None, retries: int, retry_timeout_ms: int, actor: Principal) -> None:
    """The worker could not do the task. With retries left it becomes fetchable again after the retry
    timeout; with none left an incident tells an operator."""
    if retries < 0 or retry_timeout_ms < 0:
        raise InvalidRequest("retries and retryTimeout must not be negative")
    for name, given in (("errorMessage", error_message), ("errorDetails", error_details)):
        if given is not None and not isinstance(given, str):
            raise InvalidRequest(f"'{name}' must be a string")
    with services.db.write() as session:
        task = _held(session, services, task_id, worker_id, "failed")
        now = services.clock.now()
        task.retries, task.error_message, task.error_details = retries, error_message, error_details
        task.lock_expiration = now + _lasting(retry_timeout_ms, "retryTimeout") if retry_timeout_ms else None
        instance = session.get_one(ProcessInstance, task.process_instance_id)
        record(session, instance, EXTERNAL_TASK_FAILED, now, user_id=actor.user_id, activity_id=task.activity_id,
               task_id=task_id, worker_id=worker_id, error_message=error_message, retries=retries,
               topic=task.topic_name, priority=task.priority, error_details=error_details)
        if retries == 0:
            _raise_incident(session, instance, task, now)


def _raise_incident(session: Session, instance: ProcessInstance, task: ExternalTask, now: datetime) -> None:
    session.add(Incident(id=str(uuid.uuid4()), process_instance_id=task.process_instance_id,
                         process_definition_id=task.process_definition_id, activity_id=task.activity_id,
                         incident_type=FAILED_EXTERNAL_TASK, configuration=task.id, message=task.error_message,
                         created=now, end_time=None, tenant_id=task.tenant_id))
    record(session, instance, "incident.created", now, activity_id=task.activity_id, task_id=task.id,
           incident_type=FAILED_EXTERNAL_TASK, message=task.error_message)


def set_retries(services: Services, task_ids: list[str], retries: int, *, actor: Principal) -> None:
    """An operator gives failed tasks new retries, all in one unit of work; the incident of each is
    resolved when retries are back, and one is raised when they are set to 0."""
    if retries < 0:
        raise InvalidRequest("retries must not be negative")
    with services.db.write() as session:
        for task_id in dict.fromkeys(task_ids):
            _set_retries(session, services.clock.now(), get_external_task(session, task_id), retries, actor)


def tasks_of_instances(services: Services, instance_ids: list[str]) -> list[str]:
    """The open external tasks of the instances (Camunda's processInstanceIds of a bulk retries)."""
    with services.db.read() as session:
        return list(session.scalars(select(ExternalTask.id).where(ExternalTask.process_instance_id.in_(instance_ids))
                                    .order_by(ExternalTask.created, ExternalTask.id)))


def _of_task(task_id: str) -> ColumnElement[bool]:
    """The incidents of a failed external task (an operator's raised incident names its execution
    instead, whatever its configuration says)."""
    return (Incident.configuration == task_id) & Incident.execution_id.is_(None)


def _set_retries(session: Session, now: datetime, task: ExternalTask, retries: int, actor: Principal) -> None:
    task.retries = retries
    instance = session.get_one(ProcessInstance, task.process_instance_id)
    record(session, instance, "externalTask.retriesSet", now, user_id=actor.user_id, activity_id=task.activity_id,
           task_id=task.id, retries=retries)
    if retries > 0:
        session.execute(update(Incident).where(_of_task(task.id), Incident.end_time.is_(None))
                        .values(end_time=now, resolved=True))
    elif not session.scalars(select(Incident.id).where(_of_task(task.id),
                                                       Incident.end_time.is_(None))).first():
        _raise_incident(session, instance, task, now)


def lock(services: Services, task_id: str, *, worker_id: str, duration_ms: int) -> None:
    """Lock one task for a worker (Camunda's /lock): refused while another worker's lock runs."""
    if not worker_id:
        raise InvalidRequest("workerId is required")
    if duration_ms <= 0:
        raise BadUserRequest("lockDuration is not greater than 0")
    with services.db.write() as session:
        task = get_external_task(session, task_id)
        now = services.clock.now()
        if task.suspended:
            raise SuspendedEntityInteraction(f"ExternalTask with id '{task_id}' is suspended: it cannot be locked "
                                             "until its process instance is activated")
        if task.worker_id not in (None, worker_id) and task.lock_expiration is not None and task.lock_expiration > now:
            raise BadUserRequest(f"External Task {task_id} cannot be locked by worker '{worker_id}'. "
                                 f"It is locked by worker '{task.worker_id}'.")
        task.worker_id, task.lock_expiration = worker_id, now + _lasting(duration_ms, "lockDuration")


def set_priority(services: Services, task_id: str, priority: int) -> None:
    """Which task fetchAndLock hands out first when a worker asks with usePriority."""
    with services.db.write() as session:
        get_external_task(session, task_id).priority = priority


def topic_names(services: Services, query: Select) -> list[str]:
    """The distinct topics of the tasks the external-task query finds."""
    with services.db.read() as session:
        found = query.order_by(None).with_only_columns(ExternalTask.topic_name).distinct()
        return sorted(session.scalars(found))


def extend_lock(services: Services, task_id: str, *, worker_id: str, new_duration_ms: int) -> None:
    if new_duration_ms <= 0:
        raise InvalidRequest("newDuration must be positive")
    with services.db.write() as session:
        task = _held(session, services, task_id, worker_id, "extended")
        task.lock_expiration = services.clock.now() + _lasting(new_duration_ms, "newDuration")


def unlock(services: Services, task_id: str) -> None:
    with services.db.write() as session:
        task = get_external_task(session, task_id)
        task.worker_id, task.lock_expiration = None, None


def get_external_task(session: Session, task_id: str) -> ExternalTask:
    task = session.get(ExternalTask, task_id)
    if task is None:
        raise NotFound(f"External task with id {task_id} does not exist")
    return task


def get_incident(session: Session, incident_id: str) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None or incident.end_time is not None:
        raise NotFound(f"No incident found with id '{incident_id}'")
    return incident


# Camunda's external task sort keys, by the column each orders.
EXTERNAL_TASK_SORTS = {"id": ExternalTask.id, "lockExpirationTime": ExternalTask.lock_expiration,
                       "processInstanceId": ExternalTask.process_instance_id,
                       "processDefinitionId": ExternalTask.process_definition_id,
                       "processDefinitionKey": ExternalTask.process_definition_key, "tenantId": ExternalTask.tenant_id,
                       "taskPriority": ExternalTask.priority, "createTime": ExternalTask.created}


@dataclass(frozen=True)
class ExternalTaskFilter:
    """Camunda's external task query. Each tuple of a tuple-of-tuples field is a set of values the
    task's must be among: Camunda's `externalTaskId` and `externalTaskIdIn` (or a key and a key list)
    narrow together."""

    task_ids: tuple[tuple[str, ...], ...] = ()
    instance_ids: tuple[tuple[str, ...], ...] = ()
    definition_keys: tuple[tuple[str, ...], ...] = ()
    activity_ids: tuple[tuple[str, ...], ...] = ()
    topic_name: str | None = None
    worker_id: str | None = None
    definition_id: str | None = None
    definition_name: str | None = None
    definition_name_like: str | None = None
    business_key: str | None = None
    tenant_ids: tuple[str, ...] = ()
    lock_expires_before: datetime | None = None
    lock_expires_after: datetime | None = None
    locked: bool = False
    not_locked: bool = False
    with_retries_left: bool = False
    no_retries_left: bool = False
    suspended: bool | None = None
    lowest_priority: int | None = None
    highest_priority: int | None = None
    sorting: tuple[tuple[str, bool], ...] = ()


def external_task_query(criteria: ExternalTaskFilter, now: datetime, *, viewer: Principal | None = None) -> Select:
    """Open external tasks the criteria find. The systems that work them see them all; others those
    of the cases they may read."""
    query = permissions.only_visible(select(ExternalTask), ExternalTask.process_instance_id,
                                     permissions.unless_in(viewer, permissions.SYSTEMS))
    c = criteria
    conditions: list[Any] = [
        *(ExternalTask.id.in_(ids) for ids in c.task_ids),
        *(ExternalTask.process_instance_id.in_(ids) for ids in c.instance_ids),
        *(ExternalTask.process_definition_key.in_(keys) for keys in c.definition_keys),
        *(ExternalTask.activity_id.in_(ids) for ids in c.activity_ids)]
    for value, column in ((c.topic_name, ExternalTask.topic_name), (c.worker_id, ExternalTask.worker_id),
                          (c.definition_id, ExternalTask.process_definition_id),
                          (c.business_key, ExternalTask.business_key)):
        if value is not None:
            conditions.append(column == value)
    if c.definition_name is not None or c.definition_name_like is not None:
        conditions.append(ExternalTask.process_definition_id.in_(
            definitions_named(c.definition_name, c.definition_name_like)))
    if c.tenant_ids:
        conditions.append(ExternalTask.tenant_id.in_(c.tenant_ids))
    if c.lock_expires_before is not None:
        conditions.append(ExternalTask.lock_expiration < c.lock_expires_before)
    if c.lock_expires_after is not None:
        conditions.append(later_than(ExternalTask.lock_expiration, c.lock_expires_after))
    if c.locked:
        conditions.append(ExternalTask.lock_expiration > now)
    if c.not_locked:
        conditions.append(leases.free(ExternalTask.lock_expiration, now))
    if c.with_retries_left:
        conditions.append(or_(ExternalTask.retries.is_(None), ExternalTask.retries > 0))
    if c.no_retries_left:
        conditions.append(ExternalTask.retries == 0)
    if c.suspended is not None:
        conditions.append(ExternalTask.suspended.is_(c.suspended))
    if c.lowest_priority is not None:
        conditions.append(ExternalTask.priority >= c.lowest_priority)
    if c.highest_priority is not None:
        conditions.append(ExternalTask.priority <= c.highest_priority)
    order = [sorted_by(EXTERNAL_TASK_SORTS[key], descending)
             for key, descending in c.sorting]
    return query.where(*conditions).order_by(*order, ExternalTask.created, ExternalTask.id)


def _equal_to(query: Select, p: Mapping[str, Any], equal: list[tuple[str, Any]]) -> Select:
    """The query narrowed by the equality filters given (texts, under Camunda's parameter names)."""
    for name, column in equal:
        value = p.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"'{name}' must be a string")
        query = query.where(column == value)
    return query


@dataclass(frozen=True)
class IncidentNarrowing:
    """Camunda's incident filters that are lists, patterns or times, and its sort keys."""

    definition_keys: tuple[str, ...] = ()
    tenant_ids: tuple[str, ...] = ()
    without_tenant: bool = False
    # An incident of the service is never one of a job definition.
    job_definition_ids: tuple[str, ...] = ()
    message_like: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    sorting: tuple[tuple[str, bool], ...] = ()


# Camunda's incident sort keys (the history's add theirs in app.cases.incidents).
INCIDENT_SORTS: dict[str, Any] = {
    "incidentId": Incident.id, "incidentMessage": Incident.message, "incidentTimestamp": Incident.created,
    "incidentType": Incident.incident_type, "executionId": func.coalesce(Incident.execution_id, Incident.configuration),
    "activityId": Incident.activity_id, "processInstanceId": Incident.process_instance_id,
    "processDefinitionId": Incident.process_definition_id, "causeIncidentId": Incident.id,
    "rootCauseIncidentId": Incident.id, "configuration": Incident.configuration, "tenantId": Incident.tenant_id}


def incident_query(p: Mapping[str, Any], *, open_only: bool = True, viewer: Principal | None = None,
                   narrowing: IncidentNarrowing | None = None, sorts: Mapping[str, Any] = INCIDENT_SORTS) -> Select:
    """Incidents by Camunda's filters: the texts in `p` under its names, the rest in `narrowing`. An
    incident is its own cause and root cause, and its execution is the one it was raised on or its
    external task."""
    query = permissions.only_visible(select(Incident), Incident.process_instance_id,
                                     permissions.unless_in(viewer, permissions.SYSTEMS))
    if open_only:
        query = query.where(Incident.end_time.is_(None))
    equal = [("incidentId", Incident.id), ("incidentType", Incident.incident_type),
             ("processInstanceId", Incident.process_instance_id), ("activityId", Incident.activity_id),
             ("processDefinitionId", Incident.process_definition_id), ("configuration", Incident.configuration),
             ("failedActivityId", Incident.activity_id), ("incidentMessage", Incident.message),
             ("causeIncidentId", Incident.id), ("rootCauseIncidentId", Incident.id),
             ("executionId", func.coalesce(Incident.execution_id, Incident.configuration))]
    query = _equal_to(query, p, equal)
    n = narrowing or IncidentNarrowing()
    if n.definition_keys:
        query = query.where(Incident.process_instance_id.in_(
            select(ProcessInstance.id).where(ProcessInstance.definition_key.in_(n.definition_keys))))
    if n.tenant_ids:
        query = query.where(Incident.tenant_id.in_(n.tenant_ids))
    if n.without_tenant:
        query = query.where(Incident.tenant_id.is_(None))
    if n.job_definition_ids:
        query = query.where(false())
    if n.message_like is not None:
        query = query.where(like(Incident.message, n.message_like))
    if n.created_before is not None:
        query = query.where(Incident.created < n.created_before)
    if n.created_after is not None:
        query = query.where(later_than(Incident.created, n.created_after))
    order = [sorted_by(sorts[key], descending) for key, descending in n.sorting]
    return query.order_by(*order, Incident.created, Incident.id)


def readable_external_task(services: Services, task_id: str, viewer: Principal) -> ExternalTask:
    """An external task, for the systems and those who may read its case."""
    with services.db.read() as session:
        task = get_external_task(session, task_id)
        _require_read(session, viewer, task.process_instance_id, "ExternalTask", task.id)
        return task


def readable_incident(services: Services, incident_id: str, viewer: Principal) -> Incident:
    """An incident, for the systems and those who may read its case."""
    with services.db.read() as session:
        incident = get_incident(session, incident_id)
        _require_read(session, viewer, incident.process_instance_id, "Incident", incident.id)
        return incident


def _require_read(session: Session, viewer: Principal, instance_id: str, resource_type: str,
                  resource_id: str) -> None:
    # The systems work every case's external tasks and see their incidents (as the lists show them).
    if permissions.SYSTEMS not in viewer.groups:
        permissions.require_instance_read(session, viewer, instance_id, resource_type, resource_id)
