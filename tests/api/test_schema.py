"""The migrated schema is the schema the code expects: every table, column, type, nullability and
index the models declare comes from a migration, on SQLite and on PostgreSQL alike."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.persistence.models import Base


def test_migrations_build_exactly_the_models_schema(service):
    with service.services.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
