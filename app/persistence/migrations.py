"""Bringing the schema to the newest Alembic revision before the service answers, and logging each
upgrade (Camunda's schema log)."""
from __future__ import annotations

import functools
from datetime import datetime

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, insert, literal, select, text

from app.clock import Clock, SystemClock
from app.persistence.database import AdvisoryLock, Database
from app.persistence.models import SchemaLogEntry
from app.settings import PROJECT_ROOT


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _log_upgrade(connection: Connection, revision: str | None, at: datetime) -> None:
    """Log the revision the schema is at, unless it is the one last logged: in one statement, so that
    processes starting together on one SQLite file wait for each other's write instead of failing
    to turn a read into a write."""
    if revision is None:
        return
    last = select(SchemaLogEntry.version).order_by(SchemaLogEntry.id.desc()).limit(1).scalar_subquery()
    connection.execute(insert(SchemaLogEntry).from_select(
        ["timestamp", "version"],
        select(literal(at, SchemaLogEntry.timestamp.type), literal(revision))
        .where(func.coalesce(last, "") != revision)))


def upgrade_to_head(database: Database, clock: Clock | None = None) -> None:
    config = alembic_config(database.url)
    now = (clock or SystemClock()).now
    if database.is_sqlite:
        command.upgrade(config, "head")
        with database.engine.connect() as connection:
            revision = database_revision(connection)
        with database.engine.begin() as connection:
            _log_upgrade(connection, revision, now())
        return
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": int(AdvisoryLock.MIGRATION)})
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            _log_upgrade(connection, database_revision(connection), now())
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": int(AdvisoryLock.MIGRATION)})
            connection.commit()


@functools.cache
def script_head() -> str | None:
    """The newest revision of this build's migrations (read once: the build does not change)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def database_revision(connection: Connection) -> str | None:
    """The revision the database's schema is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def prepare_schema(database: Database, migrate: bool, clock: Clock | None = None) -> None:
    """At start: migrate, or where `eco-orchestrator migrate` runs apart (MIGRATE_ON_START=false), refuse a
    schema that is not at the newest revision rather than serve with one this build does not know."""
    if migrate:
        upgrade_to_head(database, clock)
        return
    with database.engine.connect() as connection:
        current = database_revision(connection)
    if current != script_head():
        raise RuntimeError(f"The database schema is at revision {current or 'none'} and this build needs "
                           f"{script_head()}: run `eco-orchestrator migrate` first (MIGRATE_ON_START=false)")
