"""What an answer of the service must never show: Python's exception names, types, reprs and files."""
from __future__ import annotations

import re

PYTHON_MARKERS = re.compile(
    r"Traceback|Error\(|Exception\(|\b(Key|Type|Attribute|Value|Index|NotImplemented|Name|Lookup|Runtime)Error\b"
    r"|<class|object at 0x|NoneType|'dict'|SpiffWorkflow|\.py\"|\(<string>")


def python_shown(text: str) -> str | None:
    """The first Python marker in `text`, or None when it reads as the service's own words."""
    found = PYTHON_MARKERS.search(text)
    return found.group(0) if found else None
