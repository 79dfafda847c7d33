"""Camunda's /authorization: the service's roles shown as grants, checks by the same rules the
commands apply, and the filter authorizations that share a saved filter (app.access.authorizations)."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access import authorizations, permissions
from app.access.accounts import Principal
from app.context import Services
from app.errors import InvalidRequest
from app.rest.camunda.render import link
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import page_bounds
from app.rest.params import integer, query_dict, sort_order, text
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/authorization", tags=["authorization"])
_LISTS = frozenset({"userIdIn", "groupIdIn"})


def _render(auth: authorizations.Authorization, request: Request | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": auth.id, "type": auth.type, "permissions": list(auth.permissions),
                              "userId": auth.user_id, "groupId": auth.group_id, "resourceType": auth.resource_type,
                              "resourceId": auth.resource_id, "removalTime": None, "rootProcessInstanceId": None}
    if request is not None:
        answer["links"] = [link(request, f"/authorization/{auth.id}")]
    return answer


def _found(request: Request, services: Services, reader: Principal) -> list[authorizations.Authorization]:
    params = query_dict(request, _LISTS)
    return authorizations.authorizations(services, params, sort_order(params, ("resourceType", "resourceId")),
                                         reader)


@router.get("")
def list_authorizations(request: Request, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    first, most = page_bounds(query_dict(request), services.settings)
    return [_render(auth) for auth in _found(request, services, reader)[first:first + most]]


@router.get("/count")
def count_authorizations(request: Request, services: ServicesDep, reader: PrincipalDep) -> dict[str, int]:
    return {"count": len(_found(request, services, reader))}


@router.get("/check", summary="Whether the caller (or, for administrators, userId) has a permission")
def check(request: Request, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    p = query_dict(request)
    permission, resource_name = text(p, "permissionName"), text(p, "resourceName")
    resource_type = integer(p.get("resourceType"), "resourceType")
    if not permission or resource_type is None or resource_type not in authorizations.RESOURCE_TYPES:
        raise InvalidRequest("Query parameters permissionName and resourceType (a known resource type) are mandatory")
    user_id = text(p, "userId")
    subject = reader
    if user_id not in (None, reader.user_id):
        if not permissions.is_administrator(reader):
            raise permissions.denied(reader, "READ", "Authorization", None)
        subject = authorizations.principal_of_user(services, user_id or "")
    resource_id = text(p, "resourceId")
    return {"permissionName": permission, "resourceName": resource_name or authorizations.RESOURCE_TYPES[resource_type],
            "resourceId": resource_id,
            "authorized": authorizations.check(services, subject, permission, resource_type, resource_id)}


@router.post("/create")
def create(request: Request, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    return _render(authorizations.create_grant(services, body or {}, actor=actor), request)


@router.get("/{authorization_id}")
def get(authorization_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return _render(authorizations.get(services, authorization_id, reader))


@router.put("/{authorization_id}", status_code=204)
def update(authorization_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    authorizations.update_grant(services, authorization_id, body or {}, actor=actor)
    return Response(status_code=204)


@router.delete("/{authorization_id}", status_code=204)
def delete(authorization_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    authorizations.delete_grant(services, authorization_id, actor=actor)
    return Response(status_code=204)
