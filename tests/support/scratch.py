"""A database of its own for a test that must build one (an older schema, a missing calendar year,
a first start): a new SQLite file, or a new schema of the PostgreSQL database named by DATABASE_URL
(dropped afterwards), so that the shared test database is never touched."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, Engine, create_engine, make_url, text

from app.persistence.migrations import alembic_config
from tests.support.service import database_url


@contextlib.contextmanager
def scratch_database(tmp_dir: Path) -> Iterator[str]:
    url = database_url(tmp_dir)
    if url.startswith("sqlite"):
        yield f"sqlite:///{tmp_dir / f'scratch-{uuid.uuid4().hex[:8]}.sqlite3'}"
        return
    schema = f"scratch_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


@contextlib.contextmanager
def migrated_over(tmp_dir: Path, revision: str, files: Iterable[tuple[str, str, bytes]]) -> Iterator[Engine]:
    """A scratch database brought to `revision`, holding `files` as deployed then (deployed_before),
    then to the newest revision."""
    with scratch_database(tmp_dir) as url:
        config = alembic_config(url)
        command.upgrade(config, revision)
        engine = create_engine(url)
        try:
            with engine.begin() as connection:
                deployed_before(connection, files)
            command.upgrade(config, "head")
            yield engine
        finally:
            engine.dispose()


def deployed_before(connection: Connection, files: Iterable[tuple[str, str, bytes]]) -> None:
    """Rows as a release before a migration left them: one deployment of `files` (key, resource name,
    content), each defining one process (a `.bpmn`) or one decision (a `.dmn`) of that key."""
    connection.execute(text("INSERT INTO deployment (id, deployment_time) VALUES ('d', '2026-01-01 00:00:00')"))
    for key, name, content in files:
        connection.execute(text("INSERT INTO deployment_resource (id, deployment_id, name, content, checksum) "
                                "VALUES (:key, 'd', :name, :content, 'c')"), {"key": key, "name": name, "content": content})
        values = {"id": f"{key}:1", "key": key, "name": name}
        if name.endswith(".dmn"):
            connection.execute(text("INSERT INTO decision_definition (id, key, version, deployment_id, resource_name, "
                                    "checksum) VALUES (:id, :key, 1, 'd', :name, 'c')"), values)
        else:
            connection.execute(text("INSERT INTO process_definition (id, key, version, deployment_id, resource_name, "
                                    "checksum, suspended) VALUES (:id, :key, 1, 'd', :name, 'c', false)"), values)
