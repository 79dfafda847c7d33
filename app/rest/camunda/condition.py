"""Camunda's POST /condition: evaluate the conditional start events and start where they hold."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.cases import conditions
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.params import flag, text
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables

router = ServiceRouter(prefix="/engine-rest", tags=["condition"])


@router.post("/condition", summary="Start an instance at each conditional start event whose condition holds for "
             "the variables given (none holding starts nothing)")
def evaluate_condition(request: Request, services: ServicesDep, actor: PrincipalDep,
                       body: JsonBody = None) -> list[dict[str, Any]]:
    body = body or {}
    started = conditions.evaluate_start_conditions(
        services, variables=decode_variables(body.get("variables"), services.settings),
        business_key=text(body, "businessKey"), definition_id=text(body, "processDefinitionId"),
        tenant_id=text(body, "tenantId"), without_tenant=flag(body.get("withoutTenantId"), "withoutTenantId"),
        actor=actor)
    return [render.instance(request, row) for row in started]
