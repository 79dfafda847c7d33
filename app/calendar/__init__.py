"""Chinese official working calendar and statutory deadline arithmetic."""

from app.calendar.rules import (
    CalendarDay,
    CalendarNotConfirmed,
    Deadline,
    WorkCalendar,
    seed_days,
    shift_months,
)

__all__ = ["CalendarDay", "CalendarNotConfirmed", "Deadline", "WorkCalendar", "seed_days", "shift_months"]
