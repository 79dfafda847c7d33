"""Running the list and count queries the use cases build, for the routes that page them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, literal_column, select

from app.context import Services
from app.persistence.queries import page


def rows(services: Services, query: Select, first: int, most: int) -> list[Any]:
    with services.db.read() as session:
        return page(session, query, first, most)


def counting(query: Select) -> Select:
    """The statement that counts a list query's rows: the same tables and conditions, without the
    order and without the rows' columns, so that the database may count from its indexes alone (no
    list query selects DISTINCT rows, which would need their columns to be counted)."""
    matching: Select = query.order_by(None).with_only_columns(literal_column("1"), maintain_column_froms=True)
    return select(func.count()).select_from(matching.subquery())


def number_of(services: Services, query: Select) -> int:
    with services.db.read() as session:
        return session.scalars(counting(query)).one()
