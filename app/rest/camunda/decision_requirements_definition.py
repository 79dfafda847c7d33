"""Camunda's decision requirements definitions: a version of each deployed DMN file of several
decisions. Read by every signed-in account, as the decision definitions are."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.context import Services
from app.definitions import decisions
from app.rest.camunda import render
from app.rest.dependencies import ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/decision-requirements-definition",
                       tags=["decision-requirements-definition"])

_LISTS = frozenset({"decisionRequirementsDefinitionIdIn", "tenantIdIn"})


def _filter(p: dict[str, Any]) -> decisions.RequirementsFilter:
    ids = (text_list(p.get("decisionRequirementsDefinitionIdIn"), "decisionRequirementsDefinitionIdIn")
           or ([p["decisionRequirementsDefinitionId"]] if text(p, "decisionRequirementsDefinitionId") else []))
    return decisions.RequirementsFilter(
        ids=ids, category=text(p, "category"), category_like=text(p, "categoryLike"), name=text(p, "name"),
        name_like=text(p, "nameLike"), deployment_id=text(p, "deploymentId"), key=text(p, "key"),
        key_like=text(p, "keyLike"), resource_name=text(p, "resourceName"),
        resource_name_like=text(p, "resourceNameLike"), version=integer(p.get("version"), "version"),
        latest_version=flag(p.get("latestVersion"), "latestVersion"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        include_without_tenant_id=flag(p.get("includeDecisionRequirementsDefinitionsWithoutTenantId"),
                                       "includeDecisionRequirementsDefinitionsWithoutTenantId"),
        sort_desc=[(key, order == "desc") for key, order in sort_order(p, decisions.REQUIREMENTS_SORT)])


@router.get("")
def list_requirements(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return listed(services, decisions.requirements_query(_filter(params)), params,
                  render.decision_requirements_definition)


@router.get("/count")
def count_requirements(request: Request, services: ServicesDep) -> dict[str, int]:
    return counted(services, decisions.requirements_query(_filter(query_dict(request, _LISTS))))


def _one(services: Services, **which: str) -> dict[str, Any]:
    return render.decision_requirements_definition(decisions.find_requirements(services, **which))


def _xml(services: Services, **which: str) -> dict[str, Any]:
    row, xml = decisions.requirements_with_xml(services, **which)
    return {"id": row.id, "dmnXml": xml}


def _diagram(services: Services, **which: str) -> Response:
    """Camunda answers the image deployed with the file, else 204; deployments here take only BPMN and
    DMN files, so the answer is 204 once the definition is found (404 when unknown)."""
    decisions.find_requirements(services, **which)
    return Response(status_code=204)


@router.get("/key/{key}")
def requirements_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}")
def requirements_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, key=key, tenant_id=tenant_id)


@router.get("/key/{key}/xml")
def requirements_xml_by_key(key: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/xml")
def requirements_xml_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, key=key, tenant_id=tenant_id)


@router.get("/key/{key}/diagram", status_code=204, response_class=Response)
def requirements_diagram_by_key(key: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key)


@router.get("/key/{key}/tenant-id/{tenant_id}/diagram", status_code=204, response_class=Response)
def requirements_diagram_by_key_and_tenant(key: str, tenant_id: str, services: ServicesDep) -> Response:
    return _diagram(services, key=key, tenant_id=tenant_id)


@router.get("/{definition_id}")
def requirements_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _one(services, definition_id=definition_id)


@router.get("/{definition_id}/xml")
def requirements_xml_by_id(definition_id: str, services: ServicesDep) -> dict[str, Any]:
    return _xml(services, definition_id=definition_id)


@router.get("/{definition_id}/diagram", status_code=204, response_class=Response)
def requirements_diagram_by_id(definition_id: str, services: ServicesDep) -> Response:
    return _diagram(services, definition_id=definition_id)
