"""Camunda's typed variables on the wire, and its date format.

Input: `{"value": ..., "type": "String|Integer|...", "valueInfo": {...}}`, the type inferred when
absent. Output: the same shape, dates as `yyyy-MM-dd'T'HH:mm:ss.SSSZ` in the service's zone.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from app.clock import format_instant
from app.engine import BYTES, FILE, BinaryValue, parse_datetime
from app.errors import InvalidRequest, NotFound
from app.rest.json_input import check_value, load_json
from app.settings import Settings

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_INT16 = (-(2**15), 2**15 - 1)
# A File's name, type and encoding become headers of its download: no control character may reach them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
CHARSET = re.compile(_TOKEN)


def parse_instant(text: str, zone: tzinfo, what: str) -> datetime:
    parsed = parse_datetime(text, zone)
    if parsed is None:
        raise InvalidRequest(f"Cannot convert value '{text}' of {what} to a date "
                             "(expected yyyy-MM-dd'T'HH:mm:ss.SSSZ, within the years 1 to 9999)")
    return parsed


def optional_instant(params: Mapping[str, Any], name: str, zone: tzinfo) -> datetime | None:
    """A date query parameter or body key, absent when missing, null or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"Cannot convert value of parameter '{name}' to a date: a date is given as text "
                             "(yyyy-MM-dd'T'HH:mm:ss.SSSZ)")
    return parse_instant(value, zone, f"parameter '{name}'")


def _shown(value: Any) -> str:
    """A value as its sender wrote it (JSON), not as Python prints it."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _integer(name: str, value: Any, kind: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type {kind}")
    return value


def decode_value(name: str, raw: Any, settings: Settings) -> Any:
    """A variable as Camunda's clients send it (its body already read strictly, app.rest.limits); a
    value nested deeper than the settings allow, or one that cannot be stored, is refused."""
    value = _decoded(name, raw, settings)
    check_value(value, max_depth=settings.max_variable_depth, what=f"Variable '{name}'")
    return value


def _decoded(name: str, raw: Any, settings: Settings) -> Any:
    if not isinstance(raw, Mapping):
        raise InvalidRequest(f"Variable '{name}' must be an object with 'value' and 'type'")
    value = raw.get("value")
    kind = raw.get("type")
    info = raw.get("valueInfo") or {}
    if kind is None or kind == "":
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRequest(f"Variable '{name}' is not a finite number")
        return value
    kind_lower = str(kind).lower()
    if value is None or kind_lower == "null":
        return None
    if kind_lower == "string":
        if not isinstance(value, str):
            raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type String")
        return value
    if kind_lower == "integer":
        return _integer(name, value, "Integer", _INT32)
    if kind_lower == "long":
        return _integer(name, value, "Long", _INT64)
    if kind_lower == "short":
        return _integer(name, value, "Short", _INT16)
    if kind_lower == "double":
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not math.isfinite(number):
            raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type Double")
        return number
    if kind_lower == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type Boolean")
    if kind_lower == "date":
        if not isinstance(value, str):
            raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type Date")
        return parse_instant(value, settings.zone, f"variable '{name}'")
    if kind_lower in ("json", "object"):
        if kind_lower == "object" and info.get("serializationDataFormat") not in (None, "application/json"):
            raise InvalidRequest(f"Variable '{name}': only Object values serialized as application/json are accepted")
        if isinstance(value, str):
            return load_json(value, max_depth=settings.max_variable_depth, what=f"Variable '{name}' of type {kind}")
        return value
    if kind_lower in ("bytes", "file"):
        if not isinstance(value, str):
            raise InvalidRequest(f"Cannot convert value '{_shown(value)}' of variable '{name}' to type {kind}")
        try:
            content = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest(f"Cannot convert value of variable '{name}' to type {kind}: it is not base64 "
                                 "text") from None
        if kind_lower == "bytes":
            return binary_value(name, BYTES, content, settings)
        if not isinstance(info, Mapping) or not isinstance(info.get("filename"), str) or not info["filename"]:
            raise InvalidRequest(f"Variable '{name}': Cannot create file without filename! Please set a name into "
                                 "ValueInfo with key filename")
        return binary_value(name, FILE, content, settings, filename=info["filename"],
                            mime_type=_optional_text(info, "mimeType", name),
                            encoding=_optional_text(info, "encoding", name))
    raise InvalidRequest(f"Variable '{name}' has unsupported type '{kind}' (supported: String, Integer, Long, Short, "
                         "Double, Boolean, Date, Null, Json, Object, Bytes, File)")


def _optional_text(info: Mapping[str, Any], key: str, name: str) -> str | None:
    text = info.get(key)
    if text is not None and (not isinstance(text, str) or len(text) > 255):
        raise InvalidRequest(f"Variable '{name}': valueInfo '{key}' is a text of at most 255 characters")
    return text or None


def binary_value(name: str, kind: str, content: bytes, settings: Settings, *, filename: str | None = None,
                 mime_type: str | None = None, encoding: str | None = None) -> BinaryValue:
    """A Bytes or File variable: its content, within MAX_BINARY_VARIABLE_BYTES, to be kept by its SHA-256;
    a File's name, type and encoding as its download can send them back."""
    if len(content) > settings.max_binary_variable_bytes:
        raise InvalidRequest(f"Variable '{name}' has {len(content)} bytes; a {kind} variable has at most "
                             f"{settings.max_binary_variable_bytes} bytes")
    if filename is not None and len(filename) > 255:
        raise InvalidRequest(f"Variable '{name}': a file name has at most 255 characters")
    for key, text in (("filename", filename), ("mimeType", mime_type), ("encoding", encoding)):
        if text is not None and _CONTROL.search(text):
            raise InvalidRequest(f"Variable '{name}': the file's {key} holds control characters")
    if mime_type is not None and not MEDIA_TYPE.fullmatch(mime_type):
        raise InvalidRequest(f"Variable '{name}': Invalid mime type given (expected type/subtype, as text/plain)")
    if encoding is not None and not CHARSET.fullmatch(encoding):
        raise InvalidRequest(f"Variable '{name}': the file's encoding is a charset name, as UTF-8")
    return BinaryValue(kind=kind, sha256=hashlib.sha256(content).hexdigest(), size=len(content), filename=filename,
                       mime_type=mime_type, encoding=encoding, content=content)


def decode_variables(raw: Mapping[str, Any] | None, settings: Settings) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise InvalidRequest("'variables' must be an object of named variables")
    return {name: decode_value(name, value, settings) for name, value in raw.items()}


def value_type(value: Any) -> str:
    """A value's type as Camunda names it."""
    if isinstance(value, BinaryValue):
        return value.kind
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer" if _INT32[0] <= value <= _INT32[1] else "Long"
    if isinstance(value, float):
        return "Double"
    if isinstance(value, datetime):
        return "Date"
    if isinstance(value, (dict, list)):
        return "Json"
    return "String"


def encode_value(value: Any, zone: tzinfo) -> dict[str, Any]:
    kind = value_type(value)
    if isinstance(value, BinaryValue):
        # The content is read through the variable's /data; a File keeps its valueInfo, as Camunda's.
        info = {"filename": value.filename, "mimeType": value.mime_type, "encoding": value.encoding} \
            if value.kind == FILE else {}
        # A Bytes value read with its content (a running case's variables) carries it as base64, as Camunda's.
        content = base64.b64encode(value.content).decode("ascii") \
            if value.kind == BYTES and value.content is not None else None
        return {"type": kind, "value": content, "valueInfo": {k: v for k, v in info.items() if v is not None}}
    if kind == "Date":
        shown = format_instant(value, zone)
    elif kind == "Json":
        shown = json.dumps(value, ensure_ascii=False, default=str)
    elif kind == "String":
        shown = value if isinstance(value, str) else str(value)
    else:
        shown = value
    return {"type": kind, "value": shown, "valueInfo": {}}


def encode_variables(values: Mapping[str, Any], zone: tzinfo) -> dict[str, dict[str, Any]]:
    return {name: encode_value(value, zone) for name, value in values.items()}


def modifications_and_deletions(body: Mapping[str, Any] | None, settings: Settings
                                ) -> tuple[dict[str, Any], list[str]]:
    """The body of Camunda's POST .../variables: `modifications` to set and `deletions` to remove."""
    body = body or {}
    deletions = body.get("deletions") or []
    if not isinstance(deletions, list) or not all(isinstance(name, str) for name in deletions):
        raise InvalidRequest("'deletions' must be a list of variable names")
    return decode_variables(body.get("modifications"), settings), deletions


def encode_named(values: Mapping[str, Any], name: str, owner: str, zone: tzinfo) -> dict[str, Any]:
    """One variable of a task, execution or instance as Camunda answers it; 404 in Camunda's words
    when it has none of that name."""
    return encode_value(named(values, name, owner), zone)


def named(values: Mapping[str, Any], name: str, owner: str) -> Any:
    """One variable's value; 404 in Camunda's words when there is none of that name."""
    if name not in values:
        raise NotFound(f"{owner} variable with name {name} does not exist")
    return values[name]
