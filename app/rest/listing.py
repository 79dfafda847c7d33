"""List and count endpoints all answer the same way: Camunda's paging, then one shape per row."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import Select

from app.persistence.queries import count, page
from app.rest.params import integer
from app.services.context import Services


def page_bounds(paging: Mapping[str, Any], default_max: int | None = None) -> tuple[int, int | None]:
    """firstResult and maxResults; `default_max` where a list must not run unbounded."""
    return (integer(paging.get("firstResult"), "firstResult", 0),
            integer(paging.get("maxResults"), "maxResults", default_max))


def listed(services: Services, query: Select, paging: Mapping[str, Any],
           render_row: Callable[[Any], dict[str, Any]]) -> list[dict[str, Any]]:
    first, most = page_bounds(paging)
    with services.db.read() as session:
        return [render_row(row) for row in page(session, query, first, most)]


def counted(services: Services, query: Select) -> dict[str, int]:
    with services.db.read() as session:
        return {"count": count(session, query)}
