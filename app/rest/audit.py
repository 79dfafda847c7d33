"""`/api/history/verify`: is the record intact? For auditors and administrators. And
`/api/process-instances/{id}/timeline`: an instance's history as a person reads it."""
from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from app.access.permissions import AUDITORS
from app.audit import export as case_export
from app.audit import ledger, replay
from app.audit import timeline as case_timeline
from app.rest.dependencies import PrincipalDep, ServicesDep, role
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/api", tags=["audit"])


@router.get("/history/verify", dependencies=[role(AUDITORS, permission="READ", resource_type="History")],
            summary="Recompute the history's hash chains: intact, or the first row that was changed, removed or "
                    "reordered")
async def verify(services: ServicesDep, processInstanceId: str | None = None) -> dict[str, Any]:
    result = await run_in_threadpool(ledger.verify, services, processInstanceId)
    return {"intact": result.intact, "instances": result.instances, "events": result.events,
            "anchors": result.anchors, "adminEvents": result.admin_events,
            "problems": [{"processInstanceId": p.process_instance_id, "sequence": p.sequence, "eventId": p.event_id,
                          "problem": p.what} for p in result.problems],
            "deletedCases": [{"processInstanceId": case.process_instance_id,
                              "deletedAt": format_instant(case.deleted_at, services.settings.zone),
                              "deletedBy": case.user_id, "historyHash": case.history_hash, "events": case.events}
                             for case in result.deleted]}


@router.get("/history/anchor-key", response_class=PlainTextResponse,
            summary="The public key (PEM) that checks the signatures of the history's anchors and of exports")
def anchor_key(services: ServicesDep) -> PlainTextResponse:
    return PlainTextResponse(services.signer.public_pem, media_type="application/x-pem-file")


@router.get("/history/admin-events", dependencies=[role(AUDITORS, permission="READ", resource_type="History")],
            summary="Administrative changes (deployments, calendar years, registers, the expert pool, accounts) "
                    "in order; ?subject=park:JS-01, ?kind=deployment.created")
def admin_events(services: ServicesDep, subject: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return [{"id": event.id, "kind": event.kind, "subject": event.subject,
             "time": format_instant(event.occurred_at, zone), "userId": event.user_id, "payload": event.payload,
             "hash": event.hash} for event in ledger.admin_events(services, subject=subject, kind=kind)]


@router.get("/process-instances/{instance_id}/export",
            summary="The case as one self-contained file: its process and decision files, its history with the "
                    "hash chain and anchors, the calendar years its deadlines used (verify it offline with "
                    "`eco-orchestrator verify-export FILE`)")
def export_case(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> JSONResponse:
    document = case_export.export_case(services, instance_id, reader)
    return JSONResponse(document, headers={
        "Content-Disposition": f'attachment; filename="case-{instance_id}.json"'})


@router.get("/process-instances/{instance_id}/replay",
            summary="Rebuild the case from its process version and its recorded history on a simulated clock: "
                    "reproduced, or the first event where the replay diverges")
def replay_case(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    result = replay.replay_intact(case_export.export_case(services, instance_id, reader), services.settings.zone)
    return {"processInstanceId": instance_id, "reproduced": result.reproduced, "events": result.events,
            "activities": result.activities, "divergence": result.divergence, "sequence": result.sequence}


@router.get("/process-instances/{instance_id}/timeline",
            summary="Who did what and when in a case, and whether each task met its deadline, in reading order")
def timeline(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return [case_timeline.as_dict(entry, lambda instant: format_instant(instant, zone))
            for entry in case_timeline.timeline(services, instance_id, reader)]
