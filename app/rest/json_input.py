"""JSON from callers, read strictly: what Python's json module lets through but nothing downstream can
store, compare or export is refused here with a 400 (NaN and ±Infinity, lone surrogates, numbers of
thousands of digits), and nesting is bounded before it can exhaust the stack."""
from __future__ import annotations

import json
import re
from typing import Any

from app.engine.expressions import MAX_NUMBER_DIGITS
from app.errors import InvalidRequest

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_FLOAT_TEXT = MAX_NUMBER_DIGITS + 10  # digits, sign, point and exponent


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidRequest(f"A number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _decimal(text: str) -> float:
    number = float(text) if len(text) <= _MAX_FLOAT_TEXT else float("inf")
    if number in (float("inf"), float("-inf")):
        raise InvalidRequest(f"The number {text[:_MAX_FLOAT_TEXT]} is out of range")
    return number


def _no_constant(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a number that can be stored (JSON has no NaN or Infinity)")


def load_json(text: str | bytes, *, max_depth: int, what: str = "The body") -> Any:
    try:
        value = json.loads(text, parse_int=_whole, parse_float=_decimal, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidRequest(f"{what} is nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(f"{what} is not valid JSON: {error}") from None
    check_value(value, max_depth=max_depth, what=what)
    return value


def check_value(value: Any, *, max_depth: int, what: str) -> None:
    """Nesting within `max_depth` and no text with a lone surrogate (it cannot be stored as UTF-8)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise InvalidRequest(f"{what} holds a text with a lone surrogate character, which is not Unicode text")
        elif isinstance(item, (dict, list)):
            if depth > max_depth:
                raise InvalidRequest(f"{what} is nested deeper than {max_depth} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
