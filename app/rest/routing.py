"""The routers of the service (ServiceRouter) and the class of their routes (ServiceRoute).

- A router answers "no" at once to a request whose path none of its routes can match. FastAPI asks
  every included router in turn, and each tries all its routes twice (to match, then to handle it):
  with about 130 routes that took 0.2 ms a request, more than the rest of the routing.
- A plain `def` endpoint (it works with the database) runs in the thread pool in one hop, and FastAPI
  checks and writes its answer on the event loop; by default FastAPI hands the answer's check to the
  pool in a second hop, which costs more than the check of the small answers it makes.
- A JSON body reaches the endpoint as the strict reader parsed it (app.rest.limits.JsonBodyCheck
  leaves it on the request's state): FastAPI does not parse it a second time.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, MutableMapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

# The key under the request's state where JsonBodyCheck leaves the parsed body.
PARSED_BODY = "strict_json_body"


def parsed_body(scope: MutableMapping[str, Any], value: Any) -> None:
    """Leave a strictly parsed JSON body for the route (called by JsonBodyCheck)."""
    scope.setdefault("state", {})[PARSED_BODY] = value


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        state = self.scope.get("state", {})
        if PARSED_BODY in state:
            return state[PARSED_BODY]
        # A body the strict reader did not parse (blank): FastAPI's own answer to it stays.
        return await super().json()


def _in_thread(endpoint: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    # functools.wraps keeps the signature and annotations FastAPI reads the parameters from.
    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)
    return run


class ServiceRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _in_thread(endpoint)
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_parsed_body(request: Request) -> Response:
            return await handle(_StrictJsonRequest(request.scope, request.receive))
        return with_parsed_body


def _route_path(scope: Scope) -> str:
    """The path routes are matched against: the request's, less the root path a proxy serves it under."""
    path, root = scope["path"], scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        return path[len(root):]
    return path


class ServiceRouter(APIRouter):
    """Its paths are full paths from the application's root: it is included (into the application or
    another ServiceRouter) without a prefix, so that it knows which paths it serves."""

    def __init__(self, **options: Any) -> None:
        super().__init__(route_class=ServiceRoute, **options)
        self._included: list[ServiceRouter] = []
        self._leads: tuple[str, ...] | None = None

    def include_router(self, router: APIRouter, **options: Any) -> None:
        if options.get("prefix") or not isinstance(router, ServiceRouter):
            raise ValueError("A ServiceRouter includes ServiceRouters, without a prefix")
        super().include_router(router, **options)
        self._included.append(router)

    def leads(self) -> tuple[str, ...]:
        """What the path of a request it serves starts with: each route's path up to its first parameter.
        Read once, at the first request: the routes are declared when the modules are imported."""
        if self._leads is None:
            own = (route.path.partition("{")[0] for route in self.routes if isinstance(route, APIRoute))
            self._leads = tuple({*own, *(lead for router in self._included for lead in router.leads())})
        return self._leads

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not _route_path(scope).startswith(self.leads()):
            return Match.NONE, {}
        return super().matches(scope)
