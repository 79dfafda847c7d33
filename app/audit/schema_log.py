"""Camunda's schema log (`/schema/log`): each schema upgrade the migrate step applied, read from the
table it writes (app.persistence.migrations)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from app.persistence.models import SchemaLogEntry
from app.persistence.queries import page

if TYPE_CHECKING:
    from app.context import Services


def entries(services: Services, *, version: str | None, by_time_desc: bool | None, first: int,
            most: int) -> list[SchemaLogEntry]:
    """In the order they were applied, or by time (True: newest first)."""
    query = select(SchemaLogEntry)
    if version is not None:
        query = query.where(SchemaLogEntry.version == version)
    if by_time_desc is not None:
        query = query.order_by(SchemaLogEntry.timestamp.desc() if by_time_desc else SchemaLogEntry.timestamp)
    with services.db.read() as session:
        return list(page(session, query.order_by(SchemaLogEntry.id), first, most))
