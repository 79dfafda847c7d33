"""Log lines: plain text by default, or one JSON object a line (LOG_FORMAT=json) with the request's
id, route, status, duration and actor, and the instance and business key where a line knows them.

The request's id is carried in a context variable, so that every line logged while a request is
handled names it; a line may add instance_id and business_key (and the others) as `extra`.
"""
from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

# An id a client or proxy sends is taken when it is short and plain (it is echoed in a header and
# written to logs); anything else is replaced by a new one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# The attributes a JSON line carries besides time, level, logger and message, when known.
CONTEXT_FIELDS = ("request_id", "route", "method", "status", "duration_ms", "actor", "instance_id", "business_key")
# The servers' own loggers, whose lines go through the service's handler with LOG_FORMAT=json;
# uvicorn's access lines are replaced by the service's own (logger app.http).
_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def request_id(offered: str | None) -> str:
    """The id of a request: the one offered (X-Request-ID) when acceptable, else a new one."""
    if offered is not None and _REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class _Context(logging.Filter):
    """Adds the request's id to every line logged while the request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        value = REQUEST_ID.get()
        if value is not None and getattr(record, "request_id", None) is None:
            record.request_id = value
        return True


class _Json(JsonFormatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s",
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                         datefmt="%Y-%m-%dT%H:%M:%S%z", json_ensure_ascii=False)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Only the known context fields besides the four: a stray `extra` never reaches the line.
        kept: dict[str, Any] = {name: log_data[name] for name in ("time", "level", "logger", "message")
                                if name in log_data}
        kept.update((name, log_data[name]) for name in CONTEXT_FIELDS if log_data.get(name) is not None)
        if "exc_info" in log_data:
            kept["exc_info"] = log_data["exc_info"]
        return kept


class _Stderr(logging.StreamHandler):
    """Writes to the standard error of the moment, as logging's last resort does: what replaces it
    later (a supervisor, a test's capture) receives the lines."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def install(log_format: Literal["plain", "json"], level: str) -> Callable[[], None]:
    """Send the service's log lines (and the server's) to stderr in the format; returns what undoes it."""
    handler = _Stderr()
    handler.addFilter(_Context())
    handler.setFormatter(_Json() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    app_logger = logging.getLogger("app")
    saved_level = app_logger.level
    root.addHandler(handler)
    app_logger.setLevel(level.upper())
    saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
    if log_format == "json":
        for name in _SERVER_LOGGERS:
            server = logging.getLogger(name)
            saved.append((server, server.handlers[:], server.propagate, server.level))
            server.handlers = []
            server.propagate = name != "uvicorn.access"

    def uninstall() -> None:
        root.removeHandler(handler)
        app_logger.setLevel(saved_level)
        for server, handlers, propagate, server_level in saved:
            server.handlers, server.propagate = handlers, propagate
            server.setLevel(server_level)
    return uninstall
