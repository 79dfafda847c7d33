from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from app.access.accounts import Principal
from app.cases import timers
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import query_dict, text
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

if TYPE_CHECKING:
    from datetime import tzinfo

    from sqlalchemy import Select

    from app.persistence.models import ProcessInstance, Timer

router = ServiceRouter(prefix="/engine-rest/job", tags=["job"])


def _query(p: dict[str, Any], viewer: Principal) -> Select:
    return timers.job_query(instance_id=text(p, "processInstanceId"), definition_key=text(p, "processDefinitionKey"),
                            definition_id=text(p, "processDefinitionId"), activity_id=text(p, "activityId"),
                            viewer=viewer, job_id=text(p, "jobId"))


def _job(row: tuple[Timer, ProcessInstance | None], zone: tzinfo) -> dict[str, Any]:
    timer, instance = row
    definition_id = instance.definition_id if instance is not None else timer.process_definition_id
    return {"id": timer.id, "jobDefinitionId": f"{definition_id}#{timer.activity_id}",
            "processInstanceId": timer.process_instance_id, "executionId": timer.process_instance_id,
            "processDefinitionId": definition_id, "processDefinitionKey": timer.process_definition_key,
            "dueDate": format_instant(timer.due_at, zone), "exceptionMessage": None, "failedActivityId": None,
            "retries": 3, "suspended": timer.suspended, "priority": 0,
            "tenantId": instance.tenant_id if instance is not None else None,
            "createTime": format_instant(timer.created, zone)}


@router.get("", summary="Pending timers as Camunda jobs (timers=true)")
def list_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    zone = services.settings.zone
    return listed(services, _query(params, viewer), params, lambda row: _job(row, zone))


@router.get("/count")
def count_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request), viewer))


@router.post("", summary="Jobs queried by a body (paging in the query string)")
def query_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep,
               body: JsonBody = None) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, _query(body or {}, viewer), query_dict(request), lambda row: _job(row, zone))


@router.post("/count")
def count_jobs_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, _query(body or {}, viewer))


@router.get("/{job_id}")
def get_job(job_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return _job(timers.readable_job(services, job_id, viewer), services.settings.zone)
