"""The content of binary variables (Camunda's Bytes and File), read through their `/data`.

A case's state and history hold a reference (app.engine.binaries); the content is kept once by its
SHA-256 in the content store the attached files use, and read back only if it still has that hash.
Who may read a variable, and which confidential variables are hidden, is decided where the variable
is read (the use case that hands it out); this reads the content of the value it handed out.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from app.context import Services
from app.engine import BYTES, BinaryValue
from app.errors import InvalidRequest


def with_bytes(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values with each Bytes variable's content, as Camunda sends a Bytes value in the JSON of a
    running case's variables (a File's content is read through its /data only)."""
    store = session.info["contents"]()
    return {name: replace(value, content=store.get(session, value.sha256))
            if isinstance(value, BinaryValue) and value.kind == BYTES else value for name, value in values.items()}


def content(services: Services, value: Any, holder_id: str) -> tuple[BinaryValue, bytes]:
    """The reference and its content; a value that is not Bytes or File is refused in Camunda's words
    (which name the id of the task, execution, instance or variable it was asked of)."""
    if not isinstance(value, BinaryValue):
        raise InvalidRequest(f"Value of variable with id {holder_id} is not a binary value.")
    if value.content is not None:
        return value, value.content
    with services.db.read() as session:
        return value, services.contents.get(session, value.sha256)
