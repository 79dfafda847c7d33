from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.access.permissions import DESIGNERS
from app.definitions import deployments
from app.errors import InvalidRequest
from app.rest.camunda import render
from app.rest.dependencies import PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict
from app.rest.routing import ServiceRouter

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest", tags=["deployment"])
# Only process and decision files are deployed here (Camunda would also keep forms, scripts, images).
_MODEL_NAMESPACES = (b"http://www.omg.org/spec/BPMN/20100524/MODEL", b"http://www.omg.org/spec/DMN/",
                     b"https://www.omg.org/spec/DMN/")

_FIELDS = {"deployment-name", "enable-duplicate-filtering", "deploy-changed-only", "deployment-source",
           "tenant-id", "deployment-activation-time"}


@router.post("/deployment/create", dependencies=[role(DESIGNERS, permission="CREATE", resource_type="Deployment")],
             summary="Deploy BPMN and DMN files (multipart, as Camunda Modeler and pycamunda send)")
async def create_deployment(request: Request, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    fields: dict[str, str] = {}
    resources: dict[str, bytes] = {}
    async with request.form(max_files=100, max_fields=50) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read(services.settings.max_upload_bytes + 1)
                resource = value.filename or name
                if not any(namespace in content for namespace in _MODEL_NAMESPACES):
                    raise InvalidRequest(f"Resource '{resource}' is neither a BPMN 2.0 nor a DMN file; only "
                                         "process and decision files are deployed here")
                if resource in resources:
                    raise InvalidRequest(f"Resource '{resource}' is sent twice")
                resources[resource] = content
            elif name in _FIELDS:
                fields[name] = value
    result = await run_in_threadpool(
        deployments.deploy, services,
        name=fields.get("deployment-name"),
        source=fields.get("deployment-source"),
        tenant_id=fields.get("tenant-id") or None,
        resources=resources,
        duplicate_filtering=flag(fields.get("enable-duplicate-filtering"), "enable-duplicate-filtering"),
        changed_only=flag(fields.get("deploy-changed-only"), "deploy-changed-only"),
        user_id=actor.user_id,
    )
    body = render.deployment(request, result.deployment, services.settings.zone)
    body["deployedProcessDefinitions"] = (
        {row.id: render.definition(row) for row in result.definitions} if result.definitions else None)
    body["deployedCaseDefinitions"] = None
    body["deployedDecisionDefinitions"] = (
        {row.id: render.decision_definition(row) for row in result.decisions} if result.decisions else None)
    body["deployedDecisionRequirementsDefinitions"] = None
    return body


def _deployment_query(params: dict[str, Any]) -> Select:
    return deployments.deployment_query(name=params.get("name"), name_like=params.get("nameLike"))


@router.get("/deployment")
def list_deployments(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    zone = services.settings.zone
    return listed(services, _deployment_query(params), params, lambda row: render.deployment(request, row, zone))


@router.get("/deployment/count")
def count_deployments(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _deployment_query(query_dict(request)))


@router.get("/deployment/{deployment_id}")
def get_deployment(deployment_id: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    return render.deployment(request, deployments.find_deployment(services, deployment_id), services.settings.zone)


@router.get("/deployment/{deployment_id}/resources")
def deployment_resources(deployment_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    return [{"id": row.id, "name": row.name, "deploymentId": row.deployment_id}
            for row in deployments.deployment_resources(services, deployment_id)]
