from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.errors import InvalidRequest
from app.persistence.queries import count, page
from app.rest.camunda import render
from app.rest.dependencies import get_services
from app.rest.params import flag, integer, query_dict
from app.services import deployments
from app.services.context import Services

router = APIRouter(tags=["deployment"])
ServicesDep = Annotated[Services, Depends(get_services)]

_FIELDS = {"deployment-name", "enable-duplicate-filtering", "deploy-changed-only", "deployment-source",
           "tenant-id", "deployment-activation-time"}
_BPMN_NAMESPACE = b"http://www.omg.org/spec/BPMN/20100524/MODEL"


@router.post("/deployment/create", summary="Deploy BPMN files (multipart, as Camunda Modeler and pycamunda send)")
async def create_deployment(request: Request, services: ServicesDep) -> dict[str, Any]:
    fields: dict[str, str] = {}
    resources: dict[str, bytes] = {}
    async with request.form(max_files=100, max_fields=50) as form:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                content = await value.read(services.settings.max_upload_bytes + 1)
                resource = value.filename or name
                if _BPMN_NAMESPACE not in content:
                    raise InvalidRequest(f"Resource '{resource}' is not a BPMN 2.0 file; only BPMN is deployed here")
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
    )
    body = render.deployment(request, result.deployment, services.settings.zone)
    body["deployedProcessDefinitions"] = (
        {row.id: render.definition(row) for row in result.definitions} if result.definitions else None)
    body["deployedCaseDefinitions"] = None
    body["deployedDecisionDefinitions"] = None
    body["deployedDecisionRequirementsDefinitions"] = None
    return body


def _deployment_query(request: Request):
    params = query_dict(request)
    return (dict(name=params.get("name"), name_like=params.get("nameLike")),
            integer(params.get("firstResult"), "firstResult", 0), integer(params.get("maxResults"), "maxResults"))


@router.get("/deployment")
def list_deployments(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    criteria, first, most = _deployment_query(request)
    with services.db.read() as session:
        rows = page(session, deployments.deployment_query(**criteria), first, most)
        return [render.deployment(request, row, services.settings.zone) for row in rows]


@router.get("/deployment/count")
def count_deployments(request: Request, services: ServicesDep) -> dict[str, int]:
    criteria, _, _ = _deployment_query(request)
    with services.db.read() as session:
        return {"count": count(session, deployments.deployment_query(**criteria))}


@router.get("/deployment/{deployment_id}")
def get_deployment(deployment_id: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    with services.db.read() as session:
        return render.deployment(request, deployments.get_deployment(session, deployment_id), services.settings.zone)


@router.get("/deployment/{deployment_id}/resources")
def deployment_resources(deployment_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    with services.db.read() as session:
        deployments.get_deployment(session, deployment_id)
        return [{"id": row.id, "name": row.name, "deploymentId": row.deployment_id}
                for row in deployments.resources_of(session, deployment_id)]
