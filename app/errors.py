"""The service's one exception tree.

Every error a caller can cause or observe is a ServiceError; `app.rest.errors` maps the tree to HTTP
in one place. The names given by `camunda_type` are the exception names Camunda 7 clients expect in
the error body.
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    camunda_type = "RestException"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(ServiceError):
    """The request itself is wrong: a missing field, a wrongly typed variable, an unknown option."""

    camunda_type = "InvalidRequestException"


class FormValidationFailed(InvalidRequest):
    """Submitted form data break the form's constraints; `details` names each failing field."""


class InvalidProcessModel(ServiceError):
    """An uploaded BPMN file cannot be deployed; the message names the element and why."""

    camunda_type = "ParseException"


class NotFound(ServiceError):
    camunda_type = "RestException"


class Conflict(ServiceError):
    """The state changed under the request (a task completed by someone else meanwhile)."""

    camunda_type = "OptimisticLockingException"


class HistoryNotIntact(ServiceError):
    """The recorded history was changed or has events removed: what needs it whole (a replay) refuses."""

    camunda_type = "RestException"


class PayloadTooLarge(InvalidRequest):
    pass


class ProcessExecutionFailed(ServiceError):
    """The process could not advance (an expression failed at run time); nothing was saved."""

    camunda_type = "ProcessEngineException"


class ClockUnavailable(ServiceError):
    """The simulated clock was asked for while the service runs on the system clock."""

    camunda_type = "InvalidRequestException"


class Unauthenticated(ServiceError):
    """The credentials sent are not those of an account."""

    camunda_type = "AuthenticationException"


class TooManyAttempts(ServiceError):
    """Sign-ins are refused for a while after repeated failures: of the account, or from the address."""

    camunda_type = "AuthenticationException"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class Forbidden(ServiceError):
    """The caller is known but may not do or see this."""

    camunda_type = "AuthorizationException"
