"""Camunda's /batch and /history/batch: the bulk operations the service runs in its timer worker
(app.cases.batches). Group `systems` (who start external-task retries and message batches),
`auditors` and administrators read them; administrators suspend and delete them."""
from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access.permissions import AUDITORS, SYSTEMS
from app.cases import batches
from app.context import Services
from app.errors import BadUserRequest
from app.rest.camunda import render
from app.rest.camunda.queries import sorting
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, required_boolean, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest", tags=["batch"])
_READ = role(SYSTEMS, AUDITORS, permission="READ", resource_type="Batch")
_UPDATE = role(permission="UPDATE", resource_type="Batch")
_DELETE = role(permission="DELETE", resource_type="Batch")
_LISTS = frozenset({"tenantIdIn"})


def _filter(p: dict[str, Any], services: Services, *, history: bool) -> batches.BatchFilter:
    zone = services.settings.zone
    criteria = batches.BatchFilter(
        batch_id=text(p, "batchId"), kind=text(p, "type"), tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        sort_desc=sorting(p, ("batchId", "startTime", "endTime", "tenantId") if history else ("batchId", "tenantId")))
    if history:
        completed = p.get("completed")
        criteria.completed = None if completed is None else flag(completed, "completed")
        return criteria
    suspended = p.get("suspended")
    criteria.suspended = None if suspended is None else flag(suspended, "suspended")
    criteria.created_by = text(p, "createdBy")
    criteria.started_before = optional_instant(p, "startedBefore", zone)
    criteria.started_after = optional_instant(p, "startedAfter", zone)
    criteria.with_failures = flag(p.get("withFailures"), "withFailures")
    criteria.without_failures = flag(p.get("withoutFailures"), "withoutFailures")
    return criteria


def _listed(request: Request, services: Services, *, history: bool, query: Callable[[batches.BatchFilter], Select],
            render_row: Callable[[Any, tzinfo], dict[str, Any]]) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, query(_filter(params, services, history=history)), params,
                  lambda row: render_row(row, zone))


def _counted(request: Request, services: Services, *, history: bool) -> dict[str, int]:
    return counted(services, batches.batch_query(_filter(query_dict(request, _LISTS), services, history=history)))


@router.get("/batch", dependencies=[_READ])
def list_batches(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return _listed(request, services, history=False, query=batches.batch_query, render_row=render.batch)


@router.get("/batch/count", dependencies=[_READ])
@router.get("/batch/statistics/count", dependencies=[_READ])
def count_batches(request: Request, services: ServicesDep) -> dict[str, int]:
    return _counted(request, services, history=False)


@router.get("/batch/statistics", dependencies=[_READ],
            summary="Running batches with their completed, failed and remaining jobs (one job per target)")
def batch_statistics(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return _listed(request, services, history=False, query=batches.statistics_query,
                   render_row=render.batch_statistics)


@router.get("/batch/{batch_id}", dependencies=[_READ])
def get_batch(batch_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.batch(batches.get_batch(services, batch_id), services.settings.zone)


@router.put("/batch/{batch_id}/suspended", status_code=204, dependencies=[_UPDATE],
            summary="Suspend a running batch (its remaining targets wait) or activate it")
def suspend_batch(batch_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    batches.suspend(services, batch_id, suspended=required_boolean(body or {}, "suspended"), actor=actor)
    return Response(status_code=204)


@router.delete("/batch/{batch_id}", status_code=204, dependencies=[_DELETE],
               summary="Stop a running batch; it stays in /history/batch unless cascade=true")
def delete_batch(batch_id: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    cascade = flag(query_dict(request).get("cascade"), "cascade")
    batches.delete_batch(services, batch_id, cascade=cascade, actor=actor)
    return Response(status_code=204)


@router.get("/history/batch", dependencies=[_READ])
def historic_batches(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    return _listed(request, services, history=True, query=batches.batch_query, render_row=render.historic_batch)


@router.get("/history/batch/count", dependencies=[_READ])
def count_historic_batches(request: Request, services: ServicesDep) -> dict[str, int]:
    return _counted(request, services, history=True)


@router.get("/history/batch/cleanable-batch-report", dependencies=[_READ],
            summary="Ended batches per type; none is cleanable, as no history time to live applies to batches here")
def cleanable_batch_report(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    return listed(services, batches.cleanable_report_query(sorting(params, ("finished",))), params,
                  lambda row: {"batchType": row[0], "historyTimeToLive": None, "finishedBatchesCount": row[1],
                               "cleanableBatchesCount": 0})


@router.get("/history/batch/cleanable-batch-report/count", dependencies=[_READ])
def count_cleanable_batch_report(services: ServicesDep) -> dict[str, int]:
    return counted(services, batches.cleanable_report_query({}))


@router.post("/history/batch/set-removal-time", dependencies=[_DELETE],
             summary="Refused: a batch's history is kept until DELETE /history/batch/{id} deletes it")
def set_batch_removal_time(body: JsonBody = None) -> Response:
    raise BadUserRequest("Removal times are not kept here: no history cleanup removes a batch's history; an "
                         "administrator deletes an ended batch's history with DELETE /history/batch/{id}, which the "
                         "administrative history records")


@router.get("/history/batch/{batch_id}", dependencies=[_READ])
def historic_batch(batch_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.historic_batch(batches.get_batch(services, batch_id, history=True), services.settings.zone)


@router.delete("/history/batch/{batch_id}", status_code=204, dependencies=[_DELETE],
               summary="Delete an ended batch's history")
def delete_historic_batch(batch_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    batches.delete_history(services, batch_id, actor=actor)
    return Response(status_code=204)
