"""Checking the fields an administrator gives the register and the pool."""
from __future__ import annotations

from typing import Literal, overload

from app.errors import InvalidRequest


def one_of(value: str | None, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise InvalidRequest(f"'{field}' must be one of {', '.join(allowed)}, not {value!r}")
    return value


@overload
def text_field(value: str | None, field: str, *, limit: int = 255, required: Literal[True] = True) -> str: ...


@overload
def text_field(value: str | None, field: str, *, limit: int = 255, required: bool) -> str | None: ...


def text_field(value: str | None, field: str, *, limit: int = 255, required: bool = True) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRequest(f"'{field}' is required")
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidRequest(f"'{field}' must be a text of at most {limit} characters")
    return value.strip()
