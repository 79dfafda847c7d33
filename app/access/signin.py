"""Throttling of failed sign-ins, counted in the database so that every replica shares the counts.

Refused tries are counted per account name and per client address in fixed windows of
signin_window_seconds. After signin_throttle_failures in a window, further tries answer 429 until
the window ends, without checking the password. A try refused because its account is throttled
still counts, so that an account attacked from many addresses reaches signin_lockout_failures and
is locked for signin_lockout_seconds; a try refused because its address is throttled, or its
account locked, writes nothing, so a flood from one address costs no writes.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import ColumnElement, String, and_, bindparam, case, delete, null, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.audit import ledger
from app.errors import Conflict, TooManyAttempts
from app.persistence.models import Account, SigninFailure
from app.settings import Settings
from app.telemetry.metrics import SIGNIN_FAILURES, SIGNIN_THROTTLED

if TYPE_CHECKING:
    from app.context import Services

ACCOUNT, ADDRESS = "account", "address"


def _keys(user_id: str, address: str | None) -> dict[str, str]:
    keys = {ACCOUNT: user_id[:255]}
    if address:
        keys[ADDRESS] = address[:255]
    return keys


def _seconds(wait: timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def failures_of(with_address: bool) -> ColumnElement[bool]:
    """Selects the failure rows of the account name and, with_address, of the client address (at most
    two), by the parameters failure_keys() gives: a statement built once serves every request."""
    table = SigninFailure.__table__.c
    keys = [(ACCOUNT, "failed_account")] + ([(ADDRESS, "failed_address")] if with_address else [])
    return or_(*(and_(table.kind == kind, table.key == bindparam(name, type_=String)) for kind, name in keys))


def failure_keys(user_id: str, address: str | None) -> dict[str, str]:
    """The parameters of failures_of(address is not None)."""
    keys = _keys(user_id, address)
    return {f"failed_{kind}": key for kind, key in keys.items()}


# What judge() reads of each failure row; the caller selects them, beside what else it reads.
FAILURE_COLUMNS = tuple(SigninFailure.__table__.c[name] for name in ("kind", "window_start", "failures",
                                                                     "locked_until"))


class FailureRow(Protocol):
    kind: str
    window_start: datetime
    failures: int
    locked_until: datetime | None


def judge(services: Services, rows: Iterable[FailureRow], user_id: str, address: str | None) -> None:
    """Raise TooManyAttempts while the account is locked or the account or address is throttled,
    from the failure rows of the account name and the address as read now (FAILURE_COLUMNS where
    failures_of); a clean account and address have none."""
    try:
        _judge(services, rows, user_id, address)
    except TooManyAttempts:
        SIGNIN_THROTTLED.inc()
        raise


def _judge(services: Services, rows: Iterable[FailureRow], user_id: str, address: str | None) -> None:
    settings, now = services.settings, services.clock.now()
    by_kind = {row.kind: row for row in rows}
    account = by_kind.get(ACCOUNT)
    if account is not None and account.locked_until is not None and account.locked_until > now:
        raise TooManyAttempts(_seconds(account.locked_until - now))
    window = timedelta(seconds=settings.signin_window_seconds)
    throttled = {kind: row.window_start + window - now for kind, row in by_kind.items()
                 if row.locked_until is None and row.failures >= settings.signin_throttle_failures
                 and row.window_start + window > now}
    if ADDRESS in throttled:
        raise TooManyAttempts(_seconds(max(throttled.values())))
    if ACCOUNT in throttled:
        failed(services, user_id, address)
        raise TooManyAttempts(_seconds(throttled[ACCOUNT]))


def failed(services: Services, user_id: str, address: str | None) -> None:
    """Count a refused try against its account name and its address; the try that brings the
    account to signin_lockout_failures locks it and answers TooManyAttempts."""
    SIGNIN_FAILURES.inc()
    for attempt in range(3):
        try:
            with services.db.write() as session:
                locked = _count(session, services.settings, services.clock.now(), user_id, address)
            break
        except Conflict:
            # The lockout's administrative record met another administrative change (or SQLite was
            # busy); nothing was counted, so count again.
            if attempt == 2:
                raise
    if locked:
        SIGNIN_THROTTLED.inc()
        raise TooManyAttempts(services.settings.signin_lockout_seconds)


def _count(session: Session, settings: Settings, now: datetime, user_id: str, address: str | None) -> bool:
    """One upsert of both rows; whether this try locked the account."""
    table = SigninFailure.__table__
    window = timedelta(seconds=settings.signin_window_seconds)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    keys = _keys(user_id, address)
    insert = dialect.insert(table).values([{"kind": kind, "key": key, "window_start": now, "failures": 1}
                                           for kind, key in keys.items()])
    ended = or_(table.c.window_start <= now - window, table.c.locked_until <= now)
    counted = dict(session.execute(insert.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.key],
        set_={"failures": case((ended, 1), else_=table.c.failures + 1),
              "window_start": case((ended, insert.excluded.window_start), else_=table.c.window_start),
              "locked_until": case((ended, null()), else_=table.c.locked_until)},
    ).returning(table.c.kind, table.c.failures)).all())
    if counted[ACCOUNT] == 1:
        # The first failure of a window also forgets the rows whose window and lock are over, so
        # the table holds only live counts.
        session.execute(delete(SigninFailure).where(
            SigninFailure.window_start <= now - window,
            or_(SigninFailure.locked_until.is_(None), SigninFailure.locked_until <= now)))
    if counted[ACCOUNT] != settings.signin_lockout_failures:
        return False
    session.execute(update(SigninFailure).where(SigninFailure.kind == ACCOUNT, SigninFailure.key == keys[ACCOUNT])
                    .values(locked_until=now + timedelta(seconds=settings.signin_lockout_seconds)))
    # A name of no account is locked alike (the answers must not tell), but only accounts are history.
    if session.get(Account, user_id) is not None:
        ledger.record_admin(session, "account.locked", f"account:{user_id}", now, None, address=address,
                            failures=counted[ACCOUNT], seconds=settings.signin_lockout_seconds)
    return True
