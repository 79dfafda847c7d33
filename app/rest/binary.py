"""Camunda's `/data` of a binary variable (Bytes or File): the content uploaded as multipart/form-data
and handed back as the bytes themselves."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from app.cases import binary_variables
from app.context import Services
from app.engine import BYTES, FILE, BinaryValue
from app.errors import InvalidRequest
from app.rest.variables import CHARSET, MEDIA_TYPE, binary_value, named

# What may not stand in a quoted filename of a header: controls, quotes, backslashes.
_UNSAFE_IN_QUOTES = re.compile(r"[\x00-\x1f\x7f\\]")

# The responses of a GET .../data in the OpenAPI description.
DATA_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"application/octet-stream": {}}}}


def _media_type(sent: str | None) -> tuple[str, dict[str, str]]:
    """A part's content type: its base type and its parameters."""
    base, *parameters = (sent or "application/octet-stream").split(";")
    named = {}
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        named[key.strip().lower()] = value.strip().strip('"')
    base = base.strip().lower()
    if not MEDIA_TYPE.fullmatch(base):
        raise InvalidRequest("Invalid mime type given")
    return base, named


async def uploaded(request: Request, name: str, services: Services) -> BinaryValue:
    """The variable a POST .../data sends: the part 'data', as Bytes (the default) or File (part
    'valueType'); a File takes its name and type from the part, its encoding from the type's
    'encoding' parameter, as Camunda does."""
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise InvalidRequest("a binary variable is sent as multipart/form-data, its content in the part 'data'")
    limit = services.settings.max_binary_variable_bytes
    async with request.form(max_files=1, max_fields=5) as form:
        if form.get("type") is not None:
            raise InvalidRequest("Serialized Java objects (form part 'type') are not accepted: send the value as "
                                 "Json through the variable's JSON resource")
        data = form.get("data")
        kind_part = form.get("valueType", BYTES)
        if not isinstance(kind_part, str):
            raise InvalidRequest("Form part with name 'valueType' must have a text/plain value")
        kind = {"bytes": BYTES, "file": FILE}.get(kind_part.strip().lower())
        if kind is None:
            raise InvalidRequest(f"Form part 'valueType' is Bytes or File (got '{kind_part}')")
        if data is None:
            raise InvalidRequest("the content of a binary variable is sent in the form part 'data'")
        if isinstance(data, UploadFile):
            content = await data.read(limit + 1)
            filename, sent_type = data.filename, data.content_type
        else:
            content, filename, sent_type = data.encode(), None, None
    if kind == BYTES:
        return binary_value(name, BYTES, content, services.settings)
    if not filename:
        raise InvalidRequest(f"Variable '{name}': Cannot create file without filename! Please set a name into "
                             "ValueInfo with key filename")
    mime_type, parameters = _media_type(sent_type)
    return binary_value(name, FILE, content, services.settings, filename=filename, mime_type=mime_type,
                        encoding=parameters.get("encoding") or None)


def data_response(services: Services, value: Any, holder_id: str) -> Response:
    """The content as Camunda hands it out: a File with its type and name, Bytes as octet-stream. Either
    is an attachment a browser saves rather than renders."""
    binary, content = binary_variables.content(services, value, holder_id)
    # The type is set as it was sent: Starlette would add a charset to a text type that has none.
    headers = {"X-Content-Type-Options": "nosniff"}
    if binary.kind == FILE:
        # A type, encoding or name stored before they were checked on input cannot break the header.
        safe_type = bool(binary.mime_type and MEDIA_TYPE.fullmatch(binary.mime_type))
        media_type = binary.mime_type if binary.mime_type and safe_type else "application/octet-stream"
        if safe_type and binary.encoding and CHARSET.fullmatch(binary.encoding):
            media_type += f"; charset={binary.encoding}"
        filename = binary.filename or ""
        plain = _UNSAFE_IN_QUOTES.sub("_", filename.encode("ascii", "replace").decode().replace('"', "'"))
        headers["Content-Disposition"] = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"
    else:
        media_type = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    headers["Content-Type"] = media_type
    return Response(content, headers=headers)


def named_data(services: Services, values: Mapping[str, Any], name: str, owner: str, holder_id: str) -> Response:
    """The content of one named variable of a task, execution or instance."""
    return data_response(services, named(values, name, owner), holder_id)
