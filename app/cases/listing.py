"""Running the list and count queries the use cases build, for the routes that page them."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Select, Subquery, exists, func, literal_column, or_, select, true
from sqlalchemy.orm import Session

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


T = TypeVar("T")

# Rows read at once where a filter the database cannot apply is applied after reading.
_BATCH = 100

# Whether a row of a list query is kept, read in the session the rows were read in.
Keep = Callable[[Session, Any], bool]


def joined(keeps: Iterable[Keep | None], either: bool = False) -> Keep | None:
    """One keep of the rows that every keep given keeps (`either`: one of them at least); None when
    none is given."""
    found = [keep for keep in keeps if keep is not None]
    if len(found) <= 1:
        return found[0] if found else None
    met = any if either else all
    return lambda session, row: met(keep(session, row) for keep in found)


def meeting_each(query: Select, alternatives: Sequence[Sequence[Select]]) -> Select:
    """The query's rows that meet, for each of Camunda's or-queries, at least one of its filters, each
    given as a query of the rows meeting it alone (an or-query of no filter is met by every row). The
    first column of every query names its row (its id)."""
    key = query.selected_columns[0]
    return query.where(*(or_(*(key.in_(select(_rows(each).c[0])) for each in alone)) if alone else true()
                         for alone in alternatives))


def meeting_any_kept(alone: Sequence[Select], key_of: Callable[[Any], Any]) -> Keep:
    """An or-query's filters as a keep, for one that also filters on variables, which are read outside
    the database: a row (named by `key_of`) meets one of them; none, when it gives none."""
    subqueries = [_rows(each) for each in alone]

    def keep(session: Session, row: Any) -> bool:
        key = key_of(row)
        return any(session.scalar(select(exists().where(rows.c[0] == key))) for rows in subqueries)
    return keep


def _rows(query: Select) -> Subquery:
    return query.order_by(None).subquery()


def each_kept(session: Session, query: Select, keep: Keep) -> Iterator[Any]:
    """The rows `keep` keeps, in the query's order: for a filter on what lives outside the rows (a
    case's variables, in its saved state), read in batches."""
    offset = 0
    while True:
        batch = page(session, query, offset, _BATCH)
        yield from (row for row in batch if keep(session, row))
        if len(batch) < _BATCH:
            return
        offset += _BATCH


def page_of(rows: Iterable[T], first: int, most: int | None) -> list[T]:
    """Rows `first` on, at most `most` of them, read no further than the page needs."""
    return [] if most == 0 else list(islice(rows, first, None if most is None else first + most))


def rows_kept(services: Services, query: Select, keep: Keep, first: int, most: int) -> list[Any]:
    with services.db.read() as session:
        return page_of(each_kept(session, query, keep), first, most)


def number_kept(services: Services, query: Select, keep: Keep) -> int:
    with services.db.read() as session:
        return sum(1 for _ in each_kept(session, query, keep))
