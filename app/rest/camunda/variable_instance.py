"""Variable instances, runtime (`/variable-instance`: running instances) and historic
(`/history/variable-instance`: instances in any state, an ended one with the values it ended with).

Only process-level variables exist, so every variable's execution and activity instance is its
process instance. Variables are read from the instances' saved states (see
app.cases.variable_instances), which costs one state load per instance looked at, so:
* a list without `maxResults` answers a page of PAGE_SIZE_DEFAULT variables (ask for the next page
  with `firstResult`), and stops reading states once the page is full;
* a count reads the state of every matching instance: narrow it with processInstanceId(In) or
  processDefinitionKey/Id where there are many instances.
`deserializeValues` is accepted and has no effect: Json values are always answered as JSON text.
A variable's id is its instance's id and its name (`{instance id}:{base64url name}`), so that
`GET .../{id}` reads one state only.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.audit import removal
from app.cases import history, variable_instances
from app.cases.instances import ACTIVE
from app.cases.variable_instances import VariableFilter, VariableRow
from app.context import Services
from app.errors import InvalidRequest
from app.rest.binary import DATA_RESPONSES, data_response
from app.rest.camunda import render
from app.rest.camunda.queries import conditions_of
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import page_bounds
from app.rest.params import flag, query_dict, sort_order, text, text_list, variable_conditions
from app.rest.routing import ServiceRouter
from app.rest.variables import value_type

router = ServiceRouter(prefix="/engine-rest", tags=["variable-instance"])

_LISTS = frozenset({"processInstanceIdIn", "variableNameIn", "processDefinitionKeyIn", "executionIdIn",
                    "activityInstanceIdIn", "variableScopeIdIn", "tenantIdIn", "taskIdIn", "variableTypeIn"})


# Camunda's sort keys of the two queries.
_SORTS = {True: ("variableName", "variableType", "activityInstanceId", "tenantId"),
          False: ("instanceId", "variableName", "tenantId")}


def _filter(p: dict[str, Any], reader: Principal, *, running_only: bool) -> VariableFilter:
    refuse_unread(p, "variable-instance" if running_only else "history/variable-instance")
    if sort_order(p, _SORTS[running_only]):
        # Variables are read from each case's saved state, case by case: a sort over all of them
        # would hold every matching variable at once.
        raise InvalidRequest("Variable instances are listed case by case, each case's by name; sortBy is not "
                             "supported here")
    # A variable listed here is its case's: its execution, activity instance and scope are the case.
    cases = [ids for ids in (text_list(p.get(name), name) for name in (
        "processInstanceIdIn", "executionIdIn", "activityInstanceIdIn", "variableScopeIdIn")) if ids]
    others = [set(ids) for ids in cases[1:]]
    common = [case for case in cases[0] if all(case in ids for ids in others)] if cases else []
    values = variable_conditions(p.get("variableValues"), "variableValues")
    name, value = text(p, "variableName"), p.get("variableValue")
    if not running_only and value is not None:  # the historic query's one value, of variableName
        if name is None:
            raise InvalidRequest("variableValue needs a variableName")
        values = [*values, *variable_conditions([{"name": name, "operator": "eq", "value": value}], "variableValue")]
    return VariableFilter(
        reader=reader,
        instances=history.InstanceFilter(
            process_instance_id=text(p, "processInstanceId"), process_instance_ids=common,
            definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"),
            definition_key_in=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
            tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
            further=history.HistoricNarrowing(without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId")),
            state=ACTIVE if running_only else None, viewer=reader),
        name=name, names=text_list(p.get("variableNameIn"), "variableNameIn"), name_like=text(p, "variableNameLike"),
        values=conditions_of(p, values),
        # The case's ids in common came out empty, or a task's own variables were asked for.
        nothing=(bool(cases) and not common) or bool(text_list(p.get("taskIdIn"), "taskIdIn")),
        of_type=None if running_only else _of_types(text_list(p.get("variableTypeIn"), "variableTypeIn")))


def _of_types(types: list[str]) -> Callable[[Any], bool] | None:
    """The historic query's variableTypeIn: Camunda's type names, in any case (`string`, `Json`)."""
    wanted = {kind.lower() for kind in types}
    return (lambda value: value_type(value).lower() in wanted) if wanted else None


def _routes(path: str, running_only: bool, render_row: Callable[[VariableRow, Any], dict[str, Any]],
            summary: str) -> None:
    """The list and count endpoints of one of the two variable queries (they differ only in scope and shape)."""

    def answer(services: Services, reader: Principal, params: dict[str, Any], paging: dict[str, Any]
               ) -> list[dict[str, Any]]:
        first, most = page_bounds(paging, services.settings)
        rows = variable_instances.variable_rows(services, _filter(params, reader, running_only=running_only),
                                                first, most)
        zone = services.settings.zone
        return [render_row(row, zone) for row in rows]

    def count(services: Services, reader: Principal, params: dict[str, Any]) -> dict[str, int]:
        return {"count": variable_instances.count_variables(services, _filter(params, reader,
                                                                              running_only=running_only))}

    def list_by_query(request: Request, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
        params = query_dict(request, _LISTS)
        return answer(services, reader, params, params)

    def list_by_body(request: Request, services: ServicesDep, reader: PrincipalDep,
                     body: JsonBody = None) -> list[dict[str, Any]]:
        return answer(services, reader, body or {}, query_dict(request))

    def count_by_query(request: Request, services: ServicesDep, reader: PrincipalDep) -> dict[str, int]:
        return count(services, reader, query_dict(request, _LISTS))

    def count_by_body(services: ServicesDep, reader: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
        return count(services, reader, body or {})

    router.add_api_route(path, list_by_query, methods=["GET"], summary=summary)
    router.add_api_route(path, list_by_body, methods=["POST"], summary=summary)
    router.add_api_route(f"{path}/count", count_by_query, methods=["GET"])
    router.add_api_route(f"{path}/count", count_by_body, methods=["POST"])

    def one(variable_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
        row = variable_instances.variable_by_id(services, variable_id, reader, running_only=running_only)
        return render_row(row, services.settings.zone)

    router.add_api_route(f"{path}/{{variable_id}}", one, methods=["GET"])

    def data(variable_id: str, services: ServicesDep, reader: PrincipalDep) -> Response:
        row = variable_instances.variable_by_id(services, variable_id, reader, running_only=running_only)
        return data_response(services, row.value, variable_id)

    router.add_api_route(f"{path}/{{variable_id}}/data", data, methods=["GET"], response_class=Response,
                         responses=DATA_RESPONSES, summary="The content of a Bytes or File variable")


_routes("/variable-instance", True, render.variable_instance, "Variables of running instances, one row per variable")
_routes("/history/variable-instance", False, render.historic_variable_instance,
        "Variables of instances in any state, one row per variable")


@router.delete("/history/variable-instance/{variable_id}", status_code=204,
               dependencies=[role(permission="DELETE_HISTORY", resource_type="ProcessDefinition")],
               summary="Refused with the reason: the variables are part of the chained history (404 for an unknown "
                       "variable, as Camunda)")
def delete_historic_variable(variable_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    removal.refuse_variable_deletion(services, variable_id, actor=actor)
