"""One self-contained file per case for auditors: the process (and decision) files its runs used,
its history events with their hash chain and signed anchors, and the calendar years its deadlines
counted in. The file is sealed: a digest of each of its parts (each field of the instance block on
its own), signed with the anchor key, whose public key the file carries. `verify_document` checks
such a file with no database and no service (`eco-orchestrator verify-export FILE`) and names the
part that was changed; it checks it against the published public key when given one, since whoever
changes a file can also replace the key in it and re-seal it."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import anchors as anchor_keys
from app.audit import ledger
from app.cases.instances import get_instance, jsonable, read_run
from app.cases.projections import ACTIVE, ENDINGS, MIGRATED
from app.deadlines import calendars
from app.errors import Forbidden, NotFound
from app.extensions import confidentiality
from app.persistence.models import (
    DecisionDefinition,
    DeploymentResource,
    HistoryAnchor,
    HistoryEvent,
    ProcessDefinition,
)

if TYPE_CHECKING:
    from app.context import Services

FORMAT = "eco-orchestrator-case-export/1"


def _resource(session: Session, definition: ProcessDefinition | DecisionDefinition) -> dict[str, Any]:
    content = session.scalars(select(DeploymentResource.content).where(
        DeploymentResource.deployment_id == definition.deployment_id,
        DeploymentResource.name == definition.resource_name)).one()
    # A process version's rules go with its file (a file without them, exported before, ran under 1).
    semantics = {"semantics": definition.semantics} if isinstance(definition, ProcessDefinition) else {}
    return {"id": definition.id, "key": definition.key, "version": definition.version,
            "resource": definition.resource_name, "sha256": hashlib.sha256(content).hexdigest(),
            "content": content.decode("utf-8"), **semantics}


def export_case(services: Services, instance_id: str, reader: Principal) -> dict[str, Any]:
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
        evaluated = {event.payload.get("decision_definition_id") for event in events
                     if event.kind == "decision.evaluated"}
        decision_ids = sorted(decision_id for decision_id in evaluated if decision_id is not None)
        # Every version the case ran on: the one it started on and each it was migrated to.
        versions = [event.payload.get("target_definition_id") if event.kind == MIGRATED
                    else event.payload.get("definition_id") for event in events
                    if event.kind in ("process.started", MIGRATED)]
        definitions = [_resource(session, session.get_one(ProcessDefinition, definition_id))
                       for definition_id in dict.fromkeys([*filter(None, versions), instance.definition_id])]
        definitions += [_resource(session, session.get_one(DecisionDefinition, decision_id))
                        for decision_id in decision_ids]
        anchors = session.scalars(select(HistoryAnchor).where(HistoryAnchor.process_instance_id == instance.id)
                                  .order_by(HistoryAnchor.number)).all()
        variables = ledger.normalized(jsonable(read_run(services, session, instance).variables()))
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
    document = {
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
        "anchors": [ledger.anchor_json(anchor) for anchor in anchors],
        "anchorKey": services.signer.public_pem,
        "calendar": calendar,
    }
    digests = _digests(document)
    document["seal"] = {"digests": digests, "signature": services.signer.sign(anchor_keys.canonical(digests))}
    return document


def _digests(document: dict[str, Any]) -> dict[str, str]:
    """SHA-256 of each part an auditor reads: every top-level field but the seal, and each field of
    the instance block on its own, so that a change is named."""
    parts = {name: value for name, value in document.items() if name not in ("seal", "instance")}
    parts |= {f"instance.{name}": value for name, value in document.get("instance", {}).items()}
    return {name: hashlib.sha256(anchor_keys.canonical(value)).hexdigest() for name, value in parts.items()}


def verify_document(document: dict[str, Any], public_key_pem: str | None = None) -> list[str]:
    """What is wrong with an exported case file (an empty list: intact), from the file alone, checked
    against `public_key_pem` (the published anchor key) when given, else against the key it carries."""
    if document.get("format") != FORMAT:
        return [f"not a case export of format {FORMAT}"]
    problems = _seal_problems(document, public_key_pem)
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
    else:
        problems += _instance_problems(document["instance"], events)
    intact = broken is None and head == document["instance"]["historyHash"] and bool(events)
    hashes = [event["hash"] for event in (events if broken is None else events[:broken.index])]
    problems += _anchor_problems(document, instance_id, hashes, head if intact else None)
    return problems


def _key(document: dict[str, Any], public_key_pem: str | None) -> Ed25519PublicKey | None:
    try:
        return anchor_keys.public_key(public_key_pem or document.get("anchorKey") or "")
    except ValueError:
        return None


def _seal_problems(document: dict[str, Any], public_key_pem: str | None) -> list[str]:
    key = _key(document, public_key_pem)
    if key is None:
        return ["the file carries no readable anchor public key" if public_key_pem is None
                else "the public key given is not an Ed25519 public key"]
    problems = []
    if public_key_pem is not None and document.get("anchorKey", "").strip() != public_key_pem.strip():
        problems.append("anchorKey: the file carries another public key than the one given (it was re-signed "
                        "by someone else)")
    seal = document.get("seal") or {}
    sealed = seal.get("digests") or {}
    if not anchor_keys.is_signed(key, anchor_keys.canonical(sealed), seal.get("signature")):
        return problems + ["seal: its signature does not match the anchor key (the file was re-sealed or the "
                           "seal changed)"]
    digests = _digests(document)
    problems += [f"{name}: it was changed after export" for name in sorted(sealed.keys() & digests.keys())
                 if sealed[name] != digests[name]]
    problems += [f"{name}: it was removed after export" for name in sorted(sealed.keys() - digests.keys())]
    problems += [f"{name}: it was added after export" for name in sorted(digests.keys() - sealed.keys())]
    return problems


def _instance_problems(instance: dict[str, Any], events: list[dict[str, Any]]) -> list[str]:
    """The instance block must say what the (intact) history says (its variables: see replay)."""
    if not events or events[0]["kind"] != "process.started":
        return ["the history does not begin with the case's start"]
    started = events[0]
    ending = next((event for event in reversed(events) if event["kind"] in ENDINGS), None)
    migrated = next((event for event in reversed(events) if event["kind"] == MIGRATED), None)
    recorded = {"status": ENDINGS[ending["kind"]] if ending else ACTIVE,
                "endTime": ending["occurredAt"] if ending else None, "startTime": started["occurredAt"],
                "businessKey": started["payload"].get("business_key"),
                "definitionId": (migrated or started)["payload"].get("target_definition_id" if migrated
                                                                      else "definition_id")}
    return [f"instance.{name}: it is {instance.get(name)!r} where the history says {value!r}"
            for name, value in recorded.items() if instance.get(name) != value]


def _anchor_problems(document: dict[str, Any], instance_id: str, hashes: list[str], head: str | None) -> list[str]:
    key = _key(document, None)
    problems = []
    last = None
    for anchor in document.get("anchors", []):
        fields = {"process_instance_id": instance_id, "event_hash": anchor["eventHash"],
                  "anchored_at": datetime.fromisoformat(anchor["anchoredAt"])}
        if (anchor["processInstanceId"] != instance_id
                or ledger.anchor_hash(anchor["previousHash"], fields) != anchor["hash"]):
            problems.append(f"anchor {anchor['number']}: it was changed")
        elif anchor["signature"] is not None and (key is None or not anchor_keys.is_signed(
                key, anchor_keys.signed_part(anchor), anchor["signature"])):
            problems.append(f"anchor {anchor['number']}: its signature does not match the anchor key")
        elif anchor["eventHash"] not in hashes:
            problems.append(f"anchor {anchor['number']}: the event it anchors is not in the case's chain")
        elif anchor["signature"] is not None:
            last = anchor
    if head is not None and (last is None or last["eventHash"] != head):
        covered = hashes.index(last["eventHash"]) + 1 if last else 0
        problems.append(f"event {document['events'][covered]['sequence']}: it and the events after it are not "
                        "covered by a signed anchor")
    return problems
