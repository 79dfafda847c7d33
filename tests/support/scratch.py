"""A database of its own for a test that must build one (an older schema, a missing calendar year,
a first start): a new SQLite file, or a new schema of the PostgreSQL database named by DATABASE_URL
(dropped afterwards), so that the shared test database is never touched."""
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

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
