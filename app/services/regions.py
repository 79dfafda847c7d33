"""Regions (Camunda tenants): every case belongs to the region it concerns, and officials see the
cases of their region and of the regions below it.

Region codes nest by prefix: `xj` (Xinjiang) holds `xj-urumqi`, which holds `xj-urumqi-tianshan`; a
case without a region is national. A case's region is the tenant of its process definition when it
was deployed for one; otherwise the process's camunda:property `region`, a template over the start
variables (for example `${province}`); otherwise the region of whoever started it (the starting
case for one started by another). It is kept as the instance's `tenantId`, and its tasks and
history rows carry it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.engine import ProcessModel
from app.engine.expressions import ExpressionError, compile_template
from app.errors import InvalidProcessModel, InvalidRequest, ProcessExecutionFailed

REGION_PROPERTY = "region"
_CODE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def valid_code(region: str | None, what: str = "region") -> str | None:
    if region is None or region == "":
        return None
    if not isinstance(region, str) or len(region) > 64 or not _CODE.match(region):
        raise InvalidRequest(f"'{what}' must be a region code such as xj or xj-urumqi (lower-case letters, "
                             f"digits and '-'), not {region!r}")
    return region


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


def region_of(model: ProcessModel, tenant_id: str | None, variables: Mapping[str, Any],
              starter_region: str | None) -> str | None:
    """The region a new case of the model belongs to."""
    if tenant_id:
        return tenant_id
    template = model.properties.get(REGION_PROPERTY)
    if template is None:
        return starter_region
    try:
        value = compile_template(template).evaluate(dict(variables), {})
        return valid_code(str(value) if value not in (None, "") else None)
    except (ExpressionError, InvalidRequest) as error:
        raise ProcessExecutionFailed(f"the region of a new '{model.key}' case cannot be told from "
                                     f"'{template}': {error}", details={"processDefinitionKey": model.key}) from None
