"""Camunda's historic job log of the service's timers: a row when a timer is created, when it fires
(success) and when it goes without firing (deletion: its activity ended, its case ended or was
deleted, an operator deleted it), written in the unit of work of that change, and read as
/history/job-log answers it, only by those who may read the case.

A firing whose step fails is written not at all (the timer worker retries it at its next round), so
the log has no failure rows; a cycle that fires keeps its job id and is logged as fired, then as
created again with its next due instant.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.context import Services
from app.engine import PendingTimer, TimerJobDefinition
from app.errors import NotFound
from app.persistence.models import JobLog, ProcessDefinition, ProcessInstance, Timer
from app.persistence.queries import sorted_by

STATES = ("creation", "failure", "success", "deletion")
_FIRED = "fired_timers"
SORTS = {"timestamp": JobLog.timestamp, "jobId": JobLog.job_id, "jobDueDate": JobLog.due_at,
         "jobPriority": JobLog.priority, "activityId": JobLog.activity_id,
         "executionId": JobLog.process_instance_id, "processInstanceId": JobLog.process_instance_id,
         "processDefinitionId": JobLog.process_definition_id, "processDefinitionKey": JobLog.process_definition_key,
         "deploymentId": ProcessDefinition.deployment_id, "tenantId": JobLog.tenant_id,
         "jobDefinitionId": JobLog.process_definition_id, "occurrence": JobLog.id,
         # The same for every row here (retries 3, no host recorded): the time order decides.
         "jobRetries": JobLog.timestamp, "hostname": JobLog.timestamp}


def mark_fired(session: Session, job_ids: Iterable[str]) -> None:
    """The timers that fired in this unit of work: the step that writes them logs their success."""
    session.info.setdefault(_FIRED, set()).update(job_ids)


def _row(state: str, now: datetime, job_id: str, due: datetime | None, priority: int, activity_id: str,
         definitions: Mapping[str, TimerJobDefinition], *, instance_id: str | None, definition_id: str,
         definition_key: str, tenant_id: str | None) -> dict[str, Any]:
    definition = definitions.get(activity_id)
    return {"timestamp": now, "state": state, "job_id": job_id, "due_at": due,
            "priority": priority, "activity_id": activity_id,
            "job_type": definition.job_type if definition else None,
            "configuration": definition.configuration if definition else None, "process_instance_id": instance_id,
            "process_definition_id": definition_id, "process_definition_key": definition_key, "tenant_id": tenant_id}


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(JobLog.__table__.insert(), rows)


def timers_changed(session: Session, instance: ProcessInstance, definitions: Sequence[TimerJobDefinition],
                   before: Mapping[str, Any], after: Sequence[PendingTimer], now: datetime) -> None:
    """Log what a step did to an instance's timers: `before` the rows it waited on (id, due_at,
    priority, activity_id), `after` what it waits on now."""
    fired: set[str] = session.info.get(_FIRED, set())
    by_activity = {definition.activity_id: definition for definition in definitions}
    waiting = {timer.task_id for timer in after}
    of: dict[str, Any] = {"instance_id": instance.id, "definition_id": instance.definition_id,
          "definition_key": instance.definition_key, "tenant_id": instance.tenant_id}
    rows = [_row("success" if job_id in fired else "deletion", now, job_id, old.due_at, old.priority,
                 old.activity_id, by_activity, **of)
            for job_id, old in before.items() if job_id in fired or job_id not in waiting]
    rows += [_row("creation", now, timer.task_id, timer.due, timer.priority, timer.activity_id, by_activity, **of)
             for timer in after if timer.task_id not in before or timer.task_id in fired]
    fired.difference_update(before)
    _write(session, rows)


def start_timer_changed(session: Session, timer: Timer, state: str, now: datetime,
                        definitions: Sequence[TimerJobDefinition], tenant_id: str | None) -> None:
    """Log a timer start event's job: created at deployment or after a firing, fired, or deleted."""
    _write(session, [_row(state, now, timer.id, timer.due_at, timer.priority, timer.activity_id,
                          {definition.activity_id: definition for definition in definitions}, instance_id=None,
                          definition_id=str(timer.process_definition_id), definition_key=timer.process_definition_key,
                          tenant_id=tenant_id)])


def job_log_query(p: Mapping[str, Any], *, activities: list[str], tenants: list[str], states: set[str],
                  sort: list[tuple[str, str]], viewer: Principal, executions: Sequence[str] = (),
                  priorities: tuple[int | None, int | None] = (None, None), without_tenant: bool = False,
                  nothing: bool = False) -> Select:
    """Camunda's historic job log query: logId, jobId, jobDefinitionId, jobDefinitionType,
    jobDefinitionConfiguration, processInstanceId, executionIdIn, processDefinitionId/Key, deploymentId,
    the activities and tenants, the log states asked (creationLog ...), sorted as asked, then by time.
    A timer runs in its instance's one execution; `nothing` asks for what no log row of a timer is (a
    failure's, a host's)."""
    query = (select(JobLog, ProcessDefinition.deployment_id, ProcessInstance.root_process_instance_id)
             .outerjoin(ProcessDefinition, ProcessDefinition.id == JobLog.process_definition_id)
             .outerjoin(ProcessInstance, ProcessInstance.id == JobLog.process_instance_id))
    if p.get("logId") is not None:
        log_id = str(p["logId"])
        query = query.where(JobLog.id == int(log_id) if log_id.isdigit() and len(log_id) < 10 else false())
    for name, column in (("jobId", JobLog.job_id), ("jobDefinitionType", JobLog.job_type),
                         ("jobDefinitionConfiguration", JobLog.configuration),
                         ("processInstanceId", JobLog.process_instance_id),
                         ("processDefinitionId", JobLog.process_definition_id),
                         ("processDefinitionKey", JobLog.process_definition_key),
                         ("deploymentId", ProcessDefinition.deployment_id)):
        if p.get(name) is not None:
            query = query.where(column == str(p[name]))
    if p.get("jobDefinitionId") is not None:
        definition_id, _, activity_id = str(p["jobDefinitionId"]).partition("#")
        query = query.where(JobLog.process_definition_id == definition_id, JobLog.activity_id == activity_id)
    if activities:
        query = query.where(JobLog.activity_id.in_(activities))
    if tenants:
        query = query.where(JobLog.tenant_id.in_(tenants))
    if states:
        query = query.where(JobLog.state.in_(states))
    if executions:
        query = query.where(JobLog.process_instance_id.in_(executions))
    lowest, highest = priorities
    if lowest is not None:
        query = query.where(JobLog.priority >= lowest)
    if highest is not None:
        query = query.where(JobLog.priority <= highest)
    if without_tenant:
        query = query.where(JobLog.tenant_id.is_(None))
    if nothing:
        query = query.where(false())
    order = [sorted_by(SORTS[key], direction == "desc") for key, direction in sort]
    # Rows of one instant keep the order they were written in, read the way the sort asks.
    backwards = bool(sort) and sort[-1][1] == "desc"
    query = query.order_by(*order, JobLog.timestamp.desc() if backwards else JobLog.timestamp,
                           JobLog.id.desc() if backwards else JobLog.id)
    return permissions.only_visible(query, JobLog.process_instance_id,
                                    permissions.unless_in(viewer, permissions.SYSTEMS))


def readable_log(services: Services, log_id: str, viewer: Principal) -> tuple[JobLog, str | None, str | None]:
    with services.db.read() as session:
        found = session.execute(job_log_query({"logId": log_id}, activities=[], tenants=[], states=set(), sort=[],
                                              viewer=viewer)).first()
    if found is None:
        raise NotFound(f"Historic job log with id {log_id} does not exist")
    return found[0], found[1], found[2]
