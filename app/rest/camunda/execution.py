"""Executions, as far as the service has them: each running instance and each token waiting for
something from outside. POST /execution/{id}/signal moves on a receive task without a message."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from app.access.accounts import Principal
from app.access.permissions import SYSTEMS
from app.cases import event_subscriptions, events, executions, incidents, listing
from app.context import Services
from app.errors import NotFound
from app.rest.binary import DATA_RESPONSES, named_data, uploaded
from app.rest.camunda import queries, render
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import query_dict, sort_order, suspension_state, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import (
    decode_value,
    decode_variables,
    encode_named,
    encode_variables,
    modifications_and_deletions,
)

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/execution", tags=["execution"])
# Moving a waiting token on is what the systems around the service do, as they send messages.
_TRIGGER = role(SYSTEMS, permission="UPDATE", resource_type="ProcessInstance")
# Setting an execution's variables is setting the case's, as PUT /process-instance/{id}/variables.
_ADMINISTER = role(permission="UPDATE", resource_type="ProcessInstance")
_LISTS = frozenset({"tenantIdIn"})


def _query(p: dict[str, Any], viewer: Principal, execution_id: str | None = None) -> Select:
    refuse_unread(p, "execution")
    return executions.execution_query(
        execution_id=execution_id, instance_id=text(p, "processInstanceId"), business_key=text(p, "businessKey"),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"),
        activity_id=text(p, "activityId"), signal_name=text(p, "signalEventSubscriptionName"),
        message_name=text(p, "messageEventSubscriptionName"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"), viewer=viewer, suspended=suspension_state(p),
        sorting=[(key, order == "desc") for key, order in sort_order(p, executions.EXECUTION_SORTS)])


def _render(row: Any) -> dict[str, Any]:
    return {"id": row.id, "processInstanceId": row.process_instance_id, "ended": False, "tenantId": row.tenant_id}


def _kept(p: dict[str, Any], services: Services, viewer: Principal) -> listing.Keep | None:
    """Camunda's variable filters of executions: `processVariables` of the execution's case; `variables`
    its own, which only a case's root execution has here (it holds the case's variables)."""
    of_case = queries.variables_kept(p, "processVariables", services, viewer, lambda row: row.process_instance_id)
    own = queries.variables_kept(p, "variables", services, viewer,
                                 lambda row: row.process_instance_id if row.id == row.process_instance_id else None)
    return listing.joined([of_case, own])


def _list(services: Services, viewer: Principal, params: dict[str, Any]) -> list[dict[str, Any]]:
    return listed(services, _query(params, viewer), params, _render, _kept(params, services, viewer))


@router.get("", summary="Running instances and the tokens that wait in them for something from outside")
def list_executions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    return _list(services, viewer, query_dict(request, _LISTS))


@router.post("")
def query_executions(request: Request, services: ServicesDep, viewer: PrincipalDep,
                     body: JsonBody = None) -> list[dict[str, Any]]:
    return _list(services, viewer, {**(body or {}), **query_dict(request)})


@router.get("/count")
def count_executions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    params = query_dict(request, _LISTS)
    return counted(services, _query(params, viewer), _kept(params, services, viewer))


@router.post("/count")
def count_executions_by_body(request: Request, services: ServicesDep, viewer: PrincipalDep,
                             body: JsonBody = None) -> dict[str, int]:
    params = {**(body or {}), **query_dict(request)}
    return counted(services, _query(params, viewer), _kept(params, services, viewer))


@router.get("/{execution_id}")
def get_execution(execution_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    found = listed(services, _query({}, viewer, execution_id), {"maxResults": 1}, _render)
    if not found:
        raise NotFound(f"Execution with id {execution_id} does not exist")
    return found[0]


@router.get("/{execution_id}/messageSubscriptions/{message_name}",
            summary="The message a waiting token waits for by that name")
def message_subscription(execution_id: str, message_name: str, services: ServicesDep,
                         viewer: PrincipalDep) -> dict[str, Any]:
    row = event_subscriptions.message_subscription(services, execution_id, message_name, viewer)
    return render.event_subscription(row, services.settings.zone)


@router.post("/{execution_id}/signal", dependencies=[_TRIGGER], status_code=204,
             summary="Trigger the receive task (without a message) that waits in the execution")
def trigger(execution_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    events.trigger_execution(services, execution_id=execution_id,
                             variables=decode_variables(body.get("variables"), services.settings), actor=actor)
    return Response(status_code=204)


@router.post("/{execution_id}/messageSubscriptions/{message_name}/trigger", dependencies=[_TRIGGER],
             status_code=204, summary="Deliver the message to exactly the token of this execution that waits for it, "
                                      "with the variables")
def trigger_message(execution_id: str, message_name: str, services: ServicesDep, actor: PrincipalDep,
                    body: JsonBody = None) -> Response:
    events.trigger_message(services, execution_id=execution_id, message_name=message_name,
                           variables=decode_variables((body or {}).get("variables"), services.settings), actor=actor)
    return Response(status_code=204)


@router.post("/{execution_id}/create-incident", dependencies=[_TRIGGER],
             summary="Raise an incident of your own type on the execution (its instance's or a waiting token's); "
                     "it shows in /incident and /history/incident and is resolved by DELETE /incident/{id}")
def create_incident(execution_id: str, services: ServicesDep, actor: PrincipalDep,
                    body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    created = incidents.create(services, execution_id, body.get("incidentType"), body.get("configuration"),
                               body.get("message"), actor=actor)
    return render.incident(created, services.settings.zone)


@router.get("/{execution_id}/localVariables", summary="The variables of the instance's execution (the case's)")
def execution_variables(execution_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(executions.execution_variables(services, execution_id, reader), services.settings.zone)


@router.post("/{execution_id}/localVariables", status_code=204, dependencies=[_ADMINISTER])
def modify_execution_variables(execution_id: str, services: ServicesDep, actor: PrincipalDep,
                               body: JsonBody = None) -> Response:
    modifications, deletions = modifications_and_deletions(body, services.settings)
    executions.modify_execution_variables(services, execution_id, modifications=modifications, deletions=deletions,
                                          actor=actor)
    return Response(status_code=204)


@router.get("/{execution_id}/localVariables/{name}")
def execution_variable(execution_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    values = executions.execution_variables(services, execution_id, reader)
    return encode_named(values, name, "execution", services.settings.zone)


@router.get("/{execution_id}/localVariables/{name}/data", response_class=Response, responses=DATA_RESPONSES,
            summary="The content of a Bytes or File variable of the execution (the case's)")
def execution_variable_data(execution_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    return named_data(services, executions.execution_variables(services, execution_id, reader), name, "execution",
                      execution_id)


@router.post("/{execution_id}/localVariables/{name}/data", status_code=204, dependencies=[_ADMINISTER],
             summary="Set a Bytes or File variable of the execution (multipart: data, valueType)")
async def post_execution_variable_data(execution_id: str, name: str, request: Request, services: ServicesDep,
                                       actor: PrincipalDep) -> Response:
    value = await uploaded(request, name, services)
    await run_in_threadpool(executions.modify_execution_variables, services, execution_id,
                            modifications={name: value}, deletions=(), actor=actor)
    return Response(status_code=204)


@router.put("/{execution_id}/localVariables/{name}", status_code=204, dependencies=[_ADMINISTER])
def put_execution_variable(execution_id: str, name: str, services: ServicesDep, actor: PrincipalDep,
                           body: JsonBody = None) -> Response:
    value = decode_value(name, body or {}, services.settings)
    executions.modify_execution_variables(services, execution_id, modifications={name: value}, deletions=(),
                                          actor=actor)
    return Response(status_code=204)


@router.delete("/{execution_id}/localVariables/{name}", status_code=204, dependencies=[_ADMINISTER])
def delete_execution_variable(execution_id: str, name: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    executions.modify_execution_variables(services, execution_id, modifications={}, deletions=(name,), actor=actor)
    return Response(status_code=204)
