"""The one place where the service's exceptions become HTTP answers, in Camunda's error shape."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import (
    ClockUnavailable,
    Conflict,
    Forbidden,
    HistoryNotIntact,
    InvalidProcessModel,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    ProcessExecutionFailed,
    ServiceError,
    TooManyAttempts,
    Unauthenticated,
)

log = logging.getLogger(__name__)

STATUS = [
    (PayloadTooLarge, 413),
    (InvalidRequest, 400),
    (InvalidProcessModel, 400),
    (ProcessExecutionFailed, 400),
    (ClockUnavailable, 409),
    (Unauthenticated, 401),
    (TooManyAttempts, 429),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (HistoryNotIntact, 409),
]


def status_of(error: ServiceError) -> int:
    return next((status for kind, status in STATUS if isinstance(error, kind)), 500)


def error_body(kind: str, message: str, code: int, details=None) -> dict:
    body = {"type": kind, "message": message, "code": code}
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
        status = status_of(error)
        details = parse_details(error) if isinstance(error, InvalidProcessModel) else error.details
        headers = {"WWW-Authenticate": 'Basic realm="eco-orchestrator"'} if status == 401 else None
        if isinstance(error, TooManyAttempts):
            headers = {"Retry-After": str(error.retry_after)}
        body = error_body(error.camunda_type, error.message, status, None if status == 403 else details)
        if status == 403:
            body.update(details or {})  # Camunda puts userId and missingAuthorizations beside the message
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

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("ProcessEngineException", "Internal error; nothing was saved", 500),
                            status_code=500)
