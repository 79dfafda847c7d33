from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.access.permissions import AUDITORS, DESIGNERS
from app.context import Services
from app.definitions import deployments
from app.errors import InvalidRequest
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest", tags=["deployment"])
_LISTS = frozenset({"tenantIdIn"})
# Only process and decision files are deployed here (Camunda would also keep forms, scripts, images).
_MODEL_NAMESPACES = (b"http://www.omg.org/spec/BPMN/20100524/MODEL", b"http://www.omg.org/spec/DMN/",
                     b"https://www.omg.org/spec/DMN/")
# Deploying, redeploying and deleting deployments is for designers.
_DESIGN = role(DESIGNERS, permission="CREATE", resource_type="Deployment")

_FIELDS = {"deployment-name", "enable-duplicate-filtering", "deploy-changed-only", "deployment-source",
           "tenant-id", "deployment-activation-time"}


@router.post("/deployment/create", dependencies=[_DESIGN],
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
    return _answer(request, services, result)


def _answer(request: Request, services: Services, result: deployments.DeploymentResult) -> dict[str, Any]:
    """Camunda's DeploymentWithDefinitions: the deployment and the versions it made."""
    body = render.deployment(request, result.deployment, services.settings.zone)
    body["deployedProcessDefinitions"] = (
        {row.id: render.definition(row) for row in result.definitions} if result.definitions else None)
    body["deployedCaseDefinitions"] = None
    body["deployedDecisionDefinitions"] = (
        {row.id: render.decision_definition(row) for row in result.decisions} if result.decisions else None)
    body["deployedDecisionRequirementsDefinitions"] = (
        {row.id: render.decision_requirements_definition(row) for row in result.requirements}
        if result.requirements else None)
    return body


def _deployment_query(p: dict[str, Any], services: Services) -> Select:
    zone = services.settings.zone
    return deployments.deployment_query(deployments.DeploymentFilter(
        id=text(p, "id"), name=text(p, "name"), name_like=text(p, "nameLike"), source=text(p, "source"),
        without_source=flag(p.get("withoutSource"), "withoutSource"),
        tenant_ids=tuple(text_list(p.get("tenantIdIn"), "tenantIdIn")),
        with_untenanted=flag(p.get("includeDeploymentsWithoutTenantId"), "includeDeploymentsWithoutTenantId"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        before=optional_instant(p, "before", zone), after=optional_instant(p, "after", zone),
        sorting=tuple((key, order == "desc") for key, order in sort_order(p, deployments.DEPLOYMENT_SORTS))))


@router.get("/deployment")
def list_deployments(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, _deployment_query(params, services), params,
                  lambda row: render.deployment(request, row, zone))


@router.get("/deployment/count")
def count_deployments(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _deployment_query(query_dict(request, _LISTS), services))


@router.get("/deployment/registered", dependencies=[role(AUDITORS, permission="READ", resource_type="System")],
            summary="The deployments the timer workers serve (Camunda: registered with the job executor): all")
def registered_deployments(services: ServicesDep) -> list[str]:
    return deployments.registered_deployments(services)


@router.get("/deployment/{deployment_id}")
def get_deployment(deployment_id: str, request: Request, services: ServicesDep) -> dict[str, Any]:
    return render.deployment(request, deployments.find_deployment(services, deployment_id), services.settings.zone)


@router.get("/deployment/{deployment_id}/resources")
def deployment_resources(deployment_id: str, services: ServicesDep) -> list[dict[str, Any]]:
    return [{"id": row.id, "name": row.name, "deploymentId": row.deployment_id}
            for row in deployments.deployment_resources(services, deployment_id)]


@router.get("/deployment/{deployment_id}/resources/{resource_id}")
def deployment_resource(deployment_id: str, resource_id: str, services: ServicesDep) -> dict[str, Any]:
    row = deployments.deployment_resource(services, deployment_id, resource_id)
    return {"id": row.id, "name": row.name, "deploymentId": row.deployment_id}


@router.get("/deployment/{deployment_id}/resources/{resource_id}/data", response_class=Response,
            summary="The resource's bytes as deployed")
def deployment_resource_data(deployment_id: str, resource_id: str, services: ServicesDep) -> Response:
    row = deployments.deployment_resource(services, deployment_id, resource_id)
    # Camunda names .bpmn and .dmn files application/xml; the name is given for a download.
    filename = row.name.rsplit("/", 1)[-1].replace('"', "")
    return Response(row.content, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/deployment/{deployment_id}/redeploy", dependencies=[_DESIGN],
             summary="Deploy the resources of a deployment again, as new versions")
def redeploy(deployment_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
             body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    result = deployments.redeploy(
        services, deployment_id, resource_ids=text_list(body.get("resourceIds"), "resourceIds"),
        resource_names=text_list(body.get("resourceNames"), "resourceNames"), source=text(body, "source"),
        user_id=actor.user_id)
    return _answer(request, services, result)


@router.delete("/deployment/{deployment_id}", status_code=204,
               dependencies=[role(DESIGNERS, permission="DELETE", resource_type="Deployment")],
               summary="Remove a deployment no case has used")
def delete_deployment(deployment_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    deployments.delete_deployment(services, deployment_id, user_id=actor.user_id)
    return Response(status_code=204)
