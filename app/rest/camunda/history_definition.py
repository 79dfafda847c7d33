"""Camunda's historic process definition reports (`/history/process-definition/...`): what the
history cleanup may delete per process definition, and where a definition's instances went
(app.cases.history_statistics)."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.access.accounts import Principal
from app.cases import history_statistics
from app.rest.dependencies import PrincipalDep, ServicesDep
from app.rest.listing import page_bounds
from app.rest.params import flag, query_dict, sort_order, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

router = ServiceRouter(prefix="/engine-rest/history/process-definition", tags=["history"])

_REPORT_LISTS = frozenset({"processDefinitionIdIn", "processDefinitionKeyIn", "tenantIdIn"})


def _criteria(request: Request, viewer: Principal) -> tuple[history_statistics.CleanableCriteria, dict[str, Any]]:
    p = query_dict(request, _REPORT_LISTS)
    sorting = sort_order(p, ("finished",))
    return history_statistics.CleanableCriteria(
        viewer=viewer, definition_ids=text_list(p.get("processDefinitionIdIn"), "processDefinitionIdIn"),
        definition_keys=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"), compact=flag(p.get("compact"), "compact"),
        finished_desc=sorting[-1][1] == "desc" if sorting else None), p


@router.get("/cleanable-process-instance-report",
            summary="Per process definition: its ended cases, those whose historyTimeToLive has passed (what the "
                    "history cleanup deletes), and the time to live")
def cleanable_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    criteria, p = _criteria(request, viewer)
    first, most = page_bounds(p, services.settings)
    return [{"processDefinitionId": row.definition.id, "processDefinitionKey": row.definition.key,
             "processDefinitionName": row.definition.name, "processDefinitionVersion": row.definition.version,
             "historyTimeToLive": row.definition.history_time_to_live, "finishedProcessInstanceCount": row.finished,
             "cleanableProcessInstanceCount": row.cleanable, "tenantId": row.definition.tenant_id}
            for row in history_statistics.cleanable_report(services, criteria, first, most)]


@router.get("/cleanable-process-instance-report/count")
def count_cleanable_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return {"count": history_statistics.count_cleanable_report(services, _criteria(request, viewer)[0])}


@router.get("/{definition_id}/statistics",
            summary="Per activity of the definition: running instances, and with the flags finished, canceled, "
                    "scope-completing instances and incidents (open, resolved, deleted)")
def activity_statistics(definition_id: str, request: Request, services: ServicesDep,
                        viewer: PrincipalDep) -> list[dict[str, Any]]:
    p, zone = query_dict(request, frozenset({"processInstanceIdIn"})), services.settings.zone
    sorting = sort_order(p, ("activityId",))
    criteria = history_statistics.ActivityCriteria(
        viewer=viewer, finished=flag(p.get("finished"), "finished"), canceled=flag(p.get("canceled"), "canceled"),
        complete_scope=flag(p.get("completeScope"), "completeScope"), incidents=flag(p.get("incidents"), "incidents"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone),
        finished_before=optional_instant(p, "finishedBefore", zone),
        finished_after=optional_instant(p, "finishedAfter", zone),
        instance_ids=text_list(p.get("processInstanceIdIn"), "processInstanceIdIn"),
        descending=bool(sorting) and sorting[-1][1] == "desc")
    return [{"id": row.activity_id, "instances": row.instances, "canceled": row.canceled, "finished": row.finished,
             "completeScope": row.complete_scope, "openIncidents": row.open_incidents,
             "resolvedIncidents": row.resolved_incidents, "deletedIncidents": row.deleted_incidents}
            for row in history_statistics.activity_statistics(services, definition_id, criteria)]
