"""The one place where the service's exceptions become HTTP answers, in Camunda's error shape."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import (
    BadUserRequest,
    ClockUnavailable,
    Conflict,
    ContentStoreUnavailable,
    DefinitionInUse,
    Forbidden,
    HistoryNotIntact,
    InvalidProcessModel,
    InvalidRequest,
    MigratingInstanceInvalid,
    MigrationPlanInvalid,
    MismatchingCorrelation,
    NotFound,
    NotFoundByQuery,
    ProcessExecutionFailed,
    ServiceError,
    StatutoryClockState,
    SuspendedEntityInteraction,
    TaskAlreadyClaimed,
    TooManyAttempts,
    Unauthenticated,
    UnknownIdentity,
)

log = logging.getLogger(__name__)

# Each error of the service's tree: its HTTP status and the exception name Camunda 7 answers with,
# the most specific first.
WIRE: list[tuple[type[ServiceError], int, str]] = [
    (MismatchingCorrelation, 400, "RestException"),
    (BadUserRequest, 400, "BadUserRequestException"),
    (MigrationPlanInvalid, 400, "MigrationPlanValidationException"),
    (MigratingInstanceInvalid, 400, "MigratingProcessInstanceValidationException"),
    # Camunda's exception is a BadUserRequestException (400), though some of its REST resources wrap
    # it in a 500: a 400 with its name tells every client the same thing.
    (SuspendedEntityInteraction, 400, "SuspendedEntityInteractionException"),
    (InvalidRequest, 400, "InvalidRequestException"),
    (InvalidProcessModel, 400, "ParseException"),
    (ProcessExecutionFailed, 400, "ProcessEngineException"),
    # Camunda answers it with a 500; a refusal the caller can act on is a 400 here, with Camunda's name.
    (DefinitionInUse, 400, "ProcessEngineException"),
    (ClockUnavailable, 409, "InvalidRequestException"),
    (Unauthenticated, 401, "AuthenticationException"),
    (TooManyAttempts, 429, "AuthenticationException"),
    (Forbidden, 403, "AuthorizationException"),
    (UnknownIdentity, 404, "InvalidRequestException"),
    (NotFoundByQuery, 404, "InvalidRequestException"),
    (NotFound, 404, "RestException"),
    (TaskAlreadyClaimed, 409, "TaskAlreadyClaimedException"),
    # A state the caller asked for already holds: no lost update, so not an OptimisticLockingException.
    (StatutoryClockState, 409, "InvalidRequestException"),
    (Conflict, 409, "OptimisticLockingException"),
    (HistoryNotIntact, 409, "RestException"),
    (ContentStoreUnavailable, 503, "RestException"),
]


def wire(error: ServiceError) -> tuple[int, str]:
    return next(((status, name) for kind, status, name in WIRE if isinstance(error, kind)),
                (500, "ProcessEngineException"))


def error_body(kind: str, message: str, code: int, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "message": message, "code": code}
    if details is not None:
        body["details"] = details
    return body


def parse_details(error: InvalidProcessModel) -> dict:
    """Camunda's ParseException details, keyed by resource, which Camunda Modeler shows per element."""
    details = error.details or {}
    element = details.get("element")
    return {details.get("resource") or "deployment": {
        "errors": [{"message": details.get("reason") or error.message, "line": details.get("line"), "column": None,
                    "mainElementId": element, "elementIds": [element] if element else []}],
        "warnings": []}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, error: ServiceError) -> JSONResponse:
        status, name = wire(error)
        details = parse_details(error) if isinstance(error, InvalidProcessModel) else error.details
        headers = {"WWW-Authenticate": 'Basic realm="eco-orchestrator"'} if status == 401 else None
        if isinstance(error, TooManyAttempts):
            headers = {"Retry-After": str(error.retry_after)}
        reported = isinstance(error, MigrationPlanInvalid | MigratingInstanceInvalid)
        body = error_body(name, error.message, status, None if status == 403 or reported else details)
        if status == 403:
            body.update(details or {})  # Camunda puts userId and missingAuthorizations beside the message
        if reported:
            body["validationReport"] = details  # as Camunda's migration exceptions carry their report
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(part) for part in item.get("loc", ())[1:]) or None,
                     "message": item.get("msg")} for item in error.errors()]
        message = "; ".join(f"{p['field']}: {p['message']}" if p["field"] else p["message"] for p in problems)
        return JSONResponse(error_body("InvalidRequestException", message or "Invalid request", 400, problems),
                            status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = "RestException" if error.status_code != 400 else "InvalidRequestException"
        return JSONResponse(error_body(kind, str(error.detail), error.status_code), status_code=error.status_code,
                            headers=getattr(error, "headers", None))


class Unexpected:
    """An unexpected error's answer: 500 in Camunda's shape, its cause in the log only. Made here,
    inside the middleware that names each request (app.rest.observe), rather than by Starlette's
    outermost handler, which raises the error again to the server: the server would then log it a
    second time and drop the client's connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answering = False

        async def sending(message: Message) -> None:
            nonlocal answering
            answering = answering or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if answering:  # half an answer is out: nothing whole can follow it
                raise
            log.exception("unexpected error")
            answer = JSONResponse(error_body("ProcessEngineException", "Internal error; nothing was saved", 500),
                                  status_code=500)
            await answer(scope, receive, send)
