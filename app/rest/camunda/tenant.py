"""Camunda's /tenant resource: the service's regions (app.access.tenants), read by every signed-in
caller and administered by administrators."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access import tenants
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, text
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest", tags=["tenant"])
_FILTERS = ("id", "name", "nameLike", "userMember", "groupMember")


def _tenant(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def _tenants(params: dict[str, Any]) -> Any:
    filters: dict[str, Any] = {name: text(params, name) for name in _FILTERS}
    filters["includingGroupsOfUser"] = flag(params.get("includingGroupsOfUser"), "includingGroupsOfUser")
    return tenants.tenant_query(filters, sort_order(params, tenants.SORTS))


def _done() -> Response:
    return Response(status_code=204)


@router.get("/tenant")
def list_tenants(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    return listed(services, _tenants(params), params, _tenant)


@router.get("/tenant/count")
def count_tenants(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _tenants(query_dict(request)))


@router.post("/tenant/create", status_code=204)
def create_tenant(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    tenants.create_tenant(services, body or {}, actor=actor)
    return _done()


@router.get("/tenant/{tenant_id}")
def get_tenant(tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _tenant(tenants.tenant(services, tenant_id))


@router.put("/tenant/{tenant_id}", status_code=204)
def update_tenant(tenant_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    tenants.update_tenant(services, tenant_id, body or {}, actor=actor)
    return _done()


@router.delete("/tenant/{tenant_id}", status_code=204)
def delete_tenant(tenant_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tenants.delete_tenant(services, tenant_id, actor=actor)
    return _done()


@router.put("/tenant/{tenant_id}/user-members/{user_id}", status_code=204)
def add_user_member(tenant_id: str, user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tenants.add_user(services, tenant_id, user_id, actor=actor)
    return _done()


@router.delete("/tenant/{tenant_id}/user-members/{user_id}", status_code=204)
def remove_user_member(tenant_id: str, user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tenants.remove_user(services, tenant_id, user_id, actor=actor)
    return _done()


@router.put("/tenant/{tenant_id}/group-members/{group_id}", status_code=204)
def add_group_member(tenant_id: str, group_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tenants.add_group(services, tenant_id, group_id, actor=actor)
    return _done()


@router.delete("/tenant/{tenant_id}/group-members/{group_id}", status_code=204)
def remove_group_member(tenant_id: str, group_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tenants.remove_group(services, tenant_id, group_id, actor=actor)
    return _done()
