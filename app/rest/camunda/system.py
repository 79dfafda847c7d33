"""Camunda's engine-wide reads for operators: the schema log (`/schema/log`) and telemetry
(`/telemetry/...`), which since Camunda 7.22 is sent nowhere: the configuration is always off and
turning it on changes nothing, as there."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access.permissions import AUDITORS
from app.audit import schema_log
from app.cases import metrics
from app.context import Services
from app.errors import InvalidRequest
from app.rest.dependencies import JsonBody, ServicesDep, role
from app.rest.listing import page_bounds
from app.rest.params import query_dict, sort_order, text
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/engine-rest", tags=["system"])
# Camunda: administrators, or a permission to read the system's data.
_READ = role(AUDITORS, permission="READ", resource_type="System")


def _schema_log(services: Services, criteria: dict[str, Any], paging: dict[str, Any]) -> list[dict[str, Any]]:
    sorting = sort_order(criteria, ("timestamp",))
    first, most = page_bounds(paging, services.settings)
    rows = schema_log.entries(services, version=text(criteria, "version"),
                              by_time_desc=sorting[-1][1] == "desc" if sorting else None, first=first, most=most)
    zone = services.settings.zone
    return [{"id": str(row.id), "timestamp": format_instant(row.timestamp, zone), "version": row.version}
            for row in rows]


@router.get("/schema/log", dependencies=[_READ],
            summary="Each schema upgrade applied (the Alembic revision reached, and when), as the migrate step logs "
                    "them from revision 0031 on")
def read_schema_log(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    return _schema_log(services, params, params)


@router.post("/schema/log", dependencies=[_READ])
def query_schema_log(request: Request, services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    return _schema_log(services, body or {}, query_dict(request))


@router.get("/telemetry/configuration", dependencies=[_READ], summary="Always off: nothing is sent anywhere")
def telemetry_configuration() -> dict[str, bool]:
    return {"enableTelemetry": False}


@router.post("/telemetry/configuration", status_code=204,
             dependencies=[role(permission="UPDATE", resource_type="System")],
             summary="Accepted and without effect, as in Camunda 7.22 and later: telemetry is sent nowhere")
def configure_telemetry(body: JsonBody = None) -> Response:
    enable = (body or {}).get("enableTelemetry")
    if enable is not None and not isinstance(enable, bool):
        raise InvalidRequest("'enableTelemetry' must be true or false")
    return Response(status_code=204)


@router.get("/telemetry/data", dependencies=[_READ],
            summary="What the service runs on and its counts, collected for nobody and sent nowhere")
def telemetry_data(services: ServicesDep) -> dict[str, Any]:
    return metrics.diagnostics(services)
