"""Camunda's `/metrics/{name}/sum`: how much the service did in a period (app.cases.metrics)."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.access.permissions import AUDITORS
from app.cases import metrics
from app.rest.dependencies import ServicesDep, role
from app.rest.params import query_dict
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

router = ServiceRouter(prefix="/engine-rest/metrics", tags=["metrics"])


@router.get("/{metrics_name}/sum", dependencies=[role(AUDITORS, permission="READ", resource_type="Metrics")],
            summary="A count over [startDate, endDate): activity instances, root process instances, "
                    "decision evaluations, people who completed tasks")
def metric_sum(metrics_name: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    params, zone = query_dict(request), services.settings.zone
    return {"result": metrics.metric_sum(services, metrics_name, optional_instant(params, "startDate", zone),
                                         optional_instant(params, "endDate", zone))}
