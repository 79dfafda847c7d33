"""Services for use-case tests without HTTP, on a database whose every change is rolled back at the
end of the test: no tables to empty between tests.

The test holds one connection with an outer transaction begun on it; the Database runs every unit of
work and every read inside it, each in a SAVEPOINT (Database.join), so that a unit's commit, its
failure and its hooks behave as in the service, and the outer rollback removes everything at once.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text

from app.clock import SimulatedClock
from app.context import Services
from app.deadlines.calendars import seed_if_empty
from app.main import build_services
from app.persistence.database import Database
from app.persistence.migrations import upgrade_to_head
from app.persistence.models import Base, SchemaLogEntry
from app.settings import Settings
from tests.support.service import CLOCK_START, anchor_overrides

# On PostgreSQL the use-case tests keep to a schema of their own in the test database, so that the
# rows the HTTP tests leave between tests (the seeded calendar, the administrator) are not theirs.
SCHEMA = "use_cases"


def migrated_url(tmp_dir: Path) -> str:
    """The database of the use-case tests, brought to the newest schema (committed, once per run):
    a schema of the PostgreSQL named by DATABASE_URL, or a SQLite file in `tmp_dir`."""
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        url = f"sqlite:///{tmp_dir / 'use_cases.sqlite3'}"
    else:
        engine = create_engine(configured)
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        engine.dispose()
        url = make_url(configured).update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(
            hide_password=False)
    database = Database(url)
    upgrade_to_head(database)
    database.dispose()
    return url


@contextlib.contextmanager
def rolled_back_services(url: str, tmp_dir: Path) -> Iterator[Services]:
    """Services whose database changes last until the end of the block: the tables must be empty at
    its start (a change left by an earlier test is a failure), and are seeded with the calendar."""
    # The anchor log of the test's own: lines appended for units that the rollback removes go with it.
    settings = Settings(database_url=url, clock="simulated", timer_worker=False,
                        **{**anchor_overrides(url), "anchor_log": str(tmp_dir / "anchors.jsonl")})
    services = build_services(settings, SimulatedClock(CLOCK_START))
    try:
        with services.db.engine.connect() as connection:
            # Begun before joining: a Session joining a connection without a transaction would begin
            # and commit one of its own.
            outer = connection.begin()
            try:
                # The schema log holds the migration of the database itself, kept as Alembic's revision is.
                left = {table.name: count for table in Base.metadata.sorted_tables
                        if table.name != SchemaLogEntry.__tablename__
                        and (count := connection.scalar(select(func.count()).select_from(table)))}
                assert not left, f"rows left by an earlier test (not rolled back): {left}"
                services.db.join(connection)
                seed_if_empty(services)
                yield services
            finally:
                outer.rollback()
    finally:
        services.db.dispose()
