"""Databases of their own for the tests that need one beside the shared test database: an empty
PostgreSQL database on the server DATABASE_URL names (dropped afterwards), or a SQLite file."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from app.persistence.database import libpq_url


def _admin(url: str) -> str:
    return libpq_url(make_url(url).set(database="postgres").render_as_string(hide_password=False))


def fresh_database(tmp_path: Path) -> str:
    """An empty database of the kind the tests run on: a new PostgreSQL database when DATABASE_URL
    names one, otherwise a SQLite file in tmp_path."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.sqlite3'}"
    name = f"eco_fresh_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin(url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(_admin(url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
