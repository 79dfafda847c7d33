"""Camunda's `form-variables` (each form field with its current or default value) and rendered forms."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import tzinfo
from html import escape
from typing import Any

from fastapi import Response

from app.engine import FormField
from app.errors import NotFoundByQuery
from app.rest.variables import encode_value

_TYPES = {"string": "String", "long": "Long", "boolean": "Boolean", "date": "Date", "enum": "String"}


def _default(field: FormField) -> Any:
    if field.default_value is None:
        return None
    if field.type == "long":
        return int(field.default_value) if field.default_value.lstrip("-").isdigit() else None
    if field.type == "boolean":
        return field.default_value.lower() == "true"
    return field.default_value


def form_variables(fields: Iterable[FormField], current: Mapping[str, Any], zone: tzinfo) -> dict[str, Any]:
    result = {}
    for field in fields:
        value = current.get(field.id, _default(field))
        encoded = encode_value(value, zone)
        if value is None:
            encoded["type"] = _TYPES[field.type]
        result[field.id] = encoded
    return result


# Camunda's HtmlFormEngine: a generated form (camunda:formData) as the embedded form Camunda Tasklist
# shows. Written afresh in its structure; every text of the diagram (ids, labels, values) is escaped.
XHTML = "application/xhtml+xml"
_DATE_PATTERN = "dd/MM/yyyy"
_RENDERED_HEADERS = {"X-Content-Type-Options": "nosniff"}


class _Markup:
    """Indented XHTML, element by element, with escaped text and attribute values."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def open(self, tag: str, **attributes: str | None) -> None:
        self.lines.append(f"{'  ' * self.depth}<{tag}{_attributes(attributes)}>")
        self.depth += 1

    def close(self, tag: str) -> None:
        self.depth -= 1
        self.lines.append(f"{'  ' * self.depth}</{tag}>")

    def empty(self, tag: str, **attributes: str | None) -> None:
        self.lines.append(f"{'  ' * self.depth}<{tag}{_attributes(attributes)} />")

    def text(self, tag: str, content: str, **attributes: str | None) -> None:
        self.open(tag, **attributes)
        self.lines.append(f"{'  ' * self.depth}{escape(content, quote=False)}")
        self.close(tag)


def _attributes(attributes: Mapping[str, str | None]) -> str:
    """Python names as XHTML's: cam_variable_name is cam-variable-name, class_ is class; None leaves
    the attribute out."""
    return "".join(f' {name.rstrip("_").replace("_", "-")}="{escape(value)}"'
                   for name, value in attributes.items() if value is not None)


def _control_attributes(field: FormField) -> dict[str, str | None]:
    """What every control of a field carries: Tasklist's cam-variable-* and the validation constraints
    (readonly rendered as disabled, as Camunda renders it)."""
    variable_type = "String" if field.type in ("enum", "date") else field.type.capitalize()
    return {"class_": "form-control", "name": field.id, "cam_variable_type": variable_type,
            "cam_variable_name": field.id, "required": "required" if field.required else None,
            "disabled": "disabled" if field.readonly else None,
            "minlength": None if field.minlength is None else str(field.minlength),
            "maxlength": None if field.maxlength is None else str(field.maxlength),
            "min": None if field.min is None else f"{field.min:g}",
            "max": None if field.max is None else f"{field.max:g}"}


def _date_picker(markup: _Markup, field: FormField) -> None:
    markup.open("div", class_="input-group")
    if field.readonly:
        markup.empty("input", **_control_attributes(field), type="text")
    else:
        markup.empty("input", **_control_attributes(field), type="text", uib_datepicker_popup=_DATE_PATTERN,
                     is_open=f"dateFieldOpened{field.id}")
        markup.open("div", class_="input-group-btn")
        markup.open("button", type="button", class_="btn btn-default", ng_click=f"open{field.id}($event)")
        markup.open("i", class_="glyphicon glyphicon-calendar")
        markup.close("i")
        markup.close("button")
        markup.close("div")
        # The field id is a variable name (the model refuses others), so it is a name in the script too.
        markup.text("script", f"$scope.open{field.id} = function ($event) {{ $event.preventDefault(); "
                              f"$event.stopPropagation(); $scope.dateFieldOpened{field.id} = true; }};",
                    cam_script="cam-script", type="text/form-script")
    markup.close("div")


def _invalid_messages(markup: _Markup, field: FormField) -> None:
    path = f"this.generatedForm.{field.id}"
    markup.open("div", ng_if=f"{path}.$invalid && {path}.$dirty", class_="has-error")
    if field.type == "date":
        markup.text("div", "Required field", ng_show=f"{path}.$error.required && !{path}.$error.date",
                    class_="help-block")
        markup.text("div", f"Invalid date format: the date should have the pattern '{_DATE_PATTERN}'",
                    ng_show=f"{path}.$error.date", class_="help-block")
    else:
        markup.text("div", "Required field", ng_show=f"{path}.$error.required", class_="help-block")
        type_name = "string" if field.type == "enum" else field.type
        markup.text("div", f"Only a {type_name} value is allowed", ng_show=f"{path}.$error.camVariableType",
                    class_="help-block")
    markup.close("div")


def rendered_form(fields: Iterable[FormField]) -> str | None:
    """The fields as Camunda's generated HTML form; None for a form without fields, as Camunda's
    HtmlFormEngine answers."""
    fields = list(fields)
    if not fields:
        return None
    markup = _Markup()
    markup.open("form", name="generatedForm", role="form")
    for field in fields:
        markup.open("div", class_="form-group")
        # Text of the diagram is never compiled by the AngularJS of Camunda's Tasklist, which compiles
        # these forms: escaping stops markup, ng-non-bindable stops {{...}}.
        if field.label:
            markup.text("label", field.label, for_=field.id, ng_non_bindable="")
        if field.type == "enum":
            markup.open("select", **_control_attributes(field))
            for value, name in field.enum_values:
                markup.text("option", name or "", value=value, ng_non_bindable="")
            markup.close("select")
        elif field.type == "date":
            _date_picker(markup, field)
        else:
            markup.empty("input", **_control_attributes(field),
                         type="checkbox" if field.type == "boolean" else "text", value=field.default_value,
                         ng_non_bindable="" if field.default_value else None)
        _invalid_messages(markup, field)
        markup.close("div")
    markup.close("form")
    return "\n".join(markup.lines)


def rendered_form_answer(form: str | None, missing: str) -> Response:
    """Camunda's answer: the form as application/xhtml+xml, or 404 with `missing` for a form without fields."""
    if form is None:
        raise NotFoundByQuery(missing)
    return Response(form, media_type=XHTML, headers=_RENDERED_HEADERS)
