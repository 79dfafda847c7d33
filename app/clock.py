"""The clock is injected: domain code asks a Clock, never `datetime.now()`.

`SystemClock` reads the machine's time. `SimulatedClock` stands still until it is moved, so that
tests and demonstrations can advance months in a moment.
"""
from __future__ import annotations

import calendar
import re
import threading
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("a simulated clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("a simulated clock needs a timezone-aware instant")
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("a simulated clock only moves forward")
        with self._lock:
            self._now += delta


_DURATION = re.compile(
    r"^P(?:(?P<years>\d{1,9})Y)?(?:(?P<months>\d{1,9})M)?(?:(?P<weeks>\d{1,9})W)?(?:(?P<days>\d{1,9})D)?"
    r"(?:T(?:(?P<hours>\d{1,9})H)?(?:(?P<minutes>\d{1,9})M)?(?:(?P<seconds>\d{1,9}(?:\.\d{1,6})?)S)?)?$")
# No period of a procedure is longer than a century; a longer one is a mistake (P99999Y), not a rule.
LONGEST_PERIOD = timedelta(days=36525)
# A history kept longer than a century is a mistake too; the bound keeps "ended before now minus the
# retention" within the dates the database and Python hold (Camunda's bound is only an int).
LONGEST_HISTORY_TIME_TO_LIVE_DAYS = 36500


def add_iso_duration(instant: datetime, duration: str) -> datetime:
    """`instant` plus an ISO 8601 duration such as P16D, P1M or PT2H; months end on the same day or on
    the last day of a shorter month. A negative or malformed duration, or one longer than a century,
    is a ValueError."""
    text = duration.strip().upper()
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"'{duration}' is not an ISO 8601 duration such as P16D or PT2H")
    parts = {name: float(value) if value else 0.0 for name, value in match.groupdict().items()}
    months = int(parts["years"]) * 12 + int(parts["months"])
    days = timedelta(weeks=min(parts["weeks"], 1e7), days=min(parts["days"], 1e8))
    elapsed = timedelta(hours=parts["hours"], minutes=parts["minutes"], seconds=parts["seconds"])
    rest = days + elapsed
    if months > 1200 or rest > LONGEST_PERIOD or months * 28 + rest.days > LONGEST_PERIOD.days:
        raise ValueError(f"'{duration}' is longer than a century")
    if months:
        year, month = divmod(instant.month - 1 + months, 12)
        year += instant.year
        if year > 9999:
            raise ValueError(f"'{duration}' after {instant.date()} is past the year 9999")
        day = min(instant.day, calendar.monthrange(year, month + 1)[1])
        instant = instant.replace(year=year, month=month + 1, day=day)
    try:
        # Days on the instant's calendar (the same time of day), hours as time elapsed, as Java's calendar
        # adds them: across a change to summer time PT24H is a day and an hour on the clock, P1D a day.
        instant += days
        if not elapsed or instant.tzinfo is None:
            return instant + elapsed
        return (instant.astimezone(UTC) + elapsed).astimezone(instant.tzinfo)
    except OverflowError:
        raise ValueError(f"'{duration}' after {instant.date()} is past the year 9999") from None


def format_instant(value: datetime | None, zone: tzinfo) -> str | None:
    """An instant as Camunda writes dates, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`, in `zone`."""
    if value is None:
        return None
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")
