"""Deadline functions that process designers write in Camunda Modeler, for timers and due dates.

    timeDuration  ${workingDays(5)}                      5 working days from now
    timeDate      ${addWorkingDays(publishedAt, 5)}      5 working days after a date variable
    timeDate      ${addMonths(listedAt, 1)}              1 month after (Civil Code month rule)
    timeDate      ${addDays(start, 15)} / ${addYears(namedAt, 3)}
    timeDate      ${endOfJuneNextYear(namedAt)}          30 June of the following year (of a date, or a year: 2027)
    dueDate       ${yearEnd(year)}                       31 December (of a year, or of a date's year)
    condition     ${hasPassed(addMonths(changedOn, 6))}  whether that period is over now
    dueDate       ${addWorkingDays(now(), 20)}

Each counts whole days in the service's zone with the start day excluded, moves a last day that is
not a working day to the next working day (except `yearEnd`), and returns the instant the period is
over: the start of the day after its last day. A timer therefore fires once the whole last day has
passed. Every deadline computed is also handed to `on_deadline`, so that its rule, basis and calendar
version are recorded with the instance.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from app.calendar.rules import Deadline, WorkCalendar
from app.clock import Clock


def _start_day(value: Any, zone: tzinfo, what: str) -> date:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(zone).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return _start_day(datetime.fromisoformat(value.strip()), zone, what)
        except ValueError:
            pass
    raise ValueError(f"{what} needs a date, got {value!r}")


def _in_year(value: Any, zone: tzinfo, what: str) -> date:
    """A date, or a year number (a year's duties, such as the report on 2027) read as its first day."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1900 <= value <= 9999:
            raise ValueError(f"{what} needs a date or a year, got {value!r}")
        return date(value, 1, 1)
    return _start_day(value, zone, what)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise ValueError(f"{what} needs a whole number of at least 1, got {value!r}")
    return int(value)


def period_over(last_day: date, zone: tzinfo) -> datetime:
    """The instant a period whose last day is `last_day` is over: the start of the next day in `zone`."""
    return datetime.combine(last_day + timedelta(days=1), time(0), zone)


def deadline_functions(calendar: WorkCalendar, clock: Clock, zone: tzinfo,
                       on_deadline: Callable[[Deadline], None]) -> dict[str, Callable[..., Any]]:
    def over(deadline: Deadline) -> datetime:
        on_deadline(deadline)
        return period_over(deadline.due, zone)

    def today() -> date:
        return clock.now().astimezone(zone).date()

    def counted(rule: Callable[[date, int], Deadline], name: str) -> Callable[[Any, Any], str]:
        def function(start: Any, count: Any) -> str:
            return over(rule(_start_day(start, zone, name), _count(count, name))).isoformat()
        return function

    def working_days(count: Any) -> str:
        # A timeDuration: the time from now until the period is over.
        ends = over(calendar.add_working_days(today(), _count(count, "workingDays")))
        return f"PT{max(0, int((ends - clock.now()).total_seconds()))}S"

    def end_of_june_next_year(start: Any) -> str:
        return over(calendar.end_of_june_next_year(_in_year(start, zone, "endOfJuneNextYear"))).isoformat()

    def year_end(start: Any) -> str:
        return over(calendar.year_end(_in_year(start, zone, "yearEnd"))).isoformat()

    def end_of_day(day: Any) -> str:
        # A date an authority set as the last day of a period ("限期至3月31日"): over when that day is.
        return period_over(_start_day(day, zone, "endOfDay"), zone).isoformat()

    def has_passed(instant: Any) -> bool:
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant.strip())
        if not isinstance(instant, datetime):
            raise ValueError(f"hasPassed needs an instant, got {instant!r}")
        return clock.now() >= (instant if instant.tzinfo else instant.replace(tzinfo=zone))

    return {
        "now": lambda: clock.now().astimezone(zone),
        "hasPassed": has_passed,
        "endOfDay": end_of_day,
        "workingDays": working_days,
        "addWorkingDays": counted(calendar.add_working_days, "addWorkingDays"),
        "addDays": counted(calendar.add_days, "addDays"),
        "addMonths": counted(calendar.add_months, "addMonths"),
        "addYears": counted(calendar.add_years, "addYears"),
        "endOfJuneNextYear": end_of_june_next_year,
        "yearEnd": year_end,
    }
