from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from app.access.accounts import Principal
from app.cases import instances
from app.context import Services
from app.definitions import deployments
from app.rest.camunda import render
from app.rest.camunda.forms import form_variables
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/process-definition", tags=["process-definition"])

_LISTS = frozenset({"processDefinitionIdIn", "keysIn", "keyIn"})


def _query(p: dict[str, Any]) -> Select:
    ids = (text_list(p.get("processDefinitionIdIn"), "processDefinitionIdIn")
           or ([p["processDefinitionId"]] if text(p, "processDefinitionId") else []))
    query = deployments.definition_query(
        ids=ids, key=text(p, "key"), keys=text_list(p.get("keysIn"), "keysIn") or text_list(p.get("keyIn"), "keyIn"),
        latest_version=flag(p.get("latestVersion"), "latestVersion"), deployment_id=text(p, "deploymentId"),
        name=text(p, "name"), version=integer(p.get("version"), "version"))
    return query


@router.get("")
def list_definitions(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, _query(params), params, render.definition)


@router.get("/count")
def count_definitions(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS)))


@router.get("/key/{key}")
def definition_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, key=key))


@router.get("/key/{key}/tenant-id/{tenant_id}")
def definition_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, key=key, tenant_id=tenant_id))


@router.get("/key/{key}/xml")
def xml_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    row, xml = deployments.definition_with_xml(services, key=key)
    return {"id": row.id, "bpmn20Xml": xml}


@router.get("/{definition_id}")
def definition_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return render.definition(deployments.find_definition(services, definition_id=definition_id))


@router.get("/{definition_id}/xml")
def xml_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    row, xml = deployments.definition_with_xml(services, definition_id=definition_id)
    return {"id": row.id, "bpmn20Xml": xml}


def _start(request: Request, services: Services, actor: Principal, body: dict[str, Any] | None, *,
           key: str | None = None,
           definition_id: str | None = None, tenant_id: str | None = None, start_form: bool = False) -> dict:
    body = body or {}
    zone = services.settings.zone
    instance, current = instances.start_instance(
        services, key=key, definition_id=definition_id,
        variables=decode_variables(body.get("variables"), services.settings),
        business_key=body.get("businessKey"), tenant_id=tenant_id, actor=actor, as_start_form=start_form)
    with_variables = flag(body.get("withVariablesInReturn"), "withVariablesInReturn")
    return render.instance(request, instance, current if with_variables else None, zone)


@router.post("/key/{key}/start")
def start_by_key(key: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                 body: JsonBody = None) -> dict[str, Any]:
    return _start(request, services, actor, body, key=key)


@router.post("/key/{key}/tenant-id/{tenant_id}/start")
def start_by_key_and_tenant(key: str, tenant_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> dict[str, Any]:
    return _start(request, services, actor, body, key=key, tenant_id=tenant_id)


@router.post("/{definition_id}/start")
def start_by_id(definition_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, definition_id=definition_id)


@router.post("/key/{key}/submit-form")
def submit_start_form_by_key(key: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                             body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, key=key, start_form=True)


@router.post("/{definition_id}/submit-form")
def submit_start_form_by_id(definition_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> dict:
    return _start(request, services, actor, body, definition_id=definition_id, start_form=True)


@router.get("/key/{key}/form-variables")
def start_form_variables_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return form_variables(deployments.start_form(services, key=key), {}, services.settings.zone)


@router.get("/{definition_id}/form-variables")
def start_form_variables_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return form_variables(deployments.start_form(services, definition_id=definition_id), {},
                          services.settings.zone)
