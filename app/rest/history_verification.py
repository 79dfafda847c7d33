"""`/api/history/verify`: is the record intact? For auditors and administrators."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from app.rest.dependencies import get_services, role
from app.services import ledger
from app.services.context import Services
from app.services.permissions import AUDITORS

router = APIRouter(prefix="/api/history", tags=["audit"])
ServicesDep = Annotated[Services, Depends(get_services)]


@router.get("/verify", dependencies=[role(AUDITORS, permission="READ", resource_type="History")],
            summary="Recompute the history's hash chains: intact, or the first row that was changed, removed or "
                    "reordered")
async def verify(services: ServicesDep, processInstanceId: str | None = None) -> dict[str, Any]:
    result = await run_in_threadpool(ledger.verify, services, processInstanceId)
    return {"intact": result.intact, "instances": result.instances, "events": result.events,
            "anchors": result.anchors,
            "problems": [{"processInstanceId": p.process_instance_id, "sequence": p.sequence, "eventId": p.event_id,
                          "problem": p.what} for p in result.problems]}
