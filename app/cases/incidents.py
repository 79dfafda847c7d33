"""What operators do with incidents (an external task that ran out of retries), as Camunda's
/incident and /history/incident offer it: annotate one, try to resolve one, and read them all,
open or ended, years later."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.external_tasks import get_incident, incident_query
from app.cases.instances import record
from app.context import Services
from app.errors import BadUserRequest, InvalidRequest
from app.persistence.models import Incident, ProcessInstance

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
    """Camunda resolves by hand only incidents of its own custom types; a failed external task's
    incident ends when the task gets new retries (PUT /external-task/{id}/retries), and every
    incident here is one, so this is refused as Camunda refuses it."""
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "Incident", incident_id)
    with services.db.read() as session:
        incident = get_incident(session, incident_id)
    raise BadUserRequest(f"Cannot resolve an incident of type {incident.incident_type}")


def history_query(p: Mapping[str, Any], created: tuple[datetime | None, datetime | None],
                  ended: tuple[datetime | None, datetime | None], states: set[str], *, viewer: Principal) -> Select:
    """Every incident, open or ended: Camunda's /history/incident filters (the states asked among
    open, resolved, deleted; create and end times) beside those of /incident."""
    query = incident_query(p, open_only=False, viewer=viewer)
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
