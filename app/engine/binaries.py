"""Binary variables (Camunda's Bytes and File): the case's state holds a small reference to the content,
never the bytes, which are kept once elsewhere by their SHA-256 (every step saves the state again).

In the case's history a reference is an object under the key the state format reserves ('typename'),
which no variable a client sends may hold: a recorded reference can only be one the service made.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BYTES, FILE = "Bytes", "File"
_TYPENAME = "BinaryValue"


@dataclass(frozen=True)
class BinaryValue:
    kind: str
    sha256: str
    size: int
    filename: str | None = None
    mime_type: str | None = None
    encoding: str | None = None
    # The bytes, only while the request that sent them is being saved; never compared nor saved.
    content: bytes | None = field(default=None, compare=False, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> BinaryValue:
        # A reference, never changed: the library's copies of task data share it (and no bytes).
        return self

    def take_content(self) -> bytes | None:
        """The content, handed once to whoever keeps it; from then on the reference holds no bytes (a
        run kept in memory between steps holds references only)."""
        content = self.content
        object.__setattr__(self, "content", None)
        return content

    def __str__(self) -> str:
        # How a page shows it (never Python's repr): its name, or its kind, and its size.
        return f"{self.filename or self.kind} ({self.size} bytes)"

    def recorded(self) -> dict[str, Any]:
        """The reference as the case's history keeps it: what an auditor checks the content against."""
        return {"typename": _TYPENAME, "type": self.kind, "sha256": self.sha256, "size": self.size,
                "filename": self.filename, "mimeType": self.mime_type, "encoding": self.encoding}

    def saved(self) -> dict[str, Any]:
        return {key: value for key, value in self.recorded().items() if key != "typename"}


def restored(saved: Mapping[str, Any]) -> BinaryValue:
    return BinaryValue(kind=saved["type"], sha256=saved["sha256"], size=saved["size"], filename=saved.get("filename"),
                       mime_type=saved.get("mimeType"), encoding=saved.get("encoding"))


def revived(value: Any) -> Any:
    """A recorded value with its binary references made objects again (a replay, a history read)."""
    if isinstance(value, dict):
        if value.get("typename") == _TYPENAME:
            return restored(value)
        return {key: revived(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revived(item) for item in value]
    return value


def binaries_in(value: Any) -> list[BinaryValue]:
    """The binary references a value holds, at any depth."""
    found: list[BinaryValue] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, BinaryValue):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return found
