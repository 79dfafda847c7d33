"""`/api/calendar`: working days and statutory deadlines for e-government systems, and the yearly
calendar files administrators keep."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Body, Path, Query
from fastapi.responses import JSONResponse

from app.calendar import CalendarDay, Deadline
from app.deadlines import calendars, provisional
from app.errors import InvalidRequest
from app.rest.dependencies import PrincipalDep, ServicesDep, role
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/api/calendar", tags=["calendar"])
# The years a calendar file may be kept for: the span of any procedure's deadlines.
Year = Annotated[int, Path(ge=1900, le=2200)]


def _deadline(deadline: Deadline) -> dict[str, Any]:
    return {"start": deadline.start.isoformat(), "due": deadline.due.isoformat(), "rule": deadline.rule,
            "basis": deadline.basis, "provisional": deadline.provisional,
            "unconfirmedYears": list(deadline.unconfirmed_years), "calendarVersion": deadline.calendar_version}


@router.get("/years", summary="The years the calendar holds, confirmed or not, with their notice")
def list_years(services: ServicesDep) -> list[dict[str, Any]]:
    return calendars.years(services)


@router.get("/days/{day}", summary="Is this a working day?")
def working_day(day: date, services: ServicesDep) -> dict[str, Any]:
    calendar = calendars.current(services)
    return {"date": day.isoformat(), "workingDay": calendar.is_working_day(day),
            "confirmed": calendar.is_confirmed(day.year), "name": calendar.name_of(day),
            "calendarVersion": calendar.version}


@router.get("/working-days", summary="The N-th working day after a date (the start day is not counted)")
def working_days_after(services: ServicesDep, start: date, count: Annotated[int, Query(ge=1, le=3660)]) -> dict:
    if not date(1900, 1, 1) <= start <= date(2200, 12, 31):
        raise InvalidRequest("'start' must be a date from 1900 to 2200")
    return _deadline(calendars.current(services).add_working_days(start, count))


@router.get("/{year}", summary="Export a year as a file")
def export_year(year: Year, services: ServicesDep) -> JSONResponse:
    year_file = calendars.export_year(services, year)
    body = {"year": year_file.year, "confirmed": year_file.confirmed, "notice": year_file.notice,
            "days": [{"date": d.day.isoformat(), "working": d.working, "name": d.name, "notice": d.notice}
                     for d in year_file.days]}
    return JSONResponse(body, headers={"Content-Disposition": f'attachment; filename="calendar-{year}.json"'})


@router.put("/{year}",
            dependencies=[role(permission="UPDATE", resource_type="Calendar")],
            summary="Import a year's file: its entries replace the year's entries")
def import_year(year: Year, services: ServicesDep, actor: PrincipalDep,
                body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    notice = body.get("notice")
    if not isinstance(notice, str) or not notice.strip():
        raise InvalidRequest("'notice' must name the notice the year's calendar comes from")
    if body.get("year", year) != year:
        raise InvalidRequest(f"the file is for {body.get('year')}, not {year}")
    entries = body.get("days")
    if not isinstance(entries, list):
        raise InvalidRequest("'days' must be a list of {date, working, name, notice}")
    days = []
    for entry in entries:
        try:
            days.append(CalendarDay(date.fromisoformat(entry["date"]), bool(entry["working"]),
                                    str(entry.get("name") or ""), str(entry.get("notice") or notice)))
        except (KeyError, TypeError, ValueError):
            raise InvalidRequest(f"calendar entry {entry!r} needs 'date' (YYYY-MM-DD) and 'working'") from None
    recomputed = provisional.import_year(services, calendars.YearFile(year, bool(body.get("confirmed", True)),
                                                                      notice, tuple(days)), entered_by=actor.user_id)
    return {"year": year, "entries": len(days), "calendarVersion": calendars.current(services).version,
            "recomputedDeadlines": recomputed}
