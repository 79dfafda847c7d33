"""The service's one exception tree. Every error a caller can cause or observe is a ServiceError;
`app.rest.errors` gives each its HTTP status and the exception name Camunda's clients expect, in one
table. Errors of the libraries underneath are translated into this tree where they enter.

    ServiceError
    ├── InvalidRequest            the request is wrong: a missing field, a bad value, an unknown option
    │   ├── FormValidationFailed  submitted form data break the form's constraints
    │   ├── MismatchingCorrelation  a message matches no waiting instance, or several
    │   ├── BadUserRequest        a command Camunda refuses as a BadUserRequestException
    │   │   └── LockNotHeld       an external task is not locked by the worker that reports on it
    │   ├── SuspendedEntityInteraction  the instance or definition is suspended (挂起)
    │   ├── MigrationPlanInvalid  a migration plan's instructions fail validation (details: the report)
    │   └── MigratingInstanceInvalid  an instance cannot be migrated by the plan (details: the report)
    ├── InvalidProcessModel       an uploaded file cannot be deployed (names the element and why)
    ├── ProcessExecutionFailed    the process could not advance; nothing was saved
    ├── DefinitionInUse           a process definition cases run on cannot be deleted
    ├── NotFound
    │   └── UnknownIdentity     a user or group that does not exist
    ├── Conflict                  the state changed under the request; nothing was saved
    │   └── TaskAlreadyClaimed
    ├── HistoryNotIntact          the recorded history was changed; what needs it whole refuses
    ├── ContentStoreUnavailable   the store of attached files did not answer; nothing was saved
    ├── ClockUnavailable          the simulated clock was asked of a service on the system clock
    ├── Unauthenticated           the credentials are not those of an account
    ├── TooManyAttempts           sign-ins refused for a while after repeated failures
    └── Forbidden                 the caller is known but may not do or see this
"""
from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(ServiceError):
    """The request itself is wrong: a missing field, a wrongly typed variable, an unknown option."""


class FormValidationFailed(InvalidRequest):
    """Submitted form data break the form's constraints; `details` names each failing field."""


class MismatchingCorrelation(InvalidRequest):
    """A message matches no waiting instance or start event, or more than one where one was asked."""


class BadUserRequest(InvalidRequest):
    """A command Camunda's engine refuses as a bad request of the user (an incident it cannot resolve)."""


class LockNotHeld(BadUserRequest):
    """An external task is reported on by a worker that does not hold its lock."""


class SuspendedEntityInteraction(InvalidRequest):
    """A command that would move a suspended instance on, or start one of a suspended definition."""


class MigrationPlanInvalid(InvalidRequest):
    """A migration plan's instructions fail validation; `details` is Camunda's validation report."""


class MigratingInstanceInvalid(InvalidRequest):
    """A process instance cannot be migrated by the plan; `details` is Camunda's validation report."""


class InvalidProcessModel(ServiceError):
    """An uploaded BPMN or DMN file cannot be deployed; the message names the element and why."""


class ProcessExecutionFailed(ServiceError):
    """The process could not advance (an expression failed at run time); nothing was saved."""


class DefinitionInUse(ServiceError):
    """A process definition that running cases use cannot be deleted (Camunda's ENGINE-03076)."""


class NotFound(ServiceError):
    pass


class NotFoundByQuery(NotFound):
    """A single resource that Camunda's REST layer answers 404 with an InvalidRequestException when
    the engine does not find it (the historic logs and details, a process definition to delete)."""


class UnknownIdentity(NotFound):
    """A user or group that does not exist (Camunda answers its identity resources' 404 with an
    InvalidRequestException)."""


class Conflict(ServiceError):
    """The state changed under the request (a task completed by someone else meanwhile)."""


class TaskAlreadyClaimed(Conflict):
    pass


class StatutoryClockState(Conflict):
    """A case's statutory clock is already as the request would put it (stopped, or running)."""


class HistoryNotIntact(ServiceError):
    """The recorded history was changed or has events removed: what needs it whole (a replay) refuses."""


class ContentStoreUnavailable(ServiceError):
    """The store that keeps attached files (a directory, an S3-compatible bucket) did not answer as it
    should; the command changed nothing."""


class ClockUnavailable(ServiceError):
    """The simulated clock was asked for while the service runs on the system clock."""


class Unauthenticated(ServiceError):
    """The credentials sent are not those of an account."""


class TooManyAttempts(ServiceError):
    """Sign-ins are refused for a while after repeated failures: of the account, or from the address."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


class Forbidden(ServiceError):
    """The caller is known but may not do or see this."""
