"""Camunda's `/metrics/{name}/sum` and `/metrics` (by interval): how much the service did in a period
(app.cases.metrics)."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access.permissions import AUDITORS
from app.cases import metrics
from app.rest.dependencies import ServicesDep, role
from app.rest.params import FIRST_RESULT_MAX, integer, query_dict, text
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant, optional_instant

router = ServiceRouter(prefix="/engine-rest/metrics", tags=["metrics"])
_READ = role(AUDITORS, permission="READ", resource_type="Metrics")
# Camunda's interval when none is asked: 15 minutes.
_INTERVAL_SECONDS = 15 * 60


@router.get("/{metrics_name}/sum", dependencies=[_READ],
            summary="A count over [startDate, endDate): activity instances, root process instances, "
                    "decision evaluations, people who completed tasks")
def metric_sum(metrics_name: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    params, zone = query_dict(request), services.settings.zone
    return {"result": metrics.metric_sum(services, metrics_name, optional_instant(params, "startDate", zone),
                                         optional_instant(params, "endDate", zone))}


@router.get("", dependencies=[_READ],
            summary="Counts per interval of `interval` seconds (default 900) over [startDate, endDate), newest first: "
                    "activity instances started and ended, root process instances, decision evaluations")
def metric_intervals(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params, zone = query_dict(request), services.settings.zone
    reporter = text(params, "reporter")
    rows = metrics.metric_intervals(
        services, text(params, "name"), optional_instant(params, "startDate", zone),
        optional_instant(params, "endDate", zone), integer(params.get("interval"), "interval", _INTERVAL_SECONDS, 1),
        integer(params.get("firstResult"), "firstResult", 0, maximum=FIRST_RESULT_MAX),
        integer(params.get("maxResults"), "maxResults", metrics.INTERVAL_ROWS_MAX))
    # The counts are the service's, not reported by nodes: no row has a reporter.
    return [] if reporter else [{"timestamp": format_instant(row.timestamp, zone), "name": row.name, "reporter": None,
                                 "value": row.value} for row in rows]


@router.delete("/task-worker", status_code=204, dependencies=[role(permission="DELETE", resource_type="Metrics")],
               summary="Refused with the reason: the task worker figures are counted from the chained history")
def delete_task_worker_metrics(request: Request, services: ServicesDep) -> Response:
    optional_instant(query_dict(request), "date", services.settings.zone)  # a malformed date is refused as such
    metrics.refuse_task_metrics_deletion()
