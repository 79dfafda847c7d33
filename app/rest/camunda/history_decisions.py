"""Camunda's history of decisions: the historic decision instances (every recorded evaluation, of a
case's business rule task or stand-alone), the cleanable decision instance report and the
evaluations per decision of a decision requirements definition (app.cases.decision_history)."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.cases import decision_history
from app.context import Services
from app.errors import BadUserRequest
from app.rest.camunda import render
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import page_bounds
from app.rest.params import flag, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

router = ServiceRouter(prefix="/engine-rest/history", tags=["history"])
_DELETE_HISTORY = role(permission="DELETE_HISTORY", resource_type="DecisionDefinition")

_LISTS = frozenset({"decisionInstanceIdIn", "decisionDefinitionIdIn", "decisionDefinitionKeyIn", "activityIdIn",
                    "activityInstanceIdIn", "tenantIdIn"})


def _filter(p: dict[str, Any], services: Services, viewer: Principal) -> decision_history.DecisionInstanceFilter:
    refuse_unread(p, "history/decision-instance")
    zone = services.settings.zone
    return decision_history.DecisionInstanceFilter(
        viewer=viewer, id=text(p, "decisionInstanceId"),
        ids=text_list(p.get("decisionInstanceIdIn"), "decisionInstanceIdIn"),
        definition_id=text(p, "decisionDefinitionId"),
        definition_ids=text_list(p.get("decisionDefinitionIdIn"), "decisionDefinitionIdIn"),
        definition_key=text(p, "decisionDefinitionKey"),
        definition_keys=text_list(p.get("decisionDefinitionKeyIn"), "decisionDefinitionKeyIn"),
        definition_name=text(p, "decisionDefinitionName"),
        definition_name_like=text(p, "decisionDefinitionNameLike"),
        process_definition_id=text(p, "processDefinitionId"), process_definition_key=text(p, "processDefinitionKey"),
        process_instance_id=text(p, "processInstanceId"),
        activity_ids=text_list(p.get("activityIdIn"), "activityIdIn"),
        activity_instance_ids=text_list(p.get("activityInstanceIdIn"), "activityInstanceIdIn"),
        evaluated_before=optional_instant(p, "evaluatedBefore", zone),
        evaluated_after=optional_instant(p, "evaluatedAfter", zone), user_id=text(p, "userId"),
        root_decision_instance_id=text(p, "rootDecisionInstanceId"),
        requirements_id=text(p, "decisionRequirementsDefinitionId"),
        requirements_key=text(p, "decisionRequirementsDefinitionKey"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        sort_desc=[(key, order == "desc") for key, order in sort_order(p, decision_history.SORT_KEYS)])


@router.get("/decision-instance", summary="Every recorded evaluation of a decision the caller may read: a case's "
                                          "business rule tasks, and stand-alone evaluations")
def list_decision_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    p = query_dict(request, _LISTS)
    first, most = page_bounds(p, services.settings)
    zone = services.settings.zone
    # Every instance is its own root here (no required decisions): rootDecisionInstancesOnly keeps all.
    flag(p.get("rootDecisionInstancesOnly"), "rootDecisionInstancesOnly")
    found = decision_history.decision_instances(
        services, _filter(p, services, viewer), first, most,
        include_inputs=flag(p.get("includeInputs"), "includeInputs"),
        include_outputs=flag(p.get("includeOutputs"), "includeOutputs"))
    return [render.historic_decision_instance(row, zone) for row in found]


@router.get("/decision-instance/count")
def count_decision_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    p = query_dict(request, _LISTS)
    flag(p.get("rootDecisionInstancesOnly"), "rootDecisionInstancesOnly")
    return {"count": decision_history.count_decision_instances(services, _filter(p, services, viewer))}


@router.get("/decision-instance/{instance_id}")
def decision_instance(instance_id: str, request: Request, services: ServicesDep,
                      viewer: PrincipalDep) -> dict[str, Any]:
    p = query_dict(request)
    row = decision_history.decision_instance(services, instance_id, viewer,
                                             include_inputs=flag(p.get("includeInputs"), "includeInputs"),
                                             include_outputs=flag(p.get("includeOutputs"), "includeOutputs"))
    return render.historic_decision_instance(row, services.settings.zone)


_REPORT_LISTS = frozenset({"decisionDefinitionIdIn", "decisionDefinitionKeyIn", "tenantIdIn"})


def _report_filter(p: dict[str, Any], viewer: Principal) -> decision_history.CleanableFilter:
    return decision_history.CleanableFilter(
        viewer=viewer, definition_ids=text_list(p.get("decisionDefinitionIdIn"), "decisionDefinitionIdIn"),
        definition_keys=text_list(p.get("decisionDefinitionKeyIn"), "decisionDefinitionKeyIn"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        compact=flag(p.get("compact"), "compact"),
        sort_desc=[(key, order == "desc") for key, order in sort_order(p, ("finished",))])


@router.get("/decision-definition/cleanable-decision-instance-report",
            summary="Per decision version: its evaluations, and those the history deletion would remove now")
def cleanable_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    p = query_dict(request, _REPORT_LISTS)
    first, most = page_bounds(p, services.settings)
    return [render.cleanable_decisions(row)
            for row in decision_history.cleanable_report(services, _report_filter(p, viewer), first, most)]


@router.get("/decision-definition/cleanable-decision-instance-report/count")
def count_cleanable_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    p = query_dict(request, _REPORT_LISTS)
    return {"count": decision_history.count_cleanable_report(services, _report_filter(p, viewer))}


@router.get("/decision-requirements-definition/{definition_id}/statistics",
            summary="Evaluations per decision of a decision requirements definition")
def requirements_statistics(definition_id: str, request: Request, services: ServicesDep,
                            viewer: PrincipalDep) -> list[dict[str, Any]]:
    instance_id = text(query_dict(request), "decisionInstanceId")
    return [{"decisionDefinitionKey": key, "evaluations": count}
            for key, count in decision_history.requirements_statistics(services, definition_id, viewer, instance_id)]


@router.post("/decision-instance/delete", dependencies=[_DELETE_HISTORY],
             summary="Refused: an evaluation is an event of a chained history and goes only with it")
def delete_decision_instances(body: JsonBody = None) -> Response:
    raise BadUserRequest(
        "Historic decision instances are not deleted one by one here: a business rule task's evaluation is an event "
        "of its case's chained history, which cannot lose an event and still verify, and goes with that history "
        "(DELETE /history/process-instance/{id} once its retention has passed); a stand-alone evaluation is kept "
        "in the administrative history, which keeps every entry")


@router.post("/decision-instance/set-removal-time", dependencies=[_DELETE_HISTORY],
             summary="Refused: an evaluation is kept as long as the history it belongs to")
def set_decision_removal_time(body: JsonBody = None) -> Response:
    raise BadUserRequest(
        "Removal times are not set here: a business rule task's evaluation is kept with its case's history, for the "
        "historyTimeToLive of its process version after the case ended, and a stand-alone evaluation with the "
        "administrative history; no cleanup job removes evaluations by a removal time")

