from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.cases import instances, suspension
from app.context import Services
from app.errors import InvalidRequest, NotFound
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, required_boolean, suspension_state, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import (
    decode_value,
    encode_value,
    encode_variables,
    modifications_and_deletions,
)

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/process-instance", tags=["process-instance"])
# Changing a running instance's data or ending it is for administrators.
_ADMINISTER = role(permission="UPDATE", resource_type="ProcessInstance")
_SUSPEND = role(permission="SUSPEND", resource_type="ProcessInstance")
_LISTS = frozenset({"processInstanceIds", "tenantIdIn"})


def _query(p: dict[str, Any], viewer: Principal) -> Select:
    return instances.instance_query(
        instance_ids=text_list(p.get("processInstanceIds"), "processInstanceIds"), business_key=text(p, "businessKey"),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"), viewer=viewer,
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"), suspended=suspension_state(p))


def _list(request: Request, services: Services, viewer: Principal, params: dict[str, Any]) -> list[dict[str, Any]]:
    return listed(services, _query(params, viewer), params, lambda row: render.instance(request, row))


@router.get("")
def list_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    return _list(request, services, viewer, query_dict(request, _LISTS))


@router.post("")
def query_instances(request: Request, services: ServicesDep, viewer: PrincipalDep,
                    body: JsonBody = None) -> list[dict[str, Any]]:
    params = {**(body or {}), **query_dict(request)}
    return _list(request, services, viewer, params)


@router.get("/count")
def count_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS), viewer))


@router.put("/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_instances(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """By definition id, by definition key (of a tenant, or of none), or by a list of instance ids."""
    body = body or {}
    suspended = required_boolean(body, "suspended")
    if body.get("processInstanceQuery") is not None or body.get("historicProcessInstanceQuery") is not None:
        raise InvalidRequest("processInstanceQuery and historicProcessInstanceQuery are not supported: "
                             "name the instances in processInstanceIds")
    instance_ids = text_list(body.get("processInstanceIds"), "processInstanceIds")
    definition_id, definition_key = text(body, "processDefinitionId"), text(body, "processDefinitionKey")
    if instance_ids and (definition_id or definition_key):
        raise InvalidRequest("Give processInstanceIds or a process definition, not both")
    if not instance_ids:
        if definition_id is None and definition_key is None:
            raise InvalidRequest("Either processDefinitionId or processDefinitionKey should be set to update "
                                 "the suspension state.")
        if definition_id is not None and definition_key is not None:
            raise InvalidRequest("Only one of processDefinitionId or processDefinitionKey should be set to update "
                                 "the suspension state.")
    suspension.suspend_instances(
        services, suspended=suspended, actor=actor, instance_ids=instance_ids, definition_id=definition_id,
        definition_key=definition_key, tenant_id=text(body, "processDefinitionTenantId"),
        without_tenant=flag(body.get("processDefinitionWithoutTenantId"), "processDefinitionWithoutTenantId"))
    return Response(status_code=204)


@router.put("/{instance_id}/suspended", status_code=204, dependencies=[_SUSPEND])
def suspend_instance(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    suspension.suspend_instance(services, instance_id, suspended=required_boolean(body or {}, "suspended"),
                                actor=actor)
    return Response(status_code=204)


@router.get("/{instance_id}")
def get_instance(instance_id: str, request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.instance(request, instances.readable_instance(services, instance_id, viewer))


@router.delete("/{instance_id}", status_code=204, dependencies=[_ADMINISTER])
def delete_instance(instance_id: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    params = query_dict(request)
    try:
        instances.delete_instance(services, instance_id, reason=params.get("deleteReason"), actor=actor)
    except NotFound:
        if params.get("failIfNotExists", "true").lower() != "false":
            raise
    return Response(status_code=204)


@router.get("/{instance_id}/variables")
def get_variables(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(instances.instance_variables(services, instance_id, reader), services.settings.zone)


@router.post("/{instance_id}/variables", status_code=204, dependencies=[_ADMINISTER])
def modify_variables(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    modifications, deletions = modifications_and_deletions(body, services.settings)
    instances.modify_variables(services, instance_id, modifications=modifications, deletions=deletions, actor=actor)
    return Response(status_code=204)


@router.get("/{instance_id}/variables/{name}")
def get_variable(instance_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    values = instances.instance_variables(services, instance_id, reader)
    if name not in values:
        raise NotFound(f"process instance variable with name {name} does not exist")
    return encode_value(values[name], services.settings.zone)


@router.put("/{instance_id}/variables/{name}", status_code=204, dependencies=[_ADMINISTER])
def put_variable(instance_id: str, name: str, services: ServicesDep, actor: PrincipalDep,
                 body: JsonBody = None) -> Response:
    value = decode_value(name, body or {}, services.settings)
    instances.modify_variables(services, instance_id, modifications={name: value}, deletions=(), actor=actor)
    return Response(status_code=204)


@router.delete("/{instance_id}/variables/{name}", status_code=204, dependencies=[_ADMINISTER])
def delete_variable(instance_id: str, name: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    instances.modify_variables(services, instance_id, modifications={}, deletions=(name,), actor=actor)
    return Response(status_code=204)
