"""Paging and counting, the same for every list endpoint."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def page(session: Session, query: Select, first_result: int = 0, max_results: int | None = None) -> list[Any]:
    """Rows of the query from `first_result`, at most `max_results`; one entity per row is unwrapped."""
    query = query.offset(first_result)
    if max_results is not None:
        query = query.limit(max_results)
    rows = session.execute(query).all()
    return [row[0] for row in rows] if rows and len(rows[0]) == 1 else list(rows)


def latest_versions_only(query: Select, definition) -> Select:
    """Keep only the newest version of each key of a definition table (process or decision)."""
    newest = (select(definition.key, func.max(definition.version).label("version"))
              .group_by(definition.key).subquery())
    return query.join(newest, (newest.c.key == definition.key) & (newest.c.version == definition.version))


def count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
