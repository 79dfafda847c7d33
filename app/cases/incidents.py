"""What operators do with incidents, as Camunda's /incident and /history/incident offer it: raise
one of their own type on an execution, annotate one, resolve one of their own (an external task
that ran out of retries is resolved by new retries), and read them all, open or ended, years later."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.external_tasks import (
    FAILED_EXTERNAL_TASK,
    INCIDENT_SORTS,
    IncidentNarrowing,
    get_incident,
    incident_query,
)
from app.cases.instances import record
from app.cases.projections import ACTIVE
from app.context import Services
from app.errors import BadUserRequest, InvalidRequest
from app.persistence.models import ActivityInstance, EventSubscription, Incident, ProcessDefinition, ProcessInstance

# An annotation is an operator's note, not a document.
ANNOTATION_LIMIT = 4000


def annotate(services: Services, incident_id: str, annotation: Any, *, actor: Principal) -> None:
    """Set (or, with None, clear) the incident's annotation; recorded in its case's history."""
    if annotation is not None and (not isinstance(annotation, str) or len(annotation) > ANNOTATION_LIMIT):
        raise InvalidRequest(f"An annotation is a text of at most {ANNOTATION_LIMIT} characters")
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "Incident", incident_id)
    with services.db.write() as session:
        incident = get_incident(session, incident_id)
        incident.annotation = annotation
        record(session, session.get_one(ProcessInstance, incident.process_instance_id), "incident.annotated",
               services.clock.now(), user_id=actor.user_id, activity_id=incident.activity_id,
               incidentId=incident_id, annotation=annotation)


def resolve(services: Services, incident_id: str, *, actor: Principal) -> None:
    """Camunda resolves by hand only incidents of custom types; a failed external task's incident
    ends when the task gets new retries (PUT /external-task/{id}/retries), so resolving one is
    refused as Camunda refuses it. Recorded in its case's history."""
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "Incident", incident_id)
    with services.db.write() as session:
        incident = get_incident(session, incident_id)
        if incident.incident_type in _BUILT_IN:
            raise BadUserRequest(f"Cannot resolve an incident of type {incident.incident_type}")
        now = services.clock.now()
        incident.end_time, incident.resolved = now, True
        record(session, session.get_one(ProcessInstance, incident.process_instance_id), "incident.resolved", now,
               user_id=actor.user_id, activity_id=incident.activity_id, incidentId=incident_id,
               incidentType=incident.incident_type)


# The types the service raises itself (Camunda's failedJob does not occur: timers do not fail as jobs).
_BUILT_IN = (FAILED_EXTERNAL_TASK, "failedJob")


def create(services: Services, execution_id: str, incident_type: Any, configuration: Any, message: Any, *,
           actor: Principal) -> Incident:
    """Raise an incident of the operator's own type on a running instance's execution (the
    instance's, or a token waiting in it), as Camunda's POST /execution/{id}/create-incident; it
    ends (deleted) when its execution does, or is resolved by hand. Recorded in the case's history."""
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "ProcessInstance", execution_id)
    if incident_type is None:
        raise BadUserRequest("incidentType is null")
    for name, value, most in (("incidentType", incident_type, 64), ("configuration", configuration, 255),
                              ("message", message, ANNOTATION_LIMIT)):
        if value is not None and (not isinstance(value, str) or len(value) > most):
            raise InvalidRequest(f"'{name}' is a text of at most {most} characters")
    if not incident_type.strip():  # Camunda takes it; an incident of no type can be neither told apart nor found
        raise BadUserRequest("incidentType is empty")
    if incident_type in _BUILT_IN:
        raise BadUserRequest(f"Incidents of type {incident_type} are raised by the service itself; raise one of "
                             "a type of your own")
    with services.db.write() as session:
        instance, activity_id = _execution(session, execution_id)
        now = services.clock.now()
        incident = Incident(id=str(uuid.uuid4()), process_instance_id=instance.id,
                            process_definition_id=instance.definition_id, activity_id=activity_id,
                            incident_type=incident_type, configuration=configuration, message=message, created=now,
                            tenant_id=instance.tenant_id, resolved=False, execution_id=execution_id)
        session.add(incident)
        instance.raised_incidents = True
        record(session, instance, "incident.created", now, user_id=actor.user_id, activity_id=activity_id,
               incidentId=incident.id, incident_type=incident_type, configuration=configuration, message=message,
               executionId=execution_id)
    return incident


def _execution(session: Session, execution_id: str) -> tuple[ProcessInstance, str]:
    """The running instance of an execution and the activity it stands at: a waiting token's, or the
    instance's own while one activity of it is open (Camunda: an execution related to an activity)."""
    token = session.scalars(select(EventSubscription).where(EventSubscription.task_id == execution_id,
                                                            EventSubscription.process_instance_id.is_not(None))
                            .order_by(EventSubscription.id).limit(1)).first()
    instance = session.get(ProcessInstance, token.process_instance_id if token else execution_id)
    if instance is None or instance.status != ACTIVE:
        raise BadUserRequest(f"Cannot find an execution with executionId '{execution_id}': execution is null")
    if token is not None and token.activity_id is not None:
        return instance, token.activity_id
    open_activities = session.scalars(select(ActivityInstance.activity_id).where(
        ActivityInstance.process_instance_id == instance.id, ActivityInstance.end_time.is_(None)).limit(2)).all()
    if len(open_activities) != 1:
        raise BadUserRequest("Execution must be related to an activity: activity is null (the instance stands at "
                             f"{len(open_activities)} activities: raise it on the execution of one, "
                             "GET /execution?processInstanceId=...)")
    return instance, open_activities[0]


# Camunda's historic incident sort keys: the incident's and those of its history.
HISTORIC_INCIDENT_SORTS: dict[str, Any] = {
    **INCIDENT_SORTS, "createTime": Incident.created, "endTime": Incident.end_time,
    "processDefinitionKey": select(ProcessDefinition.key).where(ProcessDefinition.id == Incident.process_definition_id)
    .scalar_subquery(), "historyConfiguration": Incident.id,  # no incident here has a history configuration
    "incidentState": case((Incident.end_time.is_(None), 0), (Incident.resolved.is_(True), 1), else_=2)}


def history_query(p: Mapping[str, Any], created: tuple[datetime | None, datetime | None],
                  ended: tuple[datetime | None, datetime | None], states: set[str], *, viewer: Principal,
                  narrowing: IncidentNarrowing | None = None) -> Select:
    """Every incident, open or ended: Camunda's /history/incident filters (the states asked among
    open, resolved, deleted; create and end times) beside those of /incident."""
    query = incident_query(p, open_only=False, viewer=viewer, narrowing=narrowing, sorts=HISTORIC_INCIDENT_SORTS)
    if p.get("processDefinitionKey") is not None:
        query = query.where(Incident.process_instance_id.in_(
            select(ProcessInstance.id).where(ProcessInstance.definition_key == str(p["processDefinitionKey"]))))
    conditions = {"open": Incident.end_time.is_(None),
              "resolved": Incident.end_time.is_not(None) & Incident.resolved.is_(True),
              "deleted": Incident.end_time.is_not(None) & Incident.resolved.is_(False)}
    for name, condition in conditions.items():
        if name in states:
            query = query.where(condition)
    for (before, after), column in ((created, Incident.created), (ended, Incident.end_time)):
        if before is not None:
            query = query.where(column <= before)
        if after is not None:
            query = query.where(column >= after)
    return query
