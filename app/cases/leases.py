"""Leases of work handed to outside workers (external tasks, reminders on their way to an SMS): a
worker locks items until an expiry on the injected clock; an item whose lease ran out is free for
the next worker, and only the worker holding the lease reports on an item."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import LockNotHeld


def free(lock_expiration: InstrumentedAttribute[datetime | None], now: datetime) -> ColumnElement[bool]:
    """The rows nobody holds a lease on at `now`."""
    return or_(lock_expiration.is_(None), lock_expiration <= now)


def require_held(what: str, *, holder: str | None, lock_expiration: datetime | None, worker_id: str | None,
                 now: datetime, action: str) -> None:
    """Refuse a worker that does not hold the lease of `what` (as Camunda words it for external tasks)."""
    if holder is None or lock_expiration is None or lock_expiration <= now:
        raise LockNotHeld(f"{what} cannot be {action} by worker '{worker_id}'. It is not locked.")
    if worker_id != holder:
        raise LockNotHeld(f"{what} cannot be {action} by worker '{worker_id}'. It is locked by worker '{holder}'.")
