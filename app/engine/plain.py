"""The library's messages, as the service may show them: in a designer's words, never Python's.

SpiffWorkflow words some refusals for its own developers ("SubWorkflow Task", "tasks of type."), and
some of its exceptions carry a Python repr (`NotImplementedError('Unsupported Catch Event: %r', b'<...')`,
`<...CompensationHandlerServiceTask object at 0x...>`). Known messages are put in plain words; any other
that shows Python gives way to the caller's plain reason.
"""
from __future__ import annotations

import re

# What shows that a text comes from Python rather than from a person: an exception name or repr, a
# type, an object address, a file of the library.
PYTHON_MARKERS = re.compile(
    r"Traceback|\w+(Error|Exception)\(|\b(Key|Type|Attribute|Value|Index|Lookup|Name|NotImplemented|Runtime|"
    r"Recursion|ZeroDivision|Overflow|Unicode\w*)Error\b|<class |object at 0x|NoneType|SpiffWorkflow|\.py\"|"
    r"'(dict|str|int|float|list|tuple|bool|bytes)'|\bb'<")

_KNOWN = (
    ("No start event found", "the process has no start event"),
    ("Time Specification Error", "the timer has no date, duration or cycle"),
    ("There is no support implemented for this task type", "elements of this kind cannot run here"),
    ("Exactly one start event is required in a SubWorkflow Task", "a subprocess needs exactly one start event"),
    # Camunda's ENGINE-02004, in its words.
    ("No conditions satisfied", "no outgoing sequence flow could be selected for continuing the process: no "
                                "condition holds and the gateway has no default flow"),
)


def plain(text: str, fallback: str) -> str:
    """`text` in plain words, or `fallback` when it is Python's."""
    text = text.split("\n")[0].strip().rstrip(". ")
    for prefix, words in _KNOWN:
        if text.startswith(prefix):
            return words
    return fallback if not text or PYTHON_MARKERS.search(text) else text
