from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from app.access.accounts import Principal
from app.context import Services
from app.definitions import decisions
from app.rest.camunda import queries, render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, history_time_to_live, integer, query_dict, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, encode_variables

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/decision-definition", tags=["decision-definition"])

_LISTS = frozenset({"decisionDefinitionIdIn", "tenantIdIn"})
# How long the history of a decision's evaluations is kept is for administrators.
_UPDATE = role(permission="UPDATE", resource_type="DecisionDefinition")


def _query(p: dict[str, Any], services: Services) -> Select:
    zone = services.settings.zone
    ids = (text_list(p.get("decisionDefinitionIdIn"), "decisionDefinitionIdIn")
           or ([p["decisionDefinitionId"]] if text(p, "decisionDefinitionId") else []))
    narrowing = queries.definition_narrowing(p, zone, decisions.DECISION_SORTS,
                                             untenanted="includeDecisionDefinitionsWithoutTenantId", tag_absence=False)
    return decisions.definition_query(ids=ids, key=text(p, "key"), deployment_id=text(p, "deploymentId"),
                                      latest_version=flag(p.get("latestVersion"), "latestVersion"),
                                      version=integer(p.get("version"), "version"),
                                      requirements_id=text(p, "decisionRequirementsDefinitionId"),
                                      requirements_key=text(p, "decisionRequirementsDefinitionKey"),
                                      without_requirements=flag(p.get("withoutDecisionRequirementsDefinition"),
                                                                "withoutDecisionRequirementsDefinition"),
                                      narrowing=narrowing)


@router.get("")
def list_decision_definitions(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, _query(params, services), params, render.decision_definition)


@router.get("/count")
def count_decision_definitions(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS), services))


def _one(services: Services, **which: str) -> dict[str, Any]:
    return render.decision_definition(decisions.find_definition(services, **which))


def _xml(services: Services, **which: str) -> dict[str, Any]:
    row, xml = decisions.definition_with_xml(services, **which)
    return {"id": row.id, "dmnXml": xml}


async def _evaluate(services: Services, actor: Principal, body: dict[str, Any] | None,
                    **which: str) -> list[dict[str, Any]]:
    zone = services.settings.zone
    variables = decode_variables((body or {}).get("variables"), services.settings)
    _, evaluation = await run_in_threadpool(decisions.evaluate, services, variables, user_id=actor.user_id, **which)
    return [encode_variables(result, zone) for result in evaluation.results]


def _diagram(services: Services, **which: str) -> Response:
    """Camunda answers the decision's image deployed with it, else 204; deployments here take only
    BPMN and DMN files, so the answer is 204 once the definition is found (404 when unknown)."""
    decisions.find_definition(services, **which)
    return Response(status_code=204)


def _history_time_to_live(services: Services, actor: Principal, body: dict[str, Any] | None,
                          **which: str) -> Response:
    decisions.set_history_time_to_live(services, history_time_to_live(body), user_id=actor.user_id, **which)
    return Response(status_code=204)


@router.get("/key/{key}")
def decision_definition_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}")
def decision_definition_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, key=key, tenant_id=tenant_id)


@router.get("/key/{key}/xml")
def decision_xml_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/xml")
def decision_xml_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, key=key, tenant_id=tenant_id)


@router.get("/key/{key}/diagram", status_code=204, response_class=Response)
def decision_diagram_by_key(key: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/diagram", status_code=204, response_class=Response)
def decision_diagram_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key, tenant_id=tenant_id)


@router.post("/key/{key}/evaluate", summary="Evaluate the latest version of a decision (as Camunda answers: "
                                            "one map of typed outputs per matched rule)")
async def evaluate_by_key(key: str, services: ServicesDep, actor: PrincipalDep,
                          body: JsonBody = None) -> list[dict[str, Any]]:
    return await _evaluate(services, actor, body, key=key)


@router.post("/key/{key}/tenant-id/{tenant_id}/evaluate")
async def evaluate_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep, actor: PrincipalDep,
                                     body: JsonBody = None) -> list[dict[str, Any]]:
    return await _evaluate(services, actor, body, key=key, tenant_id=tenant_id)


@router.put("/key/{key}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_key(key: str, services: ServicesDep, actor: PrincipalDep,
                                body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, key=key)


@router.put("/key/{key}/tenant-id/{tenant_id}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep, actor: PrincipalDep,
                                           body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}")
def decision_definition_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, definition_id=definition_id)


@router.get("/{definition_id}/xml")
def decision_xml_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, definition_id=definition_id)


@router.get("/{definition_id}/diagram", status_code=204, response_class=Response)
def decision_diagram_by_id(definition_id: str, services: ServicesDep) -> Response:
    return _diagram(services, definition_id=definition_id)


@router.post("/{definition_id}/evaluate")
async def evaluate_by_id(definition_id: str, services: ServicesDep, actor: PrincipalDep,
                         body: JsonBody = None) -> list[dict[str, Any]]:
    return await _evaluate(services, actor, body, definition_id=definition_id)


@router.put("/{definition_id}/history-time-to-live", status_code=204, dependencies=[_UPDATE])
def history_time_to_live_by_id(definition_id: str, services: ServicesDep, actor: PrincipalDep,
                               body: JsonBody = None) -> Response:
    return _history_time_to_live(services, actor, body, definition_id=definition_id)
