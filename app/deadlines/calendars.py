"""The official working calendar kept by the service: seeded once from chinese_calendar, extended by
administrators a year at a time, read by deadlines."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.calendar import CalendarDay, WorkCalendar, seed_days
from app.errors import InvalidRequest, NotFound
from app.persistence.models import CalendarEntry, CalendarYear

if TYPE_CHECKING:  # the services' context builds deadline functions from this module
    from app.context import Services


@dataclass(frozen=True)
class YearFile:
    """One year as administrators export and import it."""

    year: int
    confirmed: bool
    notice: str
    days: tuple[CalendarDay, ...]


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], WorkCalendar] = {}


def seed_if_empty(services: Services) -> None:
    with services.db.write() as session:
        if session.scalar(select(func.count()).select_from(CalendarYear)):
            return
        days, years = seed_days()
        now = services.clock.now()
        session.execute(CalendarYear.__table__.insert(), [
            {"year": year, "confirmed": True, "notice": days[0].notice, "entered_by": "seed", "entered_at": now,
             "revision": 1}
            for year in years])
        session.execute(CalendarEntry.__table__.insert(), [
            {"day": day.day, "year": day.day.year, "working": day.working, "name": day.name, "notice": day.notice}
            for day in days])


def _load(session: Session) -> WorkCalendar:
    years_known, revisions = session.execute(select(func.count(), func.sum(CalendarYear.revision))).one()
    version = f"{years_known}y.r{revisions or 0}"
    confirmed = list(session.scalars(select(CalendarYear.year).where(CalendarYear.confirmed)))
    days = [CalendarDay(row.day, row.working, row.name, row.notice) for row in session.scalars(select(CalendarEntry))]
    return WorkCalendar(days, confirmed, version)


def current(services: Services) -> WorkCalendar:
    """The calendar as the database holds it now; rebuilt only when an administrator changed it."""
    with services.db.read() as session:
        years_known, revisions = session.execute(select(func.count(), func.sum(CalendarYear.revision))).one()
        key = (services.db.url, f"{years_known}y.r{revisions or 0}")
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        calendar = _load(session)
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == services.db.url]:
            del _cache[stale]
        _cache[key] = calendar
    return calendar


def years(services: Services) -> list[dict]:
    with services.db.read() as session:
        counts = dict(session.execute(select(CalendarEntry.year, func.count()).group_by(CalendarEntry.year)).all())
        return [{"year": row.year, "confirmed": row.confirmed, "notice": row.notice, "entries": counts.get(row.year, 0),
                 "enteredBy": row.entered_by, "enteredAt": row.entered_at}
                for row in session.scalars(select(CalendarYear).order_by(CalendarYear.year))]


def export_year(services: Services, year: int) -> YearFile:
    with services.db.read() as session:
        row = session.get(CalendarYear, year)
        if row is None:
            raise NotFound(f"The calendar has no entries for {year}")
        entries = session.scalars(select(CalendarEntry).where(CalendarEntry.year == year)
                                  .order_by(CalendarEntry.day))
        return YearFile(year, row.confirmed, row.notice,
                        tuple(CalendarDay(e.day, e.working, e.name, e.notice) for e in entries))


def check_year_file(year_file: YearFile) -> None:
    seen: set[date] = set()
    for day in year_file.days:
        if day.day.year != year_file.year:
            raise InvalidRequest(f"{day.day} is not in {year_file.year}")
        if day.day in seen:
            raise InvalidRequest(f"{day.day} is listed twice")
        seen.add(day.day)
        if day.working and day.day.weekday() < 5:
            raise InvalidRequest(f"{day.day} is a weekday: only a weekend day can be a make-up working day")
        if not day.notice.strip():
            raise InvalidRequest(f"{day.day} names no notice it comes from")


def write_year(session: Session, year_file: YearFile, *, entered_by: str | None, now: datetime) -> WorkCalendar:
    """Replace a year's entries with the file's, in the caller's unit of work; the file says whether the
    year is confirmed. Returns the calendar as it now stands in this unit of work."""
    session.execute(delete(CalendarEntry).where(CalendarEntry.year == year_file.year))
    row = session.get(CalendarYear, year_file.year)
    if row is None:
        session.add(CalendarYear(year=year_file.year, confirmed=year_file.confirmed, notice=year_file.notice,
                                 entered_by=entered_by, entered_at=now, revision=1))
    else:
        row.confirmed, row.notice, row.entered_by, row.entered_at = (
            year_file.confirmed, year_file.notice, entered_by, now)
        row.revision += 1
    session.flush()
    if year_file.days:
        session.execute(CalendarEntry.__table__.insert(), [
            {"day": d.day, "year": year_file.year, "working": d.working, "name": d.name, "notice": d.notice}
            for d in year_file.days])
    return _load(session)
