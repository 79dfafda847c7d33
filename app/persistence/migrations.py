"""Bringing the schema to the newest Alembic revision before the service answers."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from app.persistence.database import Database
from app.settings import PROJECT_ROOT

# Several replicas may start at once on one PostgreSQL: one migrates, the others wait for it.
_MIGRATION_LOCK = 48_151_623


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_to_head(database: Database) -> None:
    config = alembic_config(database.url)
    if database.is_sqlite:
        command.upgrade(config, "head")
        return
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
