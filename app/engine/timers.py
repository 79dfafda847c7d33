"""Timers that fire at their due instant, read on the injected clock.

The library's timers fire only once the clock is strictly past the due instant and read the time
from `datetime.now()`. A publicity period of 15 days must end at the instant it is due, on the
clock the service was given: these subclasses compare with `<=` and read the run's clock. They are
swapped into a parsed spec once (`use_service_timers`), so saved state is unchanged.
"""
from __future__ import annotations

import contextlib
import contextvars
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module
from croniter import croniter
from croniter.croniter import CroniterError
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin
from SpiffWorkflow.bpmn.specs.defaults import EventBasedGateway
from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent, IntermediateCatchEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from app.clock import Clock, SimulatedClock, add_iso_duration


@dataclass(frozen=True)
class TimerLimits:
    """What keeps a diagram or a variable from flooding the service with timer firings."""

    # The shortest period a cycle may repeat at (R/PT0S would fire without end).
    cycle_minimum: timedelta = timedelta(seconds=1)
    # How often one cycle may fire in one step; the rest fire in the steps after it.
    firings_per_step: int = 100

    @property
    def minimum_text(self) -> str:
        seconds = int(self.cycle_minimum.total_seconds())
        return "1 second" if seconds == 1 else f"{seconds} seconds"


@dataclass
class _RunTime:
    clock: Clock
    zone: tzinfo
    limits: TimerLimits
    # The zone whose calendar months and years are counted on; None: the calendar of the instant they
    # count from as it is written (UTC's, from now), as versions deployed under rules 1 and 2 count.
    calendar: tzinfo | None = None
    firings: Counter = field(default_factory=Counter)


_run_time: contextvars.ContextVar[_RunTime] = contextvars.ContextVar("run_time")


@contextlib.contextmanager
def on_clock(clock: Clock, zone: tzinfo, limits: TimerLimits = TimerLimits(), semantics: int = 1
             ) -> Iterator[None]:
    """Timers evaluated inside read `clock`, a date written without an offset is in `zone`, cycles
    keep to `limits`, and durations are counted under the rules `semantics` of the version."""
    token = _run_time.set(_RunTime(clock, zone, limits, calendar_of(semantics, zone)))
    try:
        yield
    finally:
        _run_time.reset(token)


@contextlib.contextmanager
def _run_time_at(base: datetime) -> Iterator[None]:
    """The run's timers as they read at `base`."""
    token = _run_time.set(replace(_run_time.get(), clock=SimulatedClock(base), firings=Counter()))
    try:
        yield
    finally:
        _run_time.reset(token)


def _now() -> datetime:
    return _run_time.get().clock.now()


# The rules from which a version counts months and years on its zone's calendar, as Camunda counts
# them on its JVM's: P1M begun 1 March 03:00 in Shanghai ends 1 April 03:00. Before, on UTC's calendar,
# whose date is the day before in the first eight hours of a Shanghai day: it ended 29 March 03:00.
LOCAL_CALENDAR_FROM = 3


def calendar_of(semantics: int, zone: tzinfo) -> tzinfo | None:
    return zone if semantics >= LOCAL_CALENDAR_FROM else None


def _later(instant: datetime, duration: str, calendar: tzinfo | None) -> datetime:
    """`instant` plus an ISO duration, its months and years counted on `calendar`'s."""
    return add_iso_duration(instant if calendar is None else instant.astimezone(calendar), duration)


def check_cycle_period(period: str, limits: TimerLimits) -> None:
    """A cycle's period must be a valid duration of at least the minimum (counted from a fixed day, so
    that P1M is judged the same whenever it is read)."""
    reference = datetime(2001, 1, 1)
    if add_iso_duration(reference, period) - reference < limits.cycle_minimum:
        raise ValueError(f"the cycle period '{period}' is shorter than the minimum of {limits.minimum_text}")


def _instant(value: object) -> str:
    """A timeDate's value as an ISO instant with its offset: dates from forms arrive as datetimes, and
    a text without an offset is read in the run's zone (not the machine's, as the library would), and
    a duration (`P…`) counts from now, as Camunda's due date calendar reads it."""
    zone = _run_time.get().zone
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime(value.year, value.month, value.day)
    elif str(value).strip().startswith("P"):
        instant = _later(_now(), str(value).strip(), _run_time.get().calendar)
    else:
        try:
            instant = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"'{value}' is not a date and time such as 2026-06-30T00:00:00+08:00") from None
    return (instant if instant.tzinfo else instant.replace(tzinfo=zone)).isoformat()


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        instant = _now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone().replace(tzinfo=None)


# The library's interval parsing ("R/P1Y" starts from now) looks the name `datetime` up in its
# module at call time: rebinding it there makes that read the run's clock too.
_timer_module.datetime = _ClockDatetime


# A token's timers that an operator suspended (their slots), and each one's job priority by slot.
HELD_TIMERS = "timers_held"
TIMER_PRIORITIES = "timer_priorities"
# A cycle moved without cascading keeps the instant it was scheduled for, from which it goes on.
SCHEDULED = "scheduled"


def is_held(my_task: Task, slot: int) -> bool:
    """Whether the token's timer of `slot` is suspended: it does not fire, due or not."""
    return slot in my_task.internal_data.get(HELD_TIMERS, ())


class _FiresAtDueInstant:
    """Computes the due instant once, when the event starts waiting, then fires from that instant on."""

    def _due_instant(self, my_task: Task) -> str:
        raise NotImplementedError

    def has_fired(self, my_task: Task) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            try:
                event_value = self._due_instant(my_task)
            except ValueError as error:
                raise WorkflowTaskException(f"timer: {error}", task=my_task) from None
            my_task._set_internal_data(event_value=event_value)
        if is_held(my_task, 0):
            return bool(my_task._get_internal_data("event_fired", False))
        if datetime.fromisoformat(event_value) <= _now():
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ServiceTimeDate(_FiresAtDueInstant, TimeDateEventDefinition):
    def _due_instant(self, my_task: Task) -> str:
        return _instant(my_task.workflow.script_engine.evaluate(my_task, self.expression))


class ServiceDuration(_FiresAtDueInstant, DurationTimerEventDefinition):
    def _due_instant(self, my_task: Task) -> str:
        expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
        return _later(_now(), str(expression), _run_time.get().calendar).isoformat()


class ServiceCycleOnce(_FiresAtDueInstant, TimeDateEventDefinition):
    """A cycle on an intermediate catch event: a token passes the event once, so it fires once, at the
    cycle's first instant, as in Camunda (whose job is then gone)."""

    def _due_instant(self, my_task: Task) -> str:
        return _first_of_cycle(my_task, self.expression)


def _first_of_cycle(my_task: Task, expression_text: str) -> str:
    expression = str(my_task.workflow.script_engine.evaluate(my_task, expression_text)).strip()
    run_time = _run_time.get()
    if is_cron(expression):
        check_cron_period(expression, run_time.limits)
        return first_cron_due(expression, _now(), run_time.zone).isoformat()
    return parse_cycle(expression, _now(), run_time.limits)[1].isoformat()


# Spring's macros, which Camunda 7 reads as their cron expressions.
_CRON_MACROS = {"@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
                "@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *",
                "@hourly": "0 0 * * * *"}
_CRON_SHAPE = ("six fields: second minute hour day-of-month month day-of-week, such as 0 0 9 * * ? "
               "(each day at 9:00) or 0 0 9 ? * MON-FRI, and a year after them if need be (0 0 9 ? * MON-FRI 2027)")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# The day after which a cron that has not fired is taken to fire never (February 30th).
_CRON_YEARS = 30
# The years a cron's year field may name, as Quartz's (which Camunda 7 read it with) bounds them.
_CRON_FIRST_YEAR, _CRON_LAST_YEAR = 1970, 2099
# A day-of-week number (not the count after # nor a step after /).
_DAY_NUMBER = re.compile(r"(?<![#/\d])\d+")


def is_cron(text: str) -> bool:
    """Camunda 7 reads a cycle that does not start with R as a cron expression."""
    return not text.strip().upper().startswith("R")


def _quartz_day(number: re.Match[str]) -> str:
    day = int(number[0])
    if not 1 <= day <= 7:
        raise ValueError(f"a cron with a year counts the days of the week from 1 (Sunday) to 7 (Saturday), "
                         f"not {day}")
    return str(day - 1)


def _year_field(field: str) -> str:
    if not re.fullmatch(r"[\d,*/-]+", field) or any(
            not _CRON_FIRST_YEAR <= int(year) <= _CRON_LAST_YEAR
            for year in re.findall(r"(?<!/)\d+", field)):
        raise ValueError(f"the year field '{field}' names years from {_CRON_FIRST_YEAR} to {_CRON_LAST_YEAR} "
                         "(2027, 2027-2030, 2027,2029 or *)")
    return field


def _cron_expression(text: str) -> tuple[str, bool]:
    """A cron cycle as Camunda 7 writes it (Spring's six fields, seconds first, `?`, `L`, `W`, `#`,
    `5L` for the last Friday of a month) in the form croniter reads, and whether it names its years;
    what it cannot read is refused.

    A seventh field, the year, is Quartz's, which Camunda 7 read crons with until 7.24 (Spring's
    rules, since, refuse it): such a cron was written for Quartz, whose day-of-week numbers count
    Sunday as 1."""
    fields = _CRON_MACROS.get(text.strip().lower(), text).split()
    if len(fields) not in (6, 7):
        raise ValueError(f"'{text}' is neither a repeating interval such as R3/P1Y nor a cron expression of "
                         f"{_CRON_SHAPE}")
    day_of_week = fields[5].upper()
    if len(fields) == 7:
        day_of_week = _DAY_NUMBER.sub(_quartz_day, day_of_week)
        fields[6] = _year_field(fields[6])
    if len(day_of_week) > 1 and day_of_week.endswith("L"):
        # The last such weekday of the month, as croniter writes it (by number).
        day = day_of_week[:-1]
        day_of_week = f"L{_WEEKDAYS.index(day) if day in _WEEKDAYS else day}"
    return " ".join([*fields[:5], day_of_week, *fields[6:]]), len(fields) == 7


def _croniter_next(expression: str, after: datetime, zone: tzinfo, years: int) -> datetime:
    # Camunda (Spring) requires both days when both are given; croniter would take either.
    following = croniter(expression, after.astimezone(zone), second_at_beginning=True, day_or=False,
                         max_years_between_matches=max(years, 1)).get_next(datetime)
    return following if following.tzinfo else following.replace(tzinfo=zone)


def cron_next(text: str, after: datetime, zone: tzinfo) -> datetime | None:
    """The first instant after `after` that the cron cycle names, read in `zone`; None when it names
    years that have all passed."""
    expression, names_years = _cron_expression(text)
    try:
        return _croniter_next(expression, after, zone,
                              _CRON_LAST_YEAR - after.year + 1 if names_years else _CRON_YEARS)
    except CroniterError:
        pass
    if names_years and _ever_due(expression, zone):
        return None
    raise ValueError(f"'{text}' is no cron cycle the service reads: it takes {_CRON_SHAPE}; L, W, # and "
                     "5L are read, L-3 and LW are not, and it must fall due at least once in "
                     f"{_CRON_YEARS} years, or in the years it names")


def _ever_due(expression: str, zone: tzinfo) -> bool:
    try:
        _croniter_next(expression, datetime(_CRON_FIRST_YEAR, 1, 1, tzinfo=UTC), zone,
                       _CRON_LAST_YEAR - _CRON_FIRST_YEAR + 1)
    except CroniterError:
        return False
    return True


def first_cron_due(text: str, now: datetime, zone: tzinfo) -> datetime:
    """When a cron timer first falls due: at its next instant, or at once when the years it names have
    passed, as in Camunda 7 (such a timer has no due date, and a job without one is due). It does not
    fall due again (`cron_next` says None)."""
    return cron_next(text, now, zone) or now


def check_cron_period(text: str, limits: TimerLimits) -> None:
    """A cron cycle may not fall due more often than the minimum period (counted over its first firings
    from a fixed day, so that it is judged the same whenever it is read)."""
    instant = datetime(2001, 1, 1, tzinfo=UTC)
    following = cron_next(text, instant, UTC)
    for _ in range(60):
        if following is None:
            return  # its years have passed: it falls due no more
        instant, following = following, cron_next(text, following, UTC)
        if following is not None and following - instant < limits.cycle_minimum:
            raise ValueError(f"the cron cycle '{text}' falls due more often than the minimum period of "
                             f"{limits.minimum_text}")


def parse_cycle(text: str, now: datetime, limits: TimerLimits) -> tuple[int, datetime, str]:
    """`R<n>/<period>`, `R<n>/<start>/<period>` or `R<n>/<start>/<end>` (the period is the time
    between them, as Camunda reads it): repetitions (-1 for unbounded), the first due instant and the
    period. Without a start the first period begins now."""
    parts = text.strip().upper().split("/")
    if len(parts) == 3 and parts[1].startswith("P"):
        raise ValueError(f"'{text}' counts its repetitions back from an end, which the service does not read; "
                         "write the start of the cycle instead (R3/2027-01-01T00:00:00+08:00/P1D)")
    if len(parts) == 3 and not parts[2].startswith("P"):
        start, end = (datetime.fromisoformat(_instant(part)) for part in parts[1:])
        if end <= start:
            raise ValueError(f"the cycle '{text}' ends before it starts")
        parts[2] = f"PT{int((end - start).total_seconds())}S"
    if len(parts) not in (2, 3) or not parts[0].startswith("R") or not parts[-1].startswith("P") \
            or not (parts[0][1:] == "" or (parts[0][1:].isdigit() and len(parts[0]) <= 10)):
        raise ValueError(f"'{text}' is not a repeating interval such as R3/P1Y or R/2027-01-01T00:00:00+08:00/P1Y")
    cycles = int(parts[0][1:]) if parts[0][1:] else -1
    period = parts[-1]
    check_cycle_period(period, limits)
    if len(parts) == 3:
        start = datetime.fromisoformat(parts[1])
        return cycles, start if start.tzinfo else datetime.fromisoformat(_instant(parts[1])), period
    return cycles, _later(now, period, _run_time.get().calendar), period


def _following(cycle: dict, due: datetime, zone: tzinfo, calendar: tzinfo | None) -> datetime | None:
    """The instant after `due` a cycle falls due again: by its cron, its period (on `calendar`), or
    (saved by the library) its length in seconds; None when a cron's years have passed."""
    if "cron" in cycle:
        return cron_next(cycle["cron"], due, zone)
    if "period" in cycle:
        return _later(due, cycle["period"], calendar)
    return due + timedelta(seconds=cycle["duration"])


# A cycle that falls due again within a minute polls or beats: the firings it missed while the service
# was down are skipped, as Camunda skips them (counted against its repetitions). A longer one (a
# reminder, a re-review) fires each one it missed, so that no statutory reminder is lost; cycles were
# at least a minute long before shorter ones were taken, so recorded cases replay as they ran.
SKIPS_MISSED_FIRINGS_BELOW = timedelta(minutes=1)


def _next_due(cycle: dict, due: datetime, now: datetime, zone: tzinfo, calendar: tzinfo | None
              ) -> tuple[datetime | None, int]:
    """The instant after the firing due at `due` the cycle falls due again (None: never, a cron whose
    years have passed), and how many firings it skips to get there."""
    following = _following(cycle, due, zone, calendar)
    if following is None:
        return None, 0
    after = _following(cycle, following, zone, calendar)
    if following > now or after is None or after - following >= SKIPS_MISSED_FIRINGS_BELOW:
        return following, 0
    if "cron" in cycle:
        return cron_next(cycle["cron"], now, zone), 0  # a cron repeats until its years have passed
    period = following - due  # shorter than a minute: seconds, the same length each time
    missed = (now - following) // period + 1
    return following + missed * period, missed


def _left(cycles: int, fired: int) -> int:
    """Repetitions left after `fired` firings (fired or skipped): -1 stays unbounded, a count ends at 0."""
    return cycles if cycles < 0 else max(cycles - fired, 0)


class ServiceCycle(CycleTimerEventDefinition):
    """Repeats by the calendar (each P1Y lands on the same date, leap years included), or by a cron."""

    def cycle_complete(self, my_task: Task) -> bool:
        run_time = _run_time.get()
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = str(my_task.workflow.script_engine.evaluate(my_task, self.expression)).strip()
            try:
                if is_cron(expression):
                    check_cron_period(expression, run_time.limits)
                    event_value = {"cycles": -1, "cron": expression,
                                   "next": first_cron_due(expression, _now(), run_time.zone).isoformat()}
                else:
                    cycles, start, period = parse_cycle(expression, _now(), run_time.limits)
                    event_value = {"cycles": cycles, "next": start.isoformat(), "period": period}
            except ValueError as error:
                raise WorkflowTaskException(str(error), task=my_task) from None
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            # A cycle that fell behind (the service was down) catches up a bounded number of firings a
            # step; its timer stays due, and the next step goes on.
            # Counted per event and place: on a boundary event each firing hands the cycle to a new token.
            counted = (my_task.task_spec.name, my_task.parent.id if my_task.parent is not None else my_task.id)
            if next_event <= _now() and run_time.firings[counted] < run_time.limits.firings_per_step \
                    and not is_held(my_task, 0):
                run_time.firings[counted] += 1
                scheduled = event_value.pop(SCHEDULED, None)
                base = datetime.fromisoformat(scheduled) if scheduled else next_event
                following, skipped = _next_due(event_value, base, _now(), run_time.zone, run_time.calendar)
                if following is None:
                    event_value["cycles"] = 0
                else:
                    event_value["next"] = following.isoformat()
                    event_value["cycles"] = _left(event_value["cycles"], 1 + skipped)
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


class KeepsCyclePaths(BoundaryEventJoin):
    """When an activity ends, its non-interrupting boundary cycle stops listening, and the paths its
    firings opened go on, as in Camunda. (The library keeps those paths under the listening token and
    cancels them with it.)"""

    def _check_threshold_structured(self, my_task: Task) -> tuple[bool, list[Task]]:
        finished, cancel = super()._check_threshold_structured(my_task)
        if not finished:
            return finished, cancel
        listening = [task for task in cancel if task.has_state(TaskState.WAITING) and task.children
                     and isinstance(getattr(task.task_spec, "event_definition", None), ServiceCycle)]
        for task in listening:
            task._set_state(TaskState.CANCELLED)
            task.workflow.top_workflow.event_manager.remove_task(task)
        return finished, [task for task in cancel if task not in listening]


# The timer kinds as Camunda Modeler names them.
TIMER_KINDS = {ServiceTimeDate: "timeDate", ServiceDuration: "timeDuration", ServiceCycle: "timeCycle",
               ServiceCycleOnce: "timeCycle"}

_REPLACEMENTS = {TimeDateEventDefinition: ServiceTimeDate, DurationTimerEventDefinition: ServiceDuration,
                 CycleTimerEventDefinition: ServiceCycle}


SERVICE_TIMERS = {service: library for library, service in _REPLACEMENTS.items()}


def timer_slot(task_spec: TaskSpec, timer: EventDefinition) -> int:
    """Which of its event's timers `timer` is: 0, except after an event-based gateway racing several."""
    inner = getattr(getattr(task_spec, "event_definition", None), "event_definitions", None)
    if not inner:
        return 0
    # By identity: the library finds two timers of one name equal.
    timers = [definition for definition in inner if isinstance(definition, TimerEventDefinition)]
    return next(slot for slot, own in enumerate(timers) if own is timer)


def due_key(slot: int) -> str:
    # The first timer keeps the library's key: a gateway saved while waiting on one timer reads on.
    return "event_value" if slot == 0 else f"event_value_{slot}"


def timer_job_id(task: Task, slot: int) -> str:
    """The id of the job a timer is (a token racing several timers waits on as many jobs)."""
    return str(task.id) if slot == 0 else str(uuid.uuid5(task.id, f"timer {slot}"))


class RaceOfEvents(MultipleEventDefinition):
    """What an event-based gateway waits for, as in Camunda: the first of its events to come wins.

    The library keeps every timer of a gateway under one key (the second timer would read the
    first's due instant) and lets every timer that is due fire at once (a token on each branch).
    Here each timer keeps its own due instant, computed when the gateway is reached, and only the
    earliest due timer fires; the other branches are cancelled with the gateway."""

    def has_fired(self, my_task: Task) -> bool:
        if my_task.internal_data.get("seen_events"):
            return True  # a message or signal came first
        winner: tuple[datetime, int] | None = None
        timers = [(index, definition) for index, definition in enumerate(self.event_definitions)
                  if isinstance(definition, TimerEventDefinition)]
        for slot, (index, timer) in enumerate(timers):
            value = my_task.internal_data.get(due_key(slot))
            if value is None:
                value = _first_due(timer, my_task)
                my_task.internal_data[due_key(slot)] = value
            if is_held(my_task, slot):
                continue
            # A cycle waited on by a gateway saved before it raced keeps its next instant in a mapping.
            due = datetime.fromisoformat(value["next"] if isinstance(value, dict) else value)
            if due <= _now() and (winner is None or due < winner[0]):
                winner = (due, index)
        if winner is None:
            return False
        my_task.internal_data["seen_events"] = [BpmnEvent(self.event_definitions[winner[1]])]
        my_task.internal_data["race_winner"] = winner[1]
        return True


def due_when_read_at(timer: EventDefinition, my_task: Task, base: datetime) -> datetime:
    """The instant the timer's definition names when read at `base` (a job's due date recalculated
    from its creation or from now): a duration counts from `base`, a cycle's first instant follows it."""
    run_time = _run_time.get()
    with _run_time_at(base):
        try:
            value = my_task.workflow.script_engine.evaluate(my_task, getattr(timer, "expression", ""))
            return start_timer_schedule(TIMER_KINDS[type(timer)], value, base, run_time.limits)[0]
        except ValueError as error:
            raise WorkflowTaskException(f"timer: {error}", task=my_task) from None


def _first_due(timer: EventDefinition, my_task: Task) -> str:
    """A timer's due instant; a cycle after a gateway fires once, at its first instant (a catch
    event is passed once)."""
    try:
        if isinstance(timer, _FiresAtDueInstant):
            return timer._due_instant(my_task)
        return _first_of_cycle(my_task, getattr(timer, "expression", ""))
    except ValueError as error:
        raise WorkflowTaskException(f"timer: {error}", task=my_task) from None


class RacingGateway(EventBasedGateway):
    """Goes on at the branch whose event won (two timers of one name are equal to the library)."""

    def _run_hook(self, my_task: Task) -> bool:
        winner = my_task.internal_data.pop("race_winner", None)
        if winner is None:
            return bool(super()._run_hook(my_task))
        timer = self.event_definition.event_definitions[winner]
        timer.catch(my_task)
        timer.update_task_data(my_task)
        branch = my_task.children[winner].task_spec
        my_task._sync_children([branch], TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True


def _replace(definition: EventDefinition) -> None:
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            _replace(inner)
    elif isinstance(definition, TimerEventDefinition) and type(definition) in _REPLACEMENTS:
        # Same attributes, the service's behaviour: a class swap keeps the parsed definition whole.
        definition.__class__ = _REPLACEMENTS[type(definition)]


def use_service_timers(specs: Iterable[BpmnProcessSpec]) -> None:
    for spec in specs:
        for task_spec in spec.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(task_spec, IntermediateCatchEvent) and type(definition) is CycleTimerEventDefinition:
                definition.__class__ = ServiceCycleOnce
            elif definition is not None:
                _replace(definition)
            if type(task_spec) is BoundaryEventJoin:
                task_spec.__class__ = KeepsCyclePaths
            if type(task_spec) is EventBasedGateway and type(definition) is MultipleEventDefinition:
                task_spec.__class__ = RacingGateway
                definition.__class__ = RaceOfEvents


def start_timer_schedule(kind: str, value: object, now: datetime, limits: TimerLimits) -> tuple[datetime, dict | None]:
    """When a timer start event first fires, and its cycle (repetitions left, period) if it repeats."""
    if kind == "timeDate":
        return datetime.fromisoformat(_instant(value)), None
    if kind == "timeDuration":
        return _later(now, str(value).strip(), _run_time.get().calendar), None
    text = str(value).strip()
    if is_cron(text):
        check_cron_period(text, limits)
        return first_cron_due(text, now, _run_time.get().zone), {"cycles": -1, "cron": text}
    cycles, first, period = parse_cycle(text, now, limits)
    return first, {"cycles": cycles, "period": period}


def check_constant_timer(kind: str, text: str, limits: TimerLimits) -> None:
    """A timer written without an expression is checked when it is deployed, as it will be read."""
    reference = datetime(2001, 1, 1, tzinfo=UTC)
    with on_clock(SimulatedClock(reference), UTC, limits):
        start_timer_schedule(kind, text, reference, limits)


def next_start(due: datetime, repeat: dict | None, zone: tzinfo, now: datetime, semantics: int
               ) -> tuple[datetime, dict] | None:
    """After a start timer due at `due` fired at `now`: its next due instant and what remains, or None
    when done (a cron cycle is read in `zone`; `semantics`, the rules of the timer's version)."""
    if repeat is None:
        return None
    following, skipped = _next_due(repeat, due, now, zone, calendar_of(semantics, zone))
    cycles = _left(repeat["cycles"], 1 + skipped)
    return None if cycles == 0 or following is None else (following, {**repeat, "cycles": cycles})


@dataclass(frozen=True)
class TimerJobDefinition:
    """A timer event of a process as Camunda's job definition shows it."""

    activity_id: str
    job_type: str  # timer-start-event, timer-start-event-subprocess, timer-transition, timer-intermediate-transition
    configuration: str  # DATE: …, DURATION: …, CYCLE: … (the expression as written)


_CONFIGURATION = ((TimeDateEventDefinition, "DATE"), (DurationTimerEventDefinition, "DURATION"),
                  (CycleTimerEventDefinition, "CYCLE"))


def timer_job_definitions(spec: BpmnProcessSpec, subprocess_specs: Iterable[BpmnProcessSpec]
                          ) -> list[TimerJobDefinition]:
    """Every timer event of a process and its subprocesses, by element id."""
    found = []
    for owner in (spec, *subprocess_specs):
        for task_spec in owner.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition) or not getattr(task_spec, "bpmn_id", None):
                continue
            if isinstance(task_spec, StartEvent):
                # A subprocess started by a timer is an event subprocess: an embedded one starts plainly.
                kind = "timer-start-event" if owner is spec else "timer-start-event-subprocess"
            elif isinstance(task_spec, BoundaryEvent):
                kind = "timer-transition"
            else:
                kind = "timer-intermediate-transition"
            label = next(name for cls, name in _CONFIGURATION if isinstance(definition, cls))
            found.append(TimerJobDefinition(task_spec.bpmn_id, kind, f"{label}: {definition.expression}"))
    return sorted(found, key=lambda item: item.activity_id)
