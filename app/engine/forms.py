"""Form fields as Camunda Modeler declares them, enforced on submission.

The library stores the constraints but never checks them; here a submission is checked field by
field and every failure is reported at once, so an official can correct the whole form in one go.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from app.engine.elements import FormField
from app.errors import FormValidationFailed

_CAMUNDA_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%Y %H:%M:%S")
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")


def parse_datetime(text: str, default_zone: tzinfo = UTC) -> datetime | None:
    """Read an instant as the clients write it: ISO 8601 with `+08:00`, `Z` or `+0800`, or Camunda's
    form date `dd/MM/yyyy`. A value without an offset is taken in `default_zone`. An instant that
    cannot be told in UTC and in `default_zone` (past the year 9999 or before the year 1) is none."""
    text = text.strip()
    value: datetime | None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
        for pattern in _CAMUNDA_DATE_FORMATS:
            try:
                value = datetime.strptime(text, pattern)
                break
            except ValueError:
                continue
    if value is None:
        return None
    value = value if value.tzinfo is not None else value.replace(tzinfo=default_zone)
    try:
        value.astimezone(UTC)
        value.astimezone(default_zone)
    except OverflowError:
        return None
    return value


def _check(field: FormField, value: Any, zone: tzinfo) -> tuple[Any, str | None]:
    """Returns the value as the process keeps it, or an error message."""
    if field.type == "string":
        if not isinstance(value, str):
            return value, "must be a text"
        if field.minlength is not None and len(value) < field.minlength:
            return value, f"must have at least {field.minlength} characters"
        if field.maxlength is not None and len(value) > field.maxlength:
            return value, f"must have at most {field.maxlength} characters"
        return value, None
    if field.type == "long":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
                value = int(value)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                return value, "must be a whole number"
        if field.min is not None and value < field.min:
            return value, f"must be at least {field.min:g}"
        if field.max is not None and value > field.max:
            return value, f"must be at most {field.max:g}"
        return value, None
    if field.type == "boolean":
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true", None
        return value, "must be true or false"
    if field.type == "date":
        if isinstance(value, datetime):
            return value, None
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=zone), None
        parsed = parse_datetime(value, zone) if isinstance(value, str) else None
        return (parsed, None) if parsed is not None else (value, "must be a date")
    if field.type == "enum":
        allowed = [option for option, _ in field.enum_values]
        if value not in allowed:
            return value, f"must be one of: {', '.join(allowed)}" if allowed else "lists no values to choose from"
        return value, None
    return value, f"has unsupported type {field.type}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_submission(fields: Iterable[FormField], submitted: Mapping[str, Any],
                        zone: tzinfo = UTC) -> dict[str, Any]:
    """Check submitted values against the form; return them converted, or raise naming each failure."""
    values = dict(submitted)
    failures: list[dict[str, str]] = []
    for field in fields:
        present = field.id in submitted and not _blank(submitted[field.id])
        if field.readonly and field.id in submitted:
            failures.append({"field": field.id, "label": field.label or field.id, "message": "is read-only"})
            continue
        if not present:
            if field.id in submitted:
                values[field.id] = None  # a blank entry is "no value", whatever the field's type
            if field.required:
                failures.append({"field": field.id, "label": field.label or field.id, "message": "is required"})
            continue
        converted, problem = _check(field, submitted[field.id], zone)
        if problem:
            failures.append({"field": field.id, "label": field.label or field.id, "message": problem})
        else:
            values[field.id] = converted
    if failures:
        summary = "; ".join(f"{failure['field']} ({failure['label']}) {failure['message']}" for failure in failures)
        raise FormValidationFailed(f"Form submission is invalid: {summary}", details={"fields": failures})
    return values
