"""Regions (Camunda tenants): every case belongs to the region it concerns, and officials see the
cases of their region and of the regions below it.

Region codes nest by prefix: `xj` (Xinjiang) holds `xj-urumqi`, which holds `xj-urumqi-tianshan`; a
case without a region is national. A case's region is the tenant of its process definition when it
was deployed for one; otherwise the process's camunda:property `region`, a template over the start
variables (for example `${province}`); otherwise the region of whoever started it (the starting
case for one started by another). The core of the step asks the hooks in that order
(app.cases.instances). It is kept as the instance's `tenantId`, and its tasks and
history rows carry it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.access.regions import valid_code
from app.cases.hooks import StepHook
from app.engine import ProcessModel
from app.engine.expressions import ExpressionError, compile_template
from app.errors import InvalidProcessModel, InvalidRequest, ProcessExecutionFailed

REGION_PROPERTY = "region"


def check_process_properties(model: ProcessModel) -> None:
    template = model.properties.get(REGION_PROPERTY)
    if template is None:
        return
    try:
        compile_template(template)
    except ExpressionError as error:
        reason = f"the region property '{template}' is not a valid template: {error}"
        raise InvalidProcessModel(f"{model.resource_name}: process '{model.key}' {reason}",
                                  details={"resource": model.resource_name, "element": model.key,
                                           "reason": reason}) from None


def named_region(model: ProcessModel, variables: Mapping[str, Any]) -> str | None:
    """The region the process's `region` template names for a new case (None when it names none)."""
    template = model.properties.get(REGION_PROPERTY)
    if template is None:
        return None
    try:
        value = compile_template(template).evaluate(dict(variables), {})
        return valid_code(str(value) if value not in (None, "") else None)
    except (ExpressionError, InvalidRequest) as error:
        raise ProcessExecutionFailed(f"the region of a new '{model.key}' case cannot be told from "
                                     f"'{template}': {error}", details={"processDefinitionKey": model.key}) from None


class Regions(StepHook):
    """A process's camunda:property `region` (a template over the start variables) names the region of
    each new case."""

    def check_model(self, model: ProcessModel) -> None:
        check_process_properties(model)

    def region_of(self, model: ProcessModel, variables: Mapping[str, Any]) -> str | None:
        return named_region(model, variables)
