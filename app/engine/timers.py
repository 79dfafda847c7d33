"""Timers that fire at their due instant, read on the injected clock.

The library's timers fire only once the clock is strictly past the due instant and read the time
from `datetime.now()`. A publicity period of 15 days must end at the instant it is due, on the
clock the service was given: these subclasses compare with `<=` and read the run's clock. They are
swapped into a parsed spec once (`use_service_timers`), so saved state is unchanged.
"""
from __future__ import annotations

import calendar
import contextlib
import contextvars
from datetime import date, datetime, timedelta, tzinfo
from typing import Iterator

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)

from app.clock import Clock

_run_time: contextvars.ContextVar[tuple[Clock, tzinfo]] = contextvars.ContextVar("run_time")


@contextlib.contextmanager
def on_clock(clock: Clock, zone: tzinfo) -> Iterator[None]:
    """Timers evaluated inside read `clock`, and a date written without an offset is in `zone`."""
    token = _run_time.set((clock, zone))
    try:
        yield
    finally:
        _run_time.reset(token)


def _now() -> datetime:
    return _run_time.get()[0].now()


def _instant(value) -> str:
    """A timeDate's value as an ISO instant with its offset: dates from forms arrive as datetimes, and
    a text without an offset is read in the run's zone (not the machine's, as the library would)."""
    zone = _run_time.get()[1]
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime(value.year, value.month, value.day)
    else:
        instant = datetime.fromisoformat(str(value).strip())
    return (instant if instant.tzinfo else instant.replace(tzinfo=zone)).isoformat()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        instant = _now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone().replace(tzinfo=None)


# The library's interval parsing ("R/P1Y" starts from now) looks the name `datetime` up in its
# module at call time: rebinding it there makes that read the run's clock too.
_timer_module.datetime = _ClockDatetime


class _FiresAtDueInstant:
    """Computes the due instant once, when the event starts waiting, then fires from that instant on."""

    def _due_instant(self, my_task) -> str:
        raise NotImplementedError

    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = self._due_instant(my_task)
            my_task._set_internal_data(event_value=event_value)
        if datetime.fromisoformat(event_value) <= _now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ServiceTimeDate(_FiresAtDueInstant, TimeDateEventDefinition):
    def _due_instant(self, my_task) -> str:
        return _instant(my_task.workflow.script_engine.evaluate(my_task, self.expression))


class ServiceDuration(_FiresAtDueInstant, DurationTimerEventDefinition):
    def _due_instant(self, my_task) -> str:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        start = _now()
        return (start + self.get_timedelta_from_start(self.parse_iso_duration(expression), start)).isoformat()


def add_period(instant: datetime, period: str) -> datetime:
    """`instant` moved by an ISO duration the way a calendar counts: P1Y from 29 February is 28 February
    of the next year, P1M from 31 January the last day of February; days and times as elapsed time."""
    parsed = TimerEventDefinition.parse_iso_duration(period)
    months = int(parsed.pop("years", 0)) * 12 + int(parsed.pop("months", 0))
    if months:
        index = instant.month - 1 + months
        year, month = instant.year + index // 12, index % 12 + 1
        instant = instant.replace(year=year, month=month,
                                  day=min(instant.day, calendar.monthrange(year, month)[1]))
    return instant + timedelta(**parsed)


def parse_cycle(text: str, now: datetime) -> tuple[int, datetime, str]:
    """`R<n>/<period>` or `R<n>/<start>/<period>`: repetitions (-1 for unbounded), the first due
    instant and the period. Without a start the first period begins now."""
    parts = text.strip().upper().split("/")
    if len(parts) not in (2, 3) or not parts[0].startswith("R") or not parts[-1].startswith("P"):
        raise ValueError(f"'{text}' is not a repeating interval such as R3/P1Y or R/2027-01-01T00:00:00+08:00/P1Y")
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    period = parts[-1]
    if len(parts) == 3:
        start = datetime.fromisoformat(parts[1])
        return cycles, start if start.tzinfo else datetime.fromisoformat(_instant(parts[1])), period
    return cycles, add_period(now, period), period


class ServiceCycle(CycleTimerEventDefinition):
    """Repeats by the calendar (each P1Y lands on the same date, leap years included)."""

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, period = parse_cycle(str(expression), _now())
            event_value = {"cycles": cycles, "next": start.isoformat(), "period": period}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= _now():
                following = (add_period(next_event, event_value["period"]) if "period" in event_value
                             else next_event + timedelta(seconds=event_value["duration"]))
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


_REPLACEMENTS = {TimeDateEventDefinition: ServiceTimeDate, DurationTimerEventDefinition: ServiceDuration,
                 CycleTimerEventDefinition: ServiceCycle}


SERVICE_TIMERS = {service: library for library, service in _REPLACEMENTS.items()}


def _replace(definition) -> None:
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            _replace(inner)
    elif isinstance(definition, TimerEventDefinition) and type(definition) in _REPLACEMENTS:
        # Same attributes, the service's behaviour: a class swap keeps the parsed definition whole.
        definition.__class__ = _REPLACEMENTS[type(definition)]


def use_service_timers(specs) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if definition is not None:
                _replace(definition)


def start_timer_schedule(kind: str, value, now: datetime) -> tuple[datetime, dict | None]:
    """When a timer start event first fires, and its cycle (repetitions left, period) if it repeats."""
    if kind == "timeDate":
        return datetime.fromisoformat(_instant(value)), None
    if kind == "timeDuration":
        return add_period(now, str(value).strip()), None
    cycles, first, period = parse_cycle(str(value), now)
    return first, {"cycles": cycles, "period": period}


def next_start(due: datetime, repeat: dict | None) -> tuple[datetime, dict] | None:
    """After a start timer fired at `due`: its next due instant and what remains, or None when done."""
    if repeat is None or repeat["cycles"] == 1:
        return None
    cycles = repeat["cycles"] - 1 if repeat["cycles"] > 0 else -1
    return add_period(due, repeat["period"]), {"cycles": cycles, "period": repeat["period"]}
