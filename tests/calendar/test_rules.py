"""Deadline arithmetic on the seeded official calendar (notes/calendar.md; procedures.md time limits)."""

from __future__ import annotations

import timeit
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.calendar import (
    CalendarDay,
    CalendarNotConfirmed,
    Deadline,
    WorkCalendar,
    seed_days,
)

D = date.fromisoformat
SEED_VERSION = "seed:chinese_calendar-1.11.0"


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    days, years = seed_days()
    return WorkCalendar(days, years, SEED_VERSION)


def with_2027(cal: WorkCalendar) -> WorkCalendar:
    # Fabricated: the real 2027 notice is not out; one off day is enough to change the result.
    new_year = CalendarDay(D("2027-01-01"), False, "元旦", "test fixture")
    return cal.with_days([new_year], [2027], "seed+2027")


# -- seed ------------------------------------------------------------------------------------


def test_seed_confirms_exactly_2004_to_2026() -> None:
    days, years = seed_days()
    assert years == list(range(2004, 2027))
    assert {d.day.year for d in days} == set(years)
    assert all(d.notice == "chinese_calendar 1.11.0" for d in days)


def test_seed_names_are_chinese() -> None:
    by_day = {d.day: d for d in seed_days()[0]}
    assert by_day[D("2026-10-01")] == CalendarDay(D("2026-10-01"), False, "国庆节", "chinese_calendar 1.11.0")
    assert by_day[D("2026-10-10")].working and by_day[D("2026-10-10")].name == "国庆节调休"
    assert by_day[D("2026-02-14")].name == "春节调休"


def test_seed_agrees_with_library_on_every_day(cal: WorkCalendar) -> None:
    day = D("2004-01-01")
    while day <= D("2026-12-31"):
        assert cal.is_working_day(day, strict=True) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# -- single days (ECO-04/ECO-12 count in these) ---------------------------------------------


def test_make_up_saturday_is_working(cal: WorkCalendar) -> None:
    assert D("2026-02-14").weekday() == 5
    assert cal.is_working_day(D("2026-02-14"))


def test_national_day_2026_is_off_and_the_8th_is_worked(cal: WorkCalendar) -> None:
    # 国办发明电〔2025〕7号: 10-01..10-07 off; 10-08 (Thursday) is an ordinary working day.
    for offset in range(7):
        assert not cal.is_working_day(D("2026-10-01") + timedelta(days=offset))
    assert cal.is_working_day(D("2026-10-08"))


def test_plain_weekend_is_off(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(D("2026-03-07"))
    assert not cal.is_working_day(D("2026-03-08"))
    assert cal.is_working_day(D("2026-03-09"))


def test_datetime_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(datetime(2026, 3, 9, 10, 0))


# -- working days --------------------------------------------------------------------------


def test_five_working_days_after_2026_09_28_is_make_up_saturday(cal: WorkCalendar) -> None:
    # ECO-04 / ECO-12 publicity of 5 working days; the example from notes/calendar.md.
    deadline = cal.add_working_days(D("2026-09-28"), 5)
    assert deadline == Deadline(
        due=D("2026-10-10"),
        rule="working_days:5",
        basis="起算日2026-09-28不计入; 5个工作日 (start day excluded; 5 working days)",
        start=D("2026-09-28"),
        provisional=False,
        unconfirmed_years=(),
        calendar_version=SEED_VERSION,
    )


def test_working_days_start_on_off_day(cal: WorkCalendar) -> None:
    # Starting inside the holiday: the first working day after is 10-08.
    assert cal.add_working_days(D("2026-10-03"), 1).due == D("2026-10-08")


@pytest.mark.parametrize("n", [0, -1, True])
def test_period_length_must_be_positive(cal: WorkCalendar, n: int) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(D("2026-03-09"), n)
    with pytest.raises(ValueError):
        cal.add_months(D("2026-03-09"), n)


def test_add_five_working_days_is_fast(cal: WorkCalendar) -> None:
    runs = 2000
    seconds = timeit.timeit(lambda: cal.add_working_days(D("2026-09-28"), 5), number=runs)
    assert seconds / runs < 100e-6  # generous bound for a loaded CI machine; locally ~5 us


# -- unconfirmed years ----------------------------------------------------------------------


def test_count_into_unconfirmed_year_is_provisional_weekday_rule(cal: WorkCalendar) -> None:
    # 2026-12-25 is a Friday: 12-28..12-31 are four working days, 2027-01-01 (Friday) the fifth.
    deadline = cal.add_working_days(D("2026-12-25"), 5)
    assert deadline.due == D("2027-01-01")
    assert deadline.provisional is True
    assert deadline.unconfirmed_years == (2027,)
    assert "2027" in deadline.basis and "provisional" in deadline.basis


def test_strict_lookup_in_unconfirmed_year_raises(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarNotConfirmed) as excinfo:
        cal.is_working_day(D("2027-01-04"), strict=True)
    assert excinfo.value.years == (2027,)
    assert "2027" in str(excinfo.value)
    assert cal.is_working_day(D("2027-01-04")) is True
    assert not cal.is_confirmed(2027) and cal.is_confirmed(2026)


def test_confirming_2027_makes_the_count_final(cal: WorkCalendar) -> None:
    confirmed = with_2027(cal)
    deadline = confirmed.add_working_days(D("2026-12-25"), 5)
    assert deadline.due == D("2027-01-04")
    assert not deadline.provisional and deadline.unconfirmed_years == ()
    assert deadline.calendar_version == "seed+2027"
    assert confirmed.is_working_day(D("2027-01-04"), strict=True)
    # The old snapshot is untouched.
    assert cal.add_working_days(D("2026-12-25"), 5).due == D("2027-01-01")


def test_draft_entries_for_unconfirmed_year_are_ignored(cal: WorkCalendar) -> None:
    draft = cal.with_days([CalendarDay(D("2027-01-01"), False, "元旦", "draft")], [], "draft")
    deadline = draft.add_working_days(D("2026-12-25"), 5)
    assert (deadline.due, deadline.provisional) == (D("2027-01-01"), True)


def test_duplicate_days_are_refused() -> None:
    day = CalendarDay(D("2026-01-01"), False, "元旦", "x")
    with pytest.raises(ValueError):
        WorkCalendar([day, day], [2026], "dup")


# -- natural days, months, years (ISO-07, ECO-10, CPA-03/04, ISO-06, ISO-13, ECO-16) --------


def test_fifteen_days_ending_in_holiday_moves_past_it(cal: WorkCalendar) -> None:
    # ISO-07 publicity of 15 days: 09-16 + 15 = 10-01, off until 10-07.
    deadline = cal.add_days(D("2026-09-16"), 15)
    assert (deadline.due, deadline.rule) == (D("2026-10-08"), "days:15")
    assert "2026-10-01" in deadline.basis and "2026-10-08" in deadline.basis


def test_fifteen_days_on_working_day_not_moved(cal: WorkCalendar) -> None:
    deadline = cal.add_days(D("2026-03-02"), 15)
    assert deadline.due == D("2026-03-17")
    assert "顺延" not in deadline.basis


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        ("2026-01-31", 1, "2026-02-28"),  # short month; 02-28 is a make-up Saturday, so not moved
        ("2024-01-31", 1, "2024-02-29"),  # leap year
        ("2026-08-31", 1, "2026-09-30"),
        ("2026-03-31", 2, "2026-06-01"),  # 05-31 is a Sunday
        ("2026-03-15", 2, "2026-05-15"),  # CPA-04 two months, plain corresponding day
        ("2025-12-31", 2, "2026-02-28"),  # across the year
    ],
)
def test_add_months(cal: WorkCalendar, start: str, months: int, due: str) -> None:
    deadline = cal.add_months(D(start), months)
    assert deadline.due == D(due)
    assert deadline.rule == f"months:{months}"
    assert not deadline.provisional


def test_add_years_from_leap_day(cal: WorkCalendar) -> None:
    deadline = cal.add_years(D("2024-02-29"), 1)
    assert (deadline.due, deadline.rule) == (D("2025-02-28"), "years:1")


def test_add_years_into_unconfirmed_years_is_provisional(cal: WorkCalendar) -> None:
    # ISO-13 / ECO-16: every three years.
    deadline = cal.add_years(D("2026-10-10"), 3)
    assert deadline.due == D("2029-10-10")  # a Wednesday on the weekday rule
    assert deadline.unconfirmed_years == (2029,)


def test_end_of_june_next_year(cal: WorkCalendar) -> None:
    # ECO-15 annual report.
    deadline = cal.end_of_june_next_year(D("2025-07-01"))
    assert (deadline.due, deadline.rule, deadline.provisional) == (D("2026-06-30"), "end_of_june_next_year", False)
    later = cal.end_of_june_next_year(D("2026-03-01"))
    assert (later.due, later.unconfirmed_years) == (D("2027-06-30"), (2027,))


def test_year_end_is_never_moved(cal: WorkCalendar) -> None:
    # ISO-10: 2022-12-31 is a Saturday, still the deadline.
    deadline = cal.year_end(D("2022-03-01"))
    assert (deadline.due, deadline.rule, deadline.provisional) == (D("2022-12-31"), "year_end", False)
    assert "不因休息日顺延" in deadline.basis and "not moved" in deadline.basis


# -- counting -----------------------------------------------------------------------------


def test_working_days_between(cal: WorkCalendar) -> None:
    assert cal.working_days_between(D("2026-09-28"), D("2026-10-10")) == 5
    assert cal.working_days_between(D("2026-09-28"), D("2026-10-09")) == 4
    assert cal.working_days_between(D("2026-10-01"), D("2026-10-07")) == 0
    assert cal.working_days_between(D("2026-10-10"), D("2026-10-10")) == 0
    assert cal.working_days_between(D("2026-10-10"), D("2026-09-28")) == 0
    assert cal.working_days_between(D("2026-12-25"), D("2027-01-01")) == 5
    assert cal.unconfirmed_years_between(D("2026-12-25"), D("2027-01-01")) == (2027,)
    assert cal.unconfirmed_years_between(D("2026-12-25"), D("2026-12-31")) == ()
    assert with_2027(cal).working_days_between(D("2026-12-25"), D("2027-01-01")) == 4


dates = st.dates(min_value=date(2003, 6, 1), max_value=date(2028, 6, 30))


@settings(max_examples=300, deadline=None)
@given(start=dates, span=st.integers(min_value=-10, max_value=800))
def test_working_days_between_matches_a_day_walk(cal: WorkCalendar, start: date, span: int) -> None:
    end = start + timedelta(days=span)
    walked = sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, span + 1))
    assert cal.working_days_between(start, end) == walked


@settings(max_examples=300, deadline=None)
@given(start=dates, n=st.integers(min_value=1, max_value=300))
def test_add_working_days_agrees_with_count(cal: WorkCalendar, start: date, n: int) -> None:
    due = cal.add_working_days(start, n).due
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == n
