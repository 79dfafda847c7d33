"""Every request is counted and timed by its route template, carries an id (X-Request-ID, offered by
the client or a proxy, else new) that its answer echoes and its log lines name, and, with
LOG_FORMAT=json, is logged in one line once answered."""
from __future__ import annotations

import logging
import time

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.telemetry import logs
from app.telemetry.metrics import HTTP_DURATION, HTTP_REQUESTS

log = logging.getLogger("app.http")

# The label of a request no route matched: raw paths never become labels.
UNMATCHED = "unmatched"
# Where the caller's account id is left for this line (app.rest.dependencies.get_principal).
ACTOR = "actor"


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None) if isinstance(route, BaseRoute) else None
    return path if isinstance(path, str) else UNMATCHED


class Observe:
    def __init__(self, app: ASGIApp, *, log_requests: bool) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = next((value for name, value in scope.get("headers", []) if name == b"x-request-id"), None)
        request_id = logs.request_id(offered.decode("latin-1") if offered is not None else None)
        # Not reset once answered: each request runs in a task of its own.
        logs.REQUEST_ID.set(request_id)
        state = scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500

        async def identified(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(name, value) for name, value in message.get("headers", []) if name != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, identified)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_template(scope), scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route, str(status)).observe(elapsed)
            if self.log_requests:
                log.info("%s %s %s", method, route, status, extra={
                    "route": route, "method": method, "status": status, "duration_ms": round(elapsed * 1000, 3),
                    "actor": state.get(ACTOR)})
