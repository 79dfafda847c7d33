"""Reading Camunda-style query parameters and JSON bodies leniently, as the real clients send them."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, overload

from fastapi import Request

from app.clock import LONGEST_HISTORY_TIME_TO_LIVE_DAYS
from app.errors import InvalidRequest

# What a database column of integers holds (a 64-bit signed integer) on every database.
_LARGEST_INTEGER = 2**63 - 1


def query_dict(request: Request, list_names: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Query parameters as a dict; list parameters accept repeated keys and comma-separated values."""
    result: dict[str, Any] = {}
    for name in request.query_params.keys():
        values = request.query_params.getlist(name)
        if name in list_names:
            result[name] = [item for value in values for item in value.split(",") if item]
        else:
            result[name] = values[-1]
    return result


def flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise InvalidRequest(f"Cannot convert value '{value}' of parameter '{name}' to a boolean")


def required_boolean(p: Mapping[str, Any], name: str) -> bool:
    """A body key that must be given as a JSON boolean (a command whose default would surprise)."""
    value = p.get(name)
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' is required and must be true or false")
    return value


def suspension_state(p: Mapping[str, Any]) -> bool | None:
    """Camunda's `active` / `suspended` list filters: True for the suspended only, False for the
    active only, None for both (with both set, `suspended` wins, as Camunda applies it last)."""
    if flag(p.get("suspended"), "suspended"):
        return True
    if flag(p.get("active"), "active"):
        return False
    return None


# Camunda's firstResult is a Java int.
FIRST_RESULT_MAX = 2**31 - 1


@overload
def integer(value: Any, name: str, default: int, minimum: int = 0, maximum: int = _LARGEST_INTEGER) -> int: ...


@overload
def integer(value: Any, name: str, default: None = None, minimum: int = 0,
            maximum: int = _LARGEST_INTEGER) -> int | None: ...


def integer(value: Any, name: str, default: int | None = None, minimum: int = 0,
            maximum: int = _LARGEST_INTEGER) -> int | None:
    """A whole number: a JSON number without a fraction, or decimal digits in a text (a sign allowed);
    a boolean, a fraction or any other text is refused, not read as some number."""
    if value is None or value == "":
        return default
    if isinstance(value, float) and value.is_integer() and abs(value) <= _LARGEST_INTEGER:
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,400}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        shown = f"'{str(value)[:100]}'" if isinstance(value, str | int | float) and not isinstance(value, bool) \
            else kind_of(value)
        raise InvalidRequest(f"Cannot convert value {shown} of parameter '{name}' to a whole number")
    if value < minimum:
        raise InvalidRequest(f"Parameter '{name}' must be at least {minimum}")
    if value > maximum:
        raise InvalidRequest(f"Parameter '{name}' must be at most {maximum}")
    return value


def history_time_to_live(body: Mapping[str, Any] | None) -> int | None:
    """Camunda's body {historyTimeToLive: days or null} of a definition's history time to live."""
    value = (body or {}).get("historyTimeToLive")
    if isinstance(value, bool) or not isinstance(value, int | None):
        raise InvalidRequest("historyTimeToLive must be a whole number of days or null")
    if value is not None and value > LONGEST_HISTORY_TIME_TO_LIVE_DAYS:
        raise InvalidRequest(f"historyTimeToLive must be at most {LONGEST_HISTORY_TIME_TO_LIVE_DAYS} days (100 years)")
    return integer(value, "historyTimeToLive")


# The most values a list parameter takes: enough for any page or batch, and within what one database
# statement can bind (PostgreSQL: 65,535 parameters).
MAX_LIST_VALUES = 10_000


def text_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = [item for item in value.split(",") if item]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        raise InvalidRequest(f"Parameter '{name}' must be a list of strings")
    if len(items) > MAX_LIST_VALUES:
        raise InvalidRequest(f"Parameter '{name}' lists {len(items)} values; at most {MAX_LIST_VALUES} are taken")
    return items


# A JSON value's kind, as a refusal names it (never its Python repr).
_KINDS = {"dict": "an object", "list": "a list", "NoneType": "null", "bool": "a boolean", "int": "a number",
          "float": "a number"}


def kind_of(value: Any) -> str:
    """How a refusal names a value it cannot show: by its JSON kind, never its Python repr."""
    return _KINDS.get(type(value).__name__, "a value")


def sort_order(p: Mapping[str, Any], allowed: Iterable[str]) -> list[tuple[str, str]]:
    """Camunda's `sorting: [{sortBy, sortOrder}]` and `sortBy`/`sortOrder`, as (key, "asc"|"desc")."""
    items = p.get("sorting") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InvalidRequest("'sorting' must be a list of {sortBy, sortOrder}")
    pairs = [(item.get("sortBy"), item.get("sortOrder") or "asc") for item in items]
    if p.get("sortBy"):
        pairs.append((p["sortBy"], p.get("sortOrder") or "asc"))
    allowed = list(allowed)
    for key, direction in pairs:
        if not isinstance(key, str) or key not in allowed or direction not in ("asc", "desc"):
            shown = " ".join(f"'{part}'" if isinstance(part, str) else kind_of(part)
                             for part in (key, direction))
            raise InvalidRequest(f"Cannot sort by {shown[:300]} (sortBy one of {', '.join(allowed)}; "
                                 "sortOrder asc or desc)")
    # A key sorted by again adds nothing: the first of each counts (and a list stays bounded by the keys).
    first_of_each: dict[str, str] = {}
    for key, direction in pairs:
        first_of_each.setdefault(key, direction)
    return list(first_of_each.items())


def text(p: Mapping[str, Any], name: str) -> str | None:
    """A text parameter of a query or body: absent or null is None; anything but a text is refused."""
    value = p.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f"'{name}' must be a string")


# Camunda's variable comparison operators.
VARIABLE_OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like", "notLike")


def _typed(text: str) -> Any:
    """A value written in a query string as Camunda reads it: a boolean or a number when it is one."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d{1,18}", text):
        return int(text)
    if re.fullmatch(r"-?\d{1,18}\.\d{1,18}", text):
        return float(text)
    return text


def delimited(value: str, parts: int, name: str, form: str) -> list[list[str]]:
    """Camunda's conditions in a query string: a comma between conditions, an underscore between
    each one's parts; `form` shows the expected shape in the refusal."""
    found = []
    for expression in value.split(","):
        pieces = expression.split("_")
        if len(pieces) != parts:
            raise InvalidRequest(f"'{name}': a condition has the form {form}")
        found.append(pieces)
    return found


def variable_conditions(value: Any, name: str) -> list[tuple[str, str, Any]]:
    """Camunda's variable conditions: `name_operator_value,...` in a query string, [{name, operator,
    value}] in a body; as (name, operator, value)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        found = [(variable, operator, _typed(operand))
                 for variable, operator, operand in delimited(value, 3, name, "NAME_OPERATOR_VALUE")]
    elif isinstance(value, list) and all(isinstance(item, dict) for item in value):
        found = [(item.get("name"), item.get("operator"), item.get("value")) for item in value]
    else:
        raise InvalidRequest(f"'{name}' must be a list of {{name, operator, value}}")
    if len(found) > MAX_LIST_VALUES:
        raise InvalidRequest(f"Parameter '{name}' lists {len(found)} conditions; at most {MAX_LIST_VALUES} are taken")
    for variable, operator, operand in found:
        if not isinstance(variable, str) or operator not in VARIABLE_OPERATORS:
            raise InvalidRequest(f"'{name}': each condition needs a variable name and an operator among "
                                 f"{', '.join(VARIABLE_OPERATORS)}")
        if isinstance(operand, dict | list):
            raise InvalidRequest(f"'{name}': the value of a condition on '{variable}' must be a text, a number, "
                                 "a boolean or null")
    return found
