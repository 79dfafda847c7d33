"""`/api/agencies`: the register of clean production audit agencies (CPA-09, CPA-12), kept by the
registration and fraud processes; read here by the enterprises and departments that commission or
supervise an audit."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.context import Services
from app.extensions import agencies
from app.persistence.models import AuditAgency
from app.rest.dependencies import ServicesDep
from app.rest.params import query_dict
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/api/agencies", tags=["audit agencies"])


def _agency(row: AuditAgency, services: Services) -> dict[str, Any]:
    return {"agencyId": row.agency_id, "agencyName": row.agency_name, "status": row.status,
            "since": row.since.isoformat(), "cause": row.cause, "decidedByInstanceId": row.decided_by_instance_id,
            "updated": format_instant(row.updated, services.settings.zone)}


@router.get("", summary="Agencies on the register; ?status=registered lists those an enterprise may commission")
def list_agencies(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    status = query_dict(request).get("status")
    return [_agency(row, services) for row in agencies.list_agencies(services, status=status)]


@router.get("/{agency_id}")
def get_agency(agency_id: str, services: ServicesDep) -> dict[str, Any]:
    return _agency(agencies.get_agency(services, agency_id), services)
