"""Camunda's identity resources: /user, /group and /identity, on the service's accounts
(app.access.identity). A password is never part of an answer."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access import identity
from app.errors import InvalidRequest
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import query_dict, sort_order
from app.rest.routing import ServiceRouter

if TYPE_CHECKING:
    from app.persistence.models import Account, IdentityGroup

router = ServiceRouter(prefix="/engine-rest", tags=["identity"])
_LISTS = frozenset({"idIn"})


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _user(account: Account) -> dict[str, Any]:
    # Accounts made by the `account` command carry a display name only: it stands as the first name.
    return {"id": account.id, "firstName": account.first_name or account.display_name,
            "lastName": account.last_name, "email": account.email}


def _group(group: IdentityGroup) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "type": group.type}


def _done() -> Response:
    return Response(status_code=204)


# --- /user ---------------------------------------------------------------------------------------

def _users(params: dict[str, Any]) -> Any:
    refuse_unread(params, "user")
    return identity.user_query(params, sort_order(params, identity.USER_SORTS))


@router.get("/user")
def list_users(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, _users(params), params, _user)


@router.get("/user/count")
def count_users(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _users(query_dict(request, _LISTS)))


@router.post("/user/create", status_code=204)
def create_user(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    identity.create_user(services, body or {}, actor=actor)
    return _done()


@router.get("/user/{user_id}/profile")
def get_profile(user_id: str, services: ServicesDep) -> dict[str, Any]:
    return _user(identity.profile(services, user_id))


@router.put("/user/{user_id}/profile", status_code=204)
def update_profile(user_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    identity.update_profile(services, user_id, body or {}, actor=actor)
    return _done()


@router.put("/user/{user_id}/credentials", status_code=204)
def update_credentials(user_id: str, request: Request, services: ServicesDep, actor: PrincipalDep,
                       body: JsonBody = None) -> Response:
    identity.update_credentials(services, user_id, body or {}, actor=actor, address=_address(request))
    return _done()


@router.delete("/user/{user_id}", status_code=204)
def delete_user(user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    identity.delete_user(services, user_id, actor=actor)
    return _done()


@router.post("/user/{user_id}/unlock", status_code=204)
def unlock_user(user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    identity.unlock_user(services, user_id, actor=actor)
    return _done()


# --- /group --------------------------------------------------------------------------------------

def _groups(params: dict[str, Any]) -> Any:
    return identity.group_query(params, sort_order(params, identity.GROUP_SORTS))


@router.get("/group")
def list_groups(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, _groups(params), params, _group)


@router.post("/group")
def query_groups(request: Request, services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    # Paging stays in the query string, the filters come in the body (as Camunda reads them).
    paging = query_dict(request)
    return listed(services, _groups(body or {}), paging, _group)


@router.get("/group/count")
def count_groups(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _groups(query_dict(request, _LISTS)))


@router.post("/group/count")
def query_group_count(services: ServicesDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, _groups(body or {}))


@router.post("/group/create", status_code=204)
def create_group(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    identity.create_group(services, body or {}, actor=actor)
    return _done()


@router.get("/group/{group_id}")
def get_group(group_id: str, services: ServicesDep) -> dict[str, Any]:
    return _group(identity.group(services, group_id))


@router.put("/group/{group_id}", status_code=204)
def update_group(group_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    identity.update_group(services, group_id, body or {}, actor=actor)
    return _done()


@router.delete("/group/{group_id}", status_code=204)
def delete_group(group_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    identity.delete_group(services, group_id, actor=actor)
    return _done()


@router.put("/group/{group_id}/members/{user_id}", status_code=204)
def add_member(group_id: str, user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    identity.add_member(services, group_id, user_id, actor=actor)
    return _done()


@router.delete("/group/{group_id}/members/{user_id}", status_code=204)
def remove_member(group_id: str, user_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    identity.remove_member(services, group_id, user_id, actor=actor)
    return _done()


# --- /identity -----------------------------------------------------------------------------------

@router.get("/identity/groups")
def groups_of_user(request: Request, services: ServicesDep) -> dict[str, Any]:
    user_id = query_dict(request).get("userId")
    if not user_id:
        raise InvalidRequest("No user id was supplied")
    groups, members = identity.groups_of(services, user_id)
    return {"groups": [{"id": group.id, "name": group.name} for group in groups],
            "groupUsers": [{"id": member.id, "firstName": member.first_name or member.display_name,
                            "lastName": member.last_name, "displayName": member.display_name or member.id}
                           for member in members]}


@router.post("/identity/verify")
def verify_user(request: Request, services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidRequest("Username and password are required")
    verified = identity.verify(services, username, password, _address(request))
    return {"authenticatedUser": username, "authenticated": verified, "tenants": None, "groups": None}


@router.get("/identity/password-policy")
def password_policy() -> dict[str, Any]:
    return {"rules": identity.password_policy()}


@router.post("/identity/password-policy")
def check_password(body: JsonBody = None) -> dict[str, Any]:
    return identity.check_password(body or {})
