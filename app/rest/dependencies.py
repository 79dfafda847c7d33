"""FastAPI dependencies shared by the routers."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Depends, Request, params

from app.access import accounts, permissions
from app.access.accounts import Principal
from app.context import Services
from app.errors import Unauthenticated
from app.rest.observe import ACTOR


# The dependencies that only read what is in memory are coroutines: a plain function would be run in
# the thread pool, a hop that costs more than the function.
async def get_services(request: Request) -> Services:
    return request.app.state.services


def get_principal(request: Request) -> Principal:
    """Who calls, from the request's credentials (anonymous without any). The client address is the
    one the proxy forwards (uvicorn --proxy-headers), by which failed sign-ins are also throttled.
    It reads the database, so it runs in the thread pool, off the event loop."""
    principal = accounts.principal_of(request.app.state.services, request.headers.get("authorization"),
                                      request.headers.get("x-api-key"),
                                      request.client.host if request.client else None)
    request.scope.setdefault("state", {})[ACTOR] = principal.user_id  # for the request's log line
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
ServicesDep = Annotated[Services, Depends(get_services)]
# A JSON object body, optional as Camunda's clients send it (checked by app.rest.json_input first).
JsonBody = Annotated[dict[str, Any] | None, Body()]


def role(*groups: str, permission: str, resource_type: str) -> params.Depends:
    """A route dependency: the caller must be in one of the groups (administrators always are)."""
    async def check(principal: PrincipalDep) -> None:
        permissions.require_group(principal, groups, permission, resource_type)
    return Depends(check)


async def require_principal(principal: PrincipalDep) -> Principal:
    """Every route but /health needs a signed-in caller: no request without credentials reaches data."""
    if principal.anonymous:
        raise Unauthenticated("Sign in: send HTTP Basic credentials of an account of this service")
    return principal
