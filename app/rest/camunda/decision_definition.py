from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from app.context import Services
from app.definitions import decisions
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, encode_variables

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/decision-definition", tags=["decision-definition"])

_LISTS = frozenset({"decisionDefinitionIdIn"})


def _query(p: dict[str, Any]) -> Select:
    ids = (text_list(p.get("decisionDefinitionIdIn"), "decisionDefinitionIdIn")
           or ([p["decisionDefinitionId"]] if text(p, "decisionDefinitionId") else []))
    return decisions.definition_query(ids=ids, key=text(p, "key"), deployment_id=text(p, "deploymentId"),
                                      latest_version=flag(p.get("latestVersion"), "latestVersion"),
                                      version=integer(p.get("version"), "version"))


@router.get("")
def list_decision_definitions(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, _query(params), params, render.decision_definition)


@router.get("/count")
def count_decision_definitions(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS)))


def _one(services: Services, **which: str) -> dict[str, Any]:
    return render.decision_definition(decisions.find_definition(services, **which))


def _xml(services: Services, **which: str) -> dict[str, Any]:
    row, xml = decisions.definition_with_xml(services, **which)
    return {"id": row.id, "dmnXml": xml}


async def _evaluate(services: Services, body: dict[str, Any] | None, **which: str) -> list[dict[str, Any]]:
    zone = services.settings.zone
    variables = decode_variables((body or {}).get("variables"), services.settings)
    _, evaluation = await run_in_threadpool(decisions.evaluate, services, variables, **which)
    return [encode_variables(result, zone) for result in evaluation.results]


@router.get("/key/{key}")
def decision_definition_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, key=key)


@router.get("/key/{key}/xml")
def decision_xml_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, key=key)


@router.post("/key/{key}/evaluate", summary="Evaluate the latest version of a decision (as Camunda answers: "
                                            "one map of typed outputs per matched rule)")
async def evaluate_by_key(key: str, services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    return await _evaluate(services, body, key=key)


@router.get("/{definition_id}")
def decision_definition_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, definition_id=definition_id)


@router.get("/{definition_id}/xml")
def decision_xml_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, definition_id=definition_id)


@router.post("/{definition_id}/evaluate")
async def evaluate_by_id(definition_id: str, services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    return await _evaluate(services, body, definition_id=definition_id)



# Camunda answers the decision's image deployed with it, else 204; deployments here take only BPMN and
# DMN files, so the answer is 204 once the definition is found (404 when unknown).
@router.get("/key/{key}/diagram", status_code=204, response_class=Response)
def decision_diagram_by_key(key: str, services: ServicesDep) -> Response:
    decisions.find_definition(services, key=key)
    return Response(status_code=204)


@router.get("/{definition_id}/diagram", status_code=204, response_class=Response)
def decision_diagram_by_id(definition_id: str, services: ServicesDep) -> Response:
    decisions.find_definition(services, definition_id=definition_id)
    return Response(status_code=204)
