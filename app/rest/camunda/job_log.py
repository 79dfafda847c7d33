"""Camunda's historic job log of the service's timers (app.cases.job_log): a row per timer created,
fired or deleted, for those who may read the case."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.cases import job_log
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

if TYPE_CHECKING:
    from datetime import tzinfo

    from sqlalchemy import Select

    from app.persistence.models import JobLog

router = ServiceRouter(prefix="/engine-rest/history/job-log", tags=["historic job log"])
_LISTS = frozenset({"activityIdIn", "tenantIdIn", "executionIdIn", "failedActivityIdIn"})
_TEXTS = ("logId", "jobId", "jobDefinitionId", "jobDefinitionType", "jobDefinitionConfiguration",
          "processInstanceId", "processDefinitionId", "processDefinitionKey", "deploymentId")


def _query(p: dict[str, Any], viewer: Principal) -> Select:
    criteria = {name: text(p, name) for name in _TEXTS}
    states = {state for state in job_log.STATES if flag(p.get(f"{state}Log"), f"{state}Log")}
    # No timer's log row failed, and the service records no host.
    nothing = bool(text_list(p.get("failedActivityIdIn"), "failedActivityIdIn")) or any(
        text(p, name) is not None for name in ("jobExceptionMessage", "hostname"))
    return job_log.job_log_query(
        criteria, activities=text_list(p.get("activityIdIn"), "activityIdIn"),
        tenants=text_list(p.get("tenantIdIn"), "tenantIdIn"), states=states, sort=sort_order(p, job_log.SORTS),
        viewer=viewer, executions=text_list(p.get("executionIdIn"), "executionIdIn"),
        priorities=(integer(p.get("jobPriorityHigherThanOrEquals"), "jobPriorityHigherThanOrEquals", minimum=-2**63),
                    integer(p.get("jobPriorityLowerThanOrEquals"), "jobPriorityLowerThanOrEquals", minimum=-2**63)),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"), nothing=nothing)


def _render(row: tuple[JobLog, str | None, str | None], zone: tzinfo) -> dict[str, Any]:
    log, deployment_id, root_id = row
    return {"id": str(log.id), "timestamp": format_instant(log.timestamp, zone), "removalTime": None,
            "jobId": log.job_id, "jobDueDate": format_instant(log.due_at, zone) if log.due_at else None,
            "jobRetries": 3, "jobPriority": log.priority, "jobExceptionMessage": None, "failedActivityId": None,
            "jobDefinitionId": f"{log.process_definition_id}#{log.activity_id}",
            "jobDefinitionType": log.job_type, "jobDefinitionConfiguration": log.configuration,
            "activityId": log.activity_id, "executionId": log.process_instance_id,
            "processInstanceId": log.process_instance_id, "processDefinitionId": log.process_definition_id,
            "processDefinitionKey": log.process_definition_key, "deploymentId": deployment_id,
            "rootProcessInstanceId": (root_id or log.process_instance_id) if log.process_instance_id else None,
            "tenantId": log.tenant_id, "hostname": None,
            **{f"{state}Log": log.state == state for state in job_log.STATES}}


@router.get("", summary="A row per timer created, fired (success) or deleted")
def list_job_log(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, _query(params, viewer), params, lambda row: _render(row, zone))


@router.post("", summary="The historic job log queried by a body (paging in the query string)")
def query_job_log(request: Request, services: ServicesDep, viewer: PrincipalDep,
                  body: JsonBody = None) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, _query(body or {}, viewer), query_dict(request), lambda row: _render(row, zone))


@router.get("/count")
def count_job_log(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS), viewer))


@router.post("/count")
def count_job_log_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, _query(body or {}, viewer))


@router.get("/{log_id}")
def get_job_log(log_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return _render(job_log.readable_log(services, log_id, viewer), services.settings.zone)


@router.get("/{log_id}/stacktrace", summary="The failure of a failure log: a timer's log has none (204)")
def get_job_log_stacktrace(log_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    job_log.readable_log(services, log_id, viewer)
    return Response(status_code=204)
