"""Camunda's job definitions, read-only: the timer events of the deployed processes, one per
activity of each version (app.cases.timers.job_definitions)."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.cases import timers
from app.context import Services
from app.errors import NotFound
from app.rest.dependencies import JsonBody, ServicesDep
from app.rest.listing import page_bounds
from app.rest.params import query_dict, suspension_state, text_list
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/job-definition", tags=["job definition"])
_LISTS = frozenset({"activityIdIn"})


def _render(job: timers.JobDefinition) -> dict[str, Any]:
    definition = job.definition
    return {"id": job.id, "processDefinitionId": definition.id, "processDefinitionKey": definition.key,
            "activityId": job.timer.activity_id, "jobType": job.timer.job_type,
            "jobConfiguration": job.timer.configuration, "suspended": definition.suspended,
            "overridingJobPriority": None, "tenantId": definition.tenant_id, "deploymentId": definition.deployment_id}


def _found(services: Services, criteria: dict[str, Any]) -> list[timers.JobDefinition]:
    activities = text_list(criteria.get("activityIdIn"), "activityIdIn")
    return timers.job_definitions(services, criteria, activities=activities, suspended=suspension_state(criteria))


def _page(services: Services, criteria: dict[str, Any], paging: dict[str, Any]) -> list[dict[str, Any]]:
    first, most = page_bounds(paging, services.settings)
    return [_render(job) for job in _found(services, criteria)[first:first + most]]


@router.get("")
def list_job_definitions(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return _page(services, params, params)


@router.post("")
def query_job_definitions(request: Request, services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    return _page(services, body or {}, query_dict(request))


@router.get("/count")
def count_job_definitions(request: Request, services: ServicesDep) -> dict[str, int]:
    return {"count": len(_found(services, query_dict(request, _LISTS)))}


@router.post("/count")
def count_job_definitions_by_body(services: ServicesDep, body: JsonBody = None) -> dict[str, int]:
    return {"count": len(_found(services, body or {}))}


@router.get("/{job_definition_id}")
def get_job_definition(job_definition_id: str, services: ServicesDep) -> dict[str, Any]:
    found = _found(services, {"jobDefinitionId": job_definition_id,
                              "processDefinitionId": job_definition_id.partition("#")[0]})
    if not found:
        raise NotFound(f"Job Definition with id {job_definition_id} does not exist")
    return _render(found[0])
