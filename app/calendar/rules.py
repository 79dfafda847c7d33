"""Deadline arithmetic on the Chinese official working calendar (工作日历).

Pure functions of their inputs: no database, no clock. A :class:`WorkCalendar` is an immutable
snapshot of dated exceptions to the Monday-Friday rule (declared holidays, 调休 make-up working
days) plus the set of years whose calendar has been confirmed from the State Council notice.

Counting rules (《民法典》第二百零一条至第二百零三条):

* the start day is not counted; counting begins the next day (art. 201);
* a period in months or years ends on the corresponding day of the final month, or on that
  month's last day when it has no corresponding day (art. 202);
* a period whose last day is an off day ends on the next working day (art. 203).

Unconfirmed years: a deadline reaching into an unconfirmed year is computed on the weekday rule
and marked provisional; the service recomputes provisional deadlines when that year's calendar is
confirmed. Exceptions entered for a year that is not yet confirmed (drafts) are ignored until it is,
so a provisional answer is always the plain weekday rule, never a half-entered calendar. Only
``is_working_day(..., strict=True)`` raises :class:`CalendarNotConfirmed`.
"""

from __future__ import annotations

import bisect
import importlib.metadata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar

__all__ = [
    "CalendarDay",
    "CalendarNotConfirmed",
    "Deadline",
    "WorkCalendar",
    "seed_days",
]

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One dated exception to the Monday-Friday rule."""

    day: date
    working: bool  # True: 调休上班 (a weekend day that is worked); False: off day
    name: str  # e.g. "国庆节" / "国庆节调休"
    notice: str  # source, e.g. "国办发明电〔2025〕7号" or "chinese_calendar 1.11.0"


class CalendarNotConfirmed(Exception):
    """A strict lookup touched a year whose official calendar is not confirmed."""

    def __init__(self, years: Iterable[int]) -> None:
        self.years: tuple[int, ...] = tuple(sorted(set(years)))
        listed = ", ".join(str(y) for y in self.years)
        super().__init__(f"工作日历未确认: {listed} (working calendar not confirmed for {listed})")


@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline, with everything needed to explain and recompute it."""

    due: date  # the last day of the period
    rule: str  # machine-readable, e.g. "working_days:5", "months:1", "year_end"
    basis: str  # Chinese + English explanation
    start: date
    provisional: bool  # True when an unconfirmed year was read
    unconfirmed_years: tuple[int, ...]
    calendar_version: str


def _check_date(value: object, what: str) -> date:
    # datetime is a date subclass; letting it in would smuggle times (and time zones) into day counts.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date, got {type(value).__name__}")
    return value


def _check_count(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"period length must be an integer >= 1, got {n!r}")
    return n


def _weekdays_through(day: date) -> int:
    """Mon-Fri days from 0001-01-01 (a Monday) up to and including ``day``."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def shift_months(start: date, months: int) -> date:
    """Corresponding day ``months`` later, clamped to the last day of a shorter month (art. 202)."""
    year, month0 = divmod(start.year * 12 + start.month - 1 + months, 12)
    month = month0 + 1
    # Last day of the target month without the stdlib ``calendar`` module, whose name this package shadows.
    first_of_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date(year, month, min(start.day, (first_of_next - _ONE_DAY).day))


class WorkCalendar:
    """Immutable snapshot of the working calendar; build a new one with :meth:`with_days`."""

    __slots__ = ("_version", "_days", "_confirmed", "_working", "_names", "_shift_dates", "_shift_sums")

    def __init__(self, days: Iterable[CalendarDay], confirmed_years: Iterable[int], version: str) -> None:
        by_date: dict[date, CalendarDay] = {}
        duplicates: list[date] = []
        for entry in days:
            _check_date(entry.day, "CalendarDay.day")
            if entry.day in by_date:
                duplicates.append(entry.day)
            by_date[entry.day] = entry
        if duplicates:
            # Two entries for one date is a data error (which notice wins?), not something to guess.
            raise ValueError(f"duplicate calendar days: {sorted(set(duplicates))}")
        self._version = version
        self._days: tuple[CalendarDay, ...] = tuple(sorted(by_date.values(), key=lambda e: e.day))
        self._confirmed: frozenset[int] = frozenset(int(y) for y in confirmed_years)
        # Only confirmed years take effect (see module docstring): lookups then need no year check
        # unless the date is absent from this dict.
        self._working: dict[date, bool] = {
            e.day: e.working for e in self._days if e.day.year in self._confirmed
        }
        self._names: dict[date, str] = {e.day: e.name for e in self._days if e.day.year in self._confirmed}
        # Running sum of the exceptions that differ from the weekday rule, so a range count is two
        # bisects plus arithmetic instead of a walk over every day.
        self._shift_dates: list[date] = []
        self._shift_sums: list[int] = [0]
        for day, working in sorted(self._working.items()):
            weekday = day.weekday() < 5
            if working != weekday:
                self._shift_dates.append(day)
                self._shift_sums.append(self._shift_sums[-1] + (1 if working else -1))

    # -- snapshot ---------------------------------------------------------------------------

    @property
    def version(self) -> str:
        return self._version

    @property
    def days(self) -> tuple[CalendarDay, ...]:
        """Every entry, confirmed or not, sorted by date (for export)."""
        return self._days

    @property
    def confirmed_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._confirmed))

    def with_days(
        self, days: Iterable[CalendarDay], confirmed_years: Iterable[int], version: str
    ) -> WorkCalendar:
        """New snapshot: ``days`` replace entries of the same date, ``confirmed_years`` are added."""
        merged = {e.day: e for e in self._days}
        new: dict[date, CalendarDay] = {}
        for entry in days:
            if entry.day in new:
                raise ValueError(f"duplicate calendar day: {entry.day}")
            new[entry.day] = entry
        merged.update(new)
        return WorkCalendar(merged.values(), self._confirmed | set(confirmed_years), version)

    def __repr__(self) -> str:
        years = self.confirmed_years
        span = f"{years[0]}-{years[-1]}" if years else "none"
        return f"WorkCalendar(version={self._version!r}, confirmed={span}, days={len(self._days)})"

    # -- single days ------------------------------------------------------------------------

    def name_of(self, day: date) -> str | None:
        """The holiday or make-up day's name, for a day of a confirmed year."""
        return self._names.get(day)

    def is_confirmed(self, year: int) -> bool:
        return year in self._confirmed

    def is_working_day(self, day: date, *, strict: bool = False) -> bool:
        """Exceptions first, else Mon-Fri; an unconfirmed year uses the weekday rule or, strict, raises."""
        _check_date(day, "day")
        working = self._working.get(day)
        if working is not None:
            return working
        if strict and day.year not in self._confirmed:
            raise CalendarNotConfirmed((day.year,))
        return day.weekday() < 5

    def _is_working(self, day: date, unconfirmed: set[int]) -> bool:
        # Hot path: one dict lookup; the year check only for days without an exception.
        working = self._working.get(day)
        if working is not None:
            return working
        if day.year not in self._confirmed:
            unconfirmed.add(day.year)
        return day.weekday() < 5

    def _roll_forward(self, day: date, unconfirmed: set[int]) -> date:
        while not self._is_working(day, unconfirmed):
            day += _ONE_DAY
        return day

    # -- periods ----------------------------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (start not counted)."""
        _check_date(start, "start")
        _check_count(n)
        unconfirmed: set[int] = set()
        day, remaining = start, n
        while remaining:
            day += _ONE_DAY
            if self._is_working(day, unconfirmed):
                remaining -= 1
        basis = f"起算日{start}不计入; {n}个工作日 (start day excluded; {n} working days)"
        return self._deadline(day, f"working_days:{n}", basis, start, unconfirmed)

    def add_days(self, start: date, n: int) -> Deadline:
        """``start + n`` natural days, moved to the next working day if that is an off day."""
        _check_date(start, "start")
        _check_count(n)
        nominal = start + timedelta(days=n)
        basis = f"起算日{start}不计入; {n}日届满{nominal} (start day excluded; {n} days end on {nominal})"
        return self._rolled(nominal, f"days:{n}", basis, start)

    def add_months(self, start: date, n: int) -> Deadline:
        _check_date(start, "start")
        _check_count(n)
        nominal = shift_months(start, n)
        basis = (
            f"起算日{start}不计入; {n}个月, 到期月对应日{nominal}(无对应日取月末) "
            f"(start day excluded; {n} month(s): corresponding day, or last day of a shorter month)"
        )
        return self._rolled(nominal, f"months:{n}", basis, start)

    def add_years(self, start: date, n: int) -> Deadline:
        _check_date(start, "start")
        _check_count(n)
        nominal = shift_months(start, 12 * n)  # 02-29 + 1 year -> 02-28 by the same clamp
        basis = (
            f"起算日{start}不计入; {n}年, 到期月对应日{nominal}(无对应日取月末) "
            f"(start day excluded; {n} year(s): corresponding day, or last day of a shorter month)"
        )
        return self._rolled(nominal, f"years:{n}", basis, start)

    def end_of_june_next_year(self, start: date) -> Deadline:
        """30 June of the year after ``start``'s year (annual report, ECO-15); off day -> next working day."""
        _check_date(start, "start")
        nominal = date(start.year + 1, 6, 30)
        basis = f"{start.year}年度的次年6月30日即{nominal} (30 June of the year after {start.year}: {nominal})"
        return self._rolled(nominal, "end_of_june_next_year", basis, start)

    def year_end(self, start: date) -> Deadline:
        """31 December of ``start``'s year (year-end disclosure, ISO-10), never moved."""
        _check_date(start, "start")
        due = date(start.year, 12, 31)
        basis = (
            f"{start.year}年年底即{due}, 为日历日期, 不因休息日顺延 "
            f"(year end {due} is a calendar date, not moved to the next working day)"
        )
        # Reads no day's working status, so it cannot be provisional.
        return self._deadline(due, "year_end", basis, start, set())

    def recompute(self, rule: str, start: date) -> Deadline:
        """The deadline a recorded rule gives on this calendar (after a year's calendar changed)."""
        name, _, count = rule.partition(":")
        counted = {"working_days": self.add_working_days, "days": self.add_days, "months": self.add_months,
                   "years": self.add_years}
        if name in counted and count.isdigit():
            return counted[name](start, int(count))
        if rule == "end_of_june_next_year":
            return self.end_of_june_next_year(start)
        if rule == "year_end":
            return self.year_end(start)
        raise ValueError(f"unknown deadline rule '{rule}'")

    # -- counting ---------------------------------------------------------------------------

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 if ``end <= start``. Unconfirmed years count Mon-Fri."""
        _check_date(start, "start")
        _check_date(end, "end")
        if end <= start:
            return 0
        lo = bisect.bisect_right(self._shift_dates, start)
        hi = bisect.bisect_right(self._shift_dates, end)
        shift = self._shift_sums[hi] - self._shift_sums[lo]
        return _weekdays_through(end) - _weekdays_through(start) + shift

    def unconfirmed_years_between(self, start: date, end: date) -> tuple[int, ...]:
        """Years of (start, end] not confirmed: a count over them is provisional."""
        _check_date(start, "start")
        _check_date(end, "end")
        if end <= start:
            return ()
        first = (start + _ONE_DAY).year
        return tuple(y for y in range(first, end.year + 1) if y not in self._confirmed)

    # -- helpers ----------------------------------------------------------------------------

    def _rolled(self, nominal: date, rule: str, basis: str, start: date) -> Deadline:
        unconfirmed: set[int] = set()
        due = self._roll_forward(nominal, unconfirmed)
        if due != nominal:
            basis += (
                f"; {nominal}为休息日, 顺延至{due} "
                f"({nominal} is an off day, moved to the next working day {due}; 民法典第二百零三条)"
            )
        return self._deadline(due, rule, basis, start, unconfirmed)

    def _deadline(self, due: date, rule: str, basis: str, start: date, unconfirmed: set[int]) -> Deadline:
        years = tuple(sorted(unconfirmed))
        if years:
            listed = ", ".join(str(y) for y in years)
            basis += (
                f"; {listed}年工作日历未确认, 按周一至周五推算, 确认后重算 "
                f"(calendar for {listed} not confirmed: Mon-Fri rule, provisional, recomputed on confirmation)"
            )
        return Deadline(
            due=due,
            rule=rule,
            basis=basis,
            start=start,
            provisional=bool(years),
            unconfirmed_years=years,
            calendar_version=self._version,
        )


def seed_days() -> tuple[list[CalendarDay], list[int]]:
    """Exceptions and confirmed years from the ``chinesecalendar`` package.

    Every declared holiday day (weekend days inside a holiday period included) is an off day and
    every 调休 make-up day a working day; that reproduces the library's ``is_workday`` exactly. The
    confirmed years are the span the library itself accepts (min..max year of its holiday table).
    """
    notice = f"chinese_calendar {importlib.metadata.version('chinesecalendar')}"
    days: list[CalendarDay] = []
    for day in sorted(chinese_calendar.holidays.keys() | chinese_calendar.workdays.keys()):
        # get_holiday_detail gives (is_off, English holiday name) and settles a date in both tables.
        off, english = chinese_calendar.get_holiday_detail(day)
        chinese = chinese_calendar.Holiday(english).chinese
        days.append(CalendarDay(day=day, working=not off, name=chinese if off else f"{chinese}调休", notice=notice))
    years = [d.year for d in chinese_calendar.holidays]
    return days, list(range(min(years), max(years) + 1))
