"""One self-contained file per case for auditors: the process (and decision) files its runs used,
its history events with their hash chain and anchors, and the calendar years its deadlines counted
in. `verify_document` checks such a file with no database and no service
(`eco-orchestrator verify-export FILE`)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.errors import Forbidden, NotFound
from app.persistence.models import (
    DecisionDefinition,
    DeploymentResource,
    HistoryAnchor,
    HistoryEvent,
    ProcessDefinition,
)
from app.services import calendars, confidentiality, ledger, permissions
from app.services.accounts import Principal
from app.services.instances import get_instance, jsonable, load_run

if TYPE_CHECKING:
    from app.services.context import Services

FORMAT = "eco-orchestrator-case-export/1"


def _resource(session, definition) -> dict[str, Any]:
    content = session.scalars(select(DeploymentResource.content).where(
        DeploymentResource.deployment_id == definition.deployment_id,
        DeploymentResource.name == definition.resource_name)).one()
    return {"id": definition.id, "key": definition.key, "version": definition.version,
            "resource": definition.resource_name, "sha256": hashlib.sha256(content).hexdigest(),
            "content": content.decode("utf-8")}


def export_case(services: "Services", instance_id: str, reader: Principal) -> dict[str, Any]:
    """The case's file. Only for those who may read the case and all of its data: an export is
    verified as a whole, so confidential variables cannot be left out of it."""
    with services.db.read() as session:
        instance = get_instance(session, instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        model = services.models.get(session, instance.definition_id)
        if confidentiality.hidden_names(session, model, instance.id, reader):
            raise Forbidden("The case holds confidential data you may not read (CPA-16); its export is for the "
                            "departments handling it and its named reader groups",
                            details={"userId": reader.user_id, "missingAuthorizations": [
                                {"permissionName": "READ_CONFIDENTIAL", "resourceName": "ProcessInstance",
                                 "resourceId": instance.id}]})
        events = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance.id)
                                 .order_by(HistoryEvent.sequence)).all()
        decision_ids = sorted({event.payload.get("decision_definition_id") for event in events
                               if event.kind == "decision.evaluated"} - {None})
        definitions = [_resource(session, session.get(ProcessDefinition, instance.definition_id))]
        definitions += [_resource(session, session.get(DecisionDefinition, decision_id))
                        for decision_id in decision_ids]
        anchors = session.scalars(select(HistoryAnchor).where(HistoryAnchor.process_instance_id == instance.id)
                                  .order_by(HistoryAnchor.id)).all()
        variables = jsonable(load_run(services, session, instance).variables())
    years = sorted({int(year) for event in events if event.kind.startswith("deadline.")
                    for year in [event.payload.get("start", "")[:4], event.payload.get("due", "")[:4]] if year})
    calendar = []
    for year in years:
        try:
            year_file = calendars.export_year(services, year)
        except NotFound:  # a year the calendar holds no entries for: the deadline was provisional
            continue
        calendar.append({"year": year_file.year, "confirmed": year_file.confirmed, "notice": year_file.notice,
                         "days": [[day.day.isoformat(), day.working, day.name] for day in year_file.days]})
    return {
        "format": FORMAT, "exportedAt": ledger.instant_text(services.clock.now()), "exportedBy": reader.user_id,
        "instance": {"id": instance.id, "definitionId": instance.definition_id, "key": instance.definition_key,
                     "businessKey": instance.business_key, "tenantId": instance.tenant_id, "status": instance.status,
                     "startTime": ledger.instant_text(instance.start_time),
                     "endTime": ledger.instant_text(instance.end_time) if instance.end_time else None,
                     "historyHash": instance.history_hash, "variables": variables},
        "definitions": definitions,
        "events": [{"sequence": e.sequence, "kind": e.kind, "occurredAt": ledger.instant_text(e.occurred_at),
                    "userId": e.user_id, "activityId": e.activity_id, "taskId": e.task_id, "payload": e.payload,
                    "previousHash": e.previous_hash, "hash": e.hash} for e in events],
        "anchors": [{"id": a.id, "eventHash": a.event_hash, "anchoredAt": ledger.instant_text(a.anchored_at),
                     "previousHash": a.previous_hash, "hash": a.hash} for a in anchors],
        "calendar": calendar,
    }


def verify_document(document: dict[str, Any]) -> list[str]:
    """What is wrong with an exported case file (an empty list: intact), from the file alone."""
    if document.get("format") != FORMAT:
        return [f"not a case export of format {FORMAT}"]
    problems = []
    for definition in document.get("definitions", []):
        if hashlib.sha256(definition["content"].encode("utf-8")).hexdigest() != definition["sha256"]:
            problems.append(f"definition {definition['id']}: its file does not match its SHA-256")
    instance_id = document["instance"]["id"]
    events = document.get("events", [])
    broken, head = ledger.first_break((
        (event["previousHash"], event["hash"],
         {"process_instance_id": instance_id, "sequence": event["sequence"], "kind": event["kind"],
          "occurred_at": datetime.fromisoformat(event["occurredAt"]), "user_id": event["userId"],
          "activity_id": event["activityId"], "task_id": event["taskId"], "payload": event["payload"]})
        for event in events), ledger.event_hash)
    if broken is not None:
        problems.append(f"event {events[broken.index]['sequence']}: "
                        + ("the event before it was removed, or the events were reordered"
                           if broken.removed_or_reordered else "it was changed"))
    elif head != (document["instance"]["historyHash"] or ledger.GENESIS):
        problems.append("the last events were removed (the chain ends before the case's recorded head)")
    hashes = {event["hash"] for event in (events if broken is None else events[:broken.index])}
    for anchor in document.get("anchors", []):
        fields = {"process_instance_id": instance_id, "event_hash": anchor["eventHash"],
                  "anchored_at": datetime.fromisoformat(anchor["anchoredAt"])}
        if ledger.anchor_hash(anchor["previousHash"], fields) != anchor["hash"]:
            problems.append(f"anchor {anchor['id']}: it was changed")
        elif anchor["eventHash"] not in hashes:
            problems.append(f"anchor {anchor['id']}: the event it anchors is not in the case's chain")
    return problems
