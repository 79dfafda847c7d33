"""Running the list and count queries the use cases build, for the routes that page them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from app.context import Services
from app.persistence.queries import count, page


def rows(services: Services, query: Select, first: int, most: int) -> list[Any]:
    with services.db.read() as session:
        return page(session, query, first, most)


def number_of(services: Services, query: Select) -> int:
    with services.db.read() as session:
        return count(session, query)
