"""List and count endpoints all answer the same way: Camunda's paging, then one shape per row."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.cases import listing
from app.context import Services
from app.errors import InvalidRequest
from app.rest.params import FIRST_RESULT_MAX, integer
from app.settings import Settings

if TYPE_CHECKING:  # a query the use cases built, run by them
    from sqlalchemy import Select


def page_bounds(paging: Mapping[str, Any], settings: Settings) -> tuple[int, int]:
    """firstResult and maxResults. No list runs unbounded: without maxResults a page holds
    page_size_default rows, and more than page_size_max is refused as Camunda refuses a query over its
    results limit."""
    first = integer(paging.get("firstResult"), "firstResult", 0, maximum=FIRST_RESULT_MAX)
    most = integer(paging.get("maxResults"), "maxResults", settings.page_size_default)
    if most > settings.page_size_max:
        raise InvalidRequest(f"Max results limit of {settings.page_size_max} exceeded!")
    return first or 0, most or 0


def listed(services: Services, query: Select, paging: Mapping[str, Any],
           render_row: Callable[[Any], dict[str, Any]], keep: listing.Keep | None = None) -> list[dict[str, Any]]:
    """A page of the query's rows; with `keep`, of the rows it keeps (a filter on a case's variables)."""
    first, most = page_bounds(paging, services.settings)
    found = listing.rows(services, query, first, most) if keep is None else \
        listing.rows_kept(services, query, keep, first, most)
    return [render_row(row) for row in found]


def counted(services: Services, query: Select, keep: listing.Keep | None = None) -> dict[str, int]:
    return {"count": listing.number_of(services, query) if keep is None else listing.number_kept(services, query,
                                                                                                 keep)}
