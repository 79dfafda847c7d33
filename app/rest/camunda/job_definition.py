"""Camunda's job definitions: the timer events of the deployed processes, one per activity of each
version (app.cases.timers.job_definitions), and what operators set on them (app.cases.jobs)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from app.access.permissions import SYSTEMS
from app.cases import jobs, timers
from app.context import Services
from app.rest.camunda.job import refuse_retries
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import page_bounds
from app.rest.params import flag, query_dict, required_boolean, sort_order, suspension_state, text, text_list
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/job-definition", tags=["job definition"])
_OPERATOR = role(SYSTEMS, permission="UPDATE", resource_type="JobDefinition")
_LISTS = frozenset({"activityIdIn", "tenantIdIn"})


def _render(job: timers.JobDefinition) -> dict[str, Any]:
    definition = job.definition
    return {"id": job.id, "processDefinitionId": definition.id, "processDefinitionKey": definition.key,
            "activityId": job.timer.activity_id, "jobType": job.timer.job_type,
            "jobConfiguration": job.timer.configuration, "suspended": job.suspended,
            "overridingJobPriority": job.overriding_priority, "tenantId": definition.tenant_id,
            "deploymentId": definition.deployment_id}


# Camunda's job definition sort keys, by what each orders (None last, as text).
_SORTS: dict[str, Callable[[timers.JobDefinition], Any]] = {
    "jobDefinitionId": lambda job: job.id, "activityId": lambda job: job.timer.activity_id,
    "processDefinitionId": lambda job: job.definition.id, "processDefinitionKey": lambda job: job.definition.key,
    "jobType": lambda job: job.timer.job_type or "", "jobConfiguration": lambda job: job.timer.configuration or "",
    "tenantId": lambda job: job.definition.tenant_id or ""}


_NAMING = ("jobDefinitionId", "processDefinitionId", "processDefinitionKey", "jobType", "jobConfiguration")


def _named(criteria: dict[str, Any]) -> dict[str, str | None]:
    """The criteria that name job definitions, each a text or absent."""
    return {name: text(criteria, name) for name in _NAMING}


def _found(services: Services, criteria: dict[str, Any]) -> list[timers.JobDefinition]:
    activities = text_list(criteria.get("activityIdIn"), "activityIdIn")
    tenants = text_list(criteria.get("tenantIdIn"), "tenantIdIn")
    untenanted = flag(criteria.get("includeJobDefinitionsWithoutTenantId"), "includeJobDefinitionsWithoutTenantId")
    without_tenant = flag(criteria.get("withoutTenantId"), "withoutTenantId")
    overriding = flag(criteria.get("withOverridingJobPriority"), "withOverridingJobPriority")
    sorting = sort_order(criteria, _SORTS)
    found = [job for job in timers.job_definitions(services, _named(criteria), activities=activities,
                                                   suspended=suspension_state(criteria))
             if (not tenants or job.definition.tenant_id in tenants
                 or (untenanted and job.definition.tenant_id is None))
             and (not without_tenant or job.definition.tenant_id is None)
             and (not overriding or job.overriding_priority is not None)]
    for key, order in reversed(sorting):  # the first sort key orders last, so that it counts most
        found.sort(key=_SORTS[key], reverse=order == "desc")
    return found


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
    return _render(timers.job_definition(services, job_definition_id))


def _suspend(services: Services, actor: PrincipalDep, criteria: dict[str, Any], body: dict[str, Any]) -> Response:
    jobs.suspend_job_definitions(services, _named(criteria), required_boolean(body, "suspended"),
                                 include_jobs=flag(body.get("includeJobs"), "includeJobs"),
                                 execution_date=body.get("executionDate"), actor=actor)
    return Response(status_code=204)


@router.put("/suspended", dependencies=[_OPERATOR], status_code=204,
            summary="Suspend or activate the job definitions of a definition or a key (or one)")
def suspend_job_definitions(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    return _suspend(services, actor, body, body)


@router.put("/{job_definition_id}/suspended", dependencies=[_OPERATOR], status_code=204)
def suspend_job_definition(job_definition_id: str, services: ServicesDep, actor: PrincipalDep,
                           body: JsonBody = None) -> Response:
    timers.job_definition(services, job_definition_id)
    return _suspend(services, actor, {"jobDefinitionId": job_definition_id}, body or {})


@router.put("/{job_definition_id}/jobPriority", dependencies=[_OPERATOR], status_code=204,
            summary="The overriding job priority (null clears it); includeJobs sets it on the current jobs")
def set_job_priority(job_definition_id: str, services: ServicesDep, actor: PrincipalDep,
                     body: JsonBody = None) -> Response:
    body = body or {}
    raw = body.get("priority")
    jobs.set_job_definition_priority(services, job_definition_id, None if raw is None else jobs.parse_priority(raw),
                                     include_jobs=flag(body.get("includeJobs"), "includeJobs"), actor=actor)
    return Response(status_code=204)


@router.put("/{job_definition_id}/retries", dependencies=[_OPERATOR], status_code=204,
            summary="Refused: the service's timers have no retries (see the README's note)")
def set_retries(job_definition_id: str, services: ServicesDep, body: JsonBody = None) -> Response:
    timers.job_definition(services, job_definition_id)
    refuse_retries(body)
