"""Camunda's `form-variables`: each form field with its current or default value."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from typing import Any

from app.engine import FormField
from app.rest.variables import encode_value

_TYPES = {"string": "String", "long": "Long", "boolean": "Boolean", "date": "Date", "enum": "String"}


def _default(field: FormField) -> Any:
    if field.default_value is None:
        return None
    if field.type == "long":
        return int(field.default_value) if field.default_value.lstrip("-").isdigit() else None
    if field.type == "boolean":
        return field.default_value.lower() == "true"
    return field.default_value


def form_variables(fields: Iterable[FormField], current: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    result = {}
    for field in fields:
        value = current.get(field.id, _default(field))
        encoded = encode_value(value, zone)
        if value is None:
            encoded["type"] = _TYPES[field.type]
        result[field.id] = encoded
    return result
