"""Messages and signals from the systems around the service (an objection during publicity, a report
of a pollution incident), with Camunda's answers: 204, or 200 with the results when asked."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from app.access.permissions import SYSTEMS
from app.cases import events
from app.context import Services
from app.errors import InvalidRequest
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.params import flag
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, encode_variables

router = ServiceRouter(prefix="/engine-rest", tags=["message"])
# Messages and signals come from the e-government systems.
_SENDER = role(SYSTEMS, permission="CREATE", resource_type="Message")


def _text(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"'{name}' must be a string")
    return value


@router.post("/message",
             dependencies=[_SENDER],
             summary="Correlate a message to the one instance waiting for it (or all, or a start)")
def correlate(request: Request, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    for unsupported in ("localCorrelationKeys", "processVariablesLocal"):
        if body.get(unsupported):
            raise InvalidRequest(f"'{unsupported}' is not supported: correlate with correlationKeys and "
                                 "processVariables")
    deliveries = events.correlate_message(
        services, name=_text(body, "messageName"), business_key=_text(body, "businessKey"),
        instance_id=_text(body, "processInstanceId"),
        correlation_keys=decode_variables(body.get("correlationKeys"), services.settings),
        variables=decode_variables(body.get("processVariables"), services.settings),
        all_matches=flag(body.get("all"), "all"), tenant_id=_text(body, "tenantId"), actor=actor)
    if not flag(body.get("resultEnabled"), "resultEnabled"):
        return Response(status_code=204)
    with_variables = flag(body.get("variablesInResultEnabled"), "variablesInResultEnabled")
    return JSONResponse([_result(request, delivery, with_variables, services) for delivery in deliveries])


def _result(request: Request, delivery: events.Delivery, with_variables: bool, services: Services) -> dict:
    zone = services.settings.zone
    execution = process_instance = None
    if delivery.result_type == "Execution":
        execution = {"id": delivery.execution_id, "processInstanceId": delivery.instance.id,
                     "ended": delivery.ended, "tenantId": delivery.instance.tenant_id}
    else:
        process_instance = render.instance(request, delivery.instance)
    result = {"resultType": delivery.result_type, "execution": execution, "processInstance": process_instance}
    if with_variables:  # as in Camunda, the key is there only when asked for (pycamunda reads it whenever present)
        result["variables"] = encode_variables(delivery.variables, zone)
    return result


@router.post("/signal",
             dependencies=[_SENDER], status_code=204,
             summary="Deliver a signal to every instance and start event waiting for it")
def signal(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    events.throw_signal(services, name=_text(body, "name"),
                        variables=decode_variables(body.get("variables"), services.settings),
                        execution_id=_text(body, "executionId"), tenant_id=_text(body, "tenantId"), actor=actor)
    return Response(status_code=204)
