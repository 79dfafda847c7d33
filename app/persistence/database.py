"""Connections and units of work.

A unit of work is one transaction: an instance's state, its task rows, timers and history commit
together or not at all. On SQLite a writing unit takes the write lock when it begins (BEGIN
IMMEDIATE) so that two writers queue instead of failing half-way; readers never block.
"""
from __future__ import annotations

import asyncio
import contextlib
import enum
import fcntl
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict, InvalidRequest

if TYPE_CHECKING:
    from sqlalchemy.engine.interfaces import DBAPIConnection
    from sqlalchemy.pool import ConnectionPoolEntry

    from app.persistence.models import Base


class AdvisoryLock(enum.IntEnum):
    """The PostgreSQL advisory lock keys of the service, one per purpose, kept together so that no key
    serves two purposes (a process holding one would wait for itself on another connection)."""

    MIGRATION = 48_151_623
    ANCHOR_CHAIN = 48_151_624
    FIRST_START = 48_151_625  # the migrations take theirs inside it


# The PostgreSQL channel on which a unit of work that made new work tells every replica (its payload:
# the kind of work), so that a long poll held on one replica wakes for work another one made.
NEW_WORK_CHANNEL = "eco_new_work"
_LISTEN_RETRY_SECONDS = 2.0


class CommitSignal:
    """Wakes waiters (on any event loop) when a unit of work that made new work of a kind commits:
    long-polling requests answer as soon as the work exists instead of at their next poll. On
    PostgreSQL the news also comes from the other replicas, by LISTEN on NEW_WORK_CHANNEL (a thread
    started with the first waiter, holding one connection of its own)."""

    def __init__(self, listen_url: str | None = None) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._listen_url = listen_url
        self._listener: threading.Thread | None = None
        self._stopped = threading.Event()

    def subscribe(self, kind: str) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        """Register before looking for work, so that work committed meanwhile is not missed."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters[kind].add(waiter)
            if self._listen_url is not None and self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="new-work-listener", daemon=True)
                self._listener.start()
        return waiter

    def stop(self) -> None:
        self._stopped.set()

    def _listen(self) -> None:
        import psycopg  # only on PostgreSQL

        while not self._stopped.is_set():
            try:
                with psycopg.connect(self._listen_url or "", autocommit=True) as connection:
                    connection.execute(f"LISTEN {NEW_WORK_CHANNEL}")
                    while not self._stopped.is_set():
                        for notice in connection.notifies(timeout=1.0):
                            self.notify(notice.payload)
            except psycopg.Error:
                # The database went away: the long polls still look again on their own meanwhile.
                self._stopped.wait(_LISTEN_RETRY_SECONDS)

    def unsubscribe(self, kind: str, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters[kind].discard(waiter)

    def notify(self, kind: str) -> None:
        with self._lock:
            waiters = list(self._waiters[kind])
        for loop, ready in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(ready.set)


# The most values one statement binds: PostgreSQL's limit, kept on SQLite too so that a request
# answers alike on both.
MAX_BOUND_VALUES = 65_535


def _bounded_parameters(connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                        executemany: bool) -> None:
    """A query naming more values than a statement can bind (many long lists in one request) is
    refused as the caller's, before the database answers with an error of its own."""
    if not executemany and parameters is not None and len(parameters) > MAX_BOUND_VALUES:
        raise InvalidRequest(f"The request names {len(parameters)} values to look for, more than one query can "
                             f"take ({MAX_BOUND_VALUES}); ask in several requests")


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, session_info: dict | None = None) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.committed = CommitSignal(None if self.is_sqlite else libpq_url(url))
        if self.is_sqlite:
            _ensure_directory(url)
            self.engine: Engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        event.listen(self.engine, "before_cursor_execute", _bounded_parameters)
        # session_info: what every unit of work and read may need besides the connection (the anchor
        # signer, the content store).
        self._reader = sessionmaker(self.engine, expire_on_commit=False, info=session_info)
        # Writers flush where they must (a row before the rows that refer to it), so that one unit of
        # work sends each change once instead of a flush before every query.
        self._writer = sessionmaker(self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False,
                                    autoflush=False, info=session_info)

    def join(self, connection: Connection) -> None:
        """Run every later unit of work, and every read, inside the transaction already begun on
        `connection` (one of this database's engine, so that SQLite's BEGIN handling lets SAVEPOINTs
        work): each opens a SAVEPOINT that its commit releases and its failure rolls back, and whoever
        began the outer transaction decides whether anything stays. For tests that roll everything
        back (SQLAlchemy's "joining a Session into an external transaction"); the service never
        calls it."""
        for sessions in (self._reader, self._writer):
            sessions.configure(bind=connection, join_transaction_mode="create_savepoint")

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            try:
                yield session
            except DataError as error:
                raise _unstorable(error) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work; a concurrent change of the same instance raises Conflict and rolls back."""
        with self._writer() as session:
            try:
                with session.begin():
                    yield session
                    joined = _JOINED.get()
                    if joined:  # taken by this unit only: the next one of the thread does not run it again
                        hooks, joined[:] = list(joined), []
                        for joined_hook in hooks:
                            joined_hook(session)
                    for hook in session.info.pop("before_commit", []):
                        hook()
                    if not self.is_sqlite:
                        # Delivered to every replica's listener when (and only if) the unit commits.
                        for kind in session.info.get("new_work", ()):
                            session.execute(text("SELECT pg_notify(:channel, :kind)"),
                                            {"channel": NEW_WORK_CHANNEL, "kind": kind})
                for hook in session.info.pop("after_commit", []):
                    hook()
                for kind in session.info.pop("new_work", ()):
                    self.committed.notify(kind)
            except DataError as error:
                raise _unstorable(error) from None
            except (StaleDataError, IntegrityError):
                # A row changed, or the same row was written, by a concurrent unit of work.
                raise Conflict("The instance was changed by another request at the same time; "
                               "nothing was saved. Reload and try again.") from None
            except OperationalError as error:
                if self.is_sqlite and "locked" in str(error).lower():
                    raise Conflict("The database is busy; nothing was saved. Try again.") from None
                raise

    @contextlib.contextmanager
    def exclusive_start(self) -> Iterator[None]:
        """Held while a process does its first-start work (migrations, seeding, bootstrap accounts), so
        that several replicas or uvicorn workers starting at once on one database take turns: a
        PostgreSQL advisory lock, or a lock on a file beside the SQLite database."""
        if not self.is_sqlite:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": int(AdvisoryLock.FIRST_START)})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": int(AdvisoryLock.FIRST_START)})
            return
        database = make_url(self.url).database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{Path(database).expanduser().resolve()}.start-lock", "a+b") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def ping(self) -> None:
        """One round trip to the database (raises if it cannot be reached)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.committed.stop()
        self.engine.dispose()


def _unstorable(error: DataError) -> InvalidRequest:
    """A value the database cannot hold (too long for its column, a NUL character, a number out of
    range) is the request's fault: nothing was saved."""
    reason = str(error.orig).split("\n")[0] if error.orig is not None else "invalid value"
    return InvalidRequest(f"A value of the request cannot be stored: {reason}; nothing was saved")


def insert_missing(session: Session, model: type[Base], rows: list[dict]) -> None:
    """Insert the rows whose primary key is not there yet, in one statement (no look-up first)."""
    if rows:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        session.connection().execute(dialect.insert(model.__table__).on_conflict_do_nothing(), rows)


# What the next unit of work of this thread must also write (joined_to_next_unit).
_JOINED: ContextVar[list[Callable[[Session], None]] | None] = ContextVar("joined", default=None)


@contextlib.contextmanager
def joined_to_next_unit(hook: Callable[[Session], None]) -> Iterator[Callable[[], bool]]:
    """Inside the block, the first unit of work the thread commits also runs `hook(session)` just
    before its commit, so that a use case called unchanged commits the caller's row with its own
    changes, or neither. Yields a test of whether the hook ran (a use case may commit nothing)."""
    pending = [hook]
    token = _JOINED.set(pending)
    try:
        yield lambda: not pending
    finally:
        _JOINED.reset(token)


def on_commit(session: Session, hook: Callable[[], None]) -> None:
    """Run `hook` at the end of the unit of work, inside its transaction (rows gathered on the way)."""
    session.info.setdefault("before_commit", []).append(hook)


def after_commit(session: Session, hook: Callable[[], None]) -> None:
    """Run `hook` once the unit of work has committed (what leaves the database: nothing of a rolled
    back unit may)."""
    session.info.setdefault("after_commit", []).append(hook)


def announce_new_work(session: Session, kind: str) -> None:
    """Tell waiters for work of `kind` once this unit of work has committed."""
    session.info.setdefault("new_work", set()).add(kind)


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as libpq reads it (psycopg, pg_dump, pg_restore)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _ensure_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def _sqlite_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself, so that writers can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # LIKE is case-sensitive, as on PostgreSQL and in Camunda, and as the service matches in Python.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")
