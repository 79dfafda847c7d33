"""Incidents (external tasks that ran out of retries) as Camunda's /incident and /history/incident
show them, and what operators do with them: annotate; resolving by hand is refused as Camunda
refuses it for this type (new retries resolve it)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.cases import external_tasks, incidents
from app.context import Services
from app.rest.camunda import render
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

router = ServiceRouter(prefix="/engine-rest", tags=["incident"])


_LISTS = frozenset({"processDefinitionKeyIn", "tenantIdIn", "jobDefinitionIdIn"})


def _narrowing(p: dict[str, Any], services: Services, sorts: Iterable[str], *,
               created: tuple[str, str] | None = None) -> external_tasks.IncidentNarrowing:
    zone = services.settings.zone
    return external_tasks.IncidentNarrowing(
        definition_keys=tuple(text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn")),
        tenant_ids=tuple(text_list(p.get("tenantIdIn"), "tenantIdIn")),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        job_definition_ids=tuple(text_list(p.get("jobDefinitionIdIn"), "jobDefinitionIdIn")),
        message_like=text(p, "incidentMessageLike"),
        created_before=optional_instant(p, created[0], zone) if created else None,
        created_after=optional_instant(p, created[1], zone) if created else None,
        sorting=tuple((key, order == "desc") for key, order in sort_order(p, sorts)))


def _runtime(params: dict[str, Any], services: Services, viewer: Principal) -> Any:
    narrowing = _narrowing(params, services, external_tasks.INCIDENT_SORTS,
                           created=("incidentTimestampBefore", "incidentTimestampAfter"))
    return external_tasks.incident_query(params, viewer=viewer, narrowing=narrowing)


@router.get("/incident")
def list_incidents(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, _runtime(params, services, viewer), params, lambda row: render.incident(row, zone))


@router.get("/incident/count")
def count_incidents(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _runtime(query_dict(request, _LISTS), services, viewer))


@router.get("/incident/{incident_id}")
def get_incident(incident_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.incident(external_tasks.readable_incident(services, incident_id, viewer), services.settings.zone)


@router.delete("/incident/{incident_id}", status_code=204)
def resolve_incident(incident_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    incidents.resolve(services, incident_id, actor=actor)
    return Response(status_code=204)


@router.put("/incident/{incident_id}/annotation", status_code=204)
def annotate_incident(incident_id: str, services: ServicesDep, actor: PrincipalDep,
                      body: JsonBody = None) -> Response:
    incidents.annotate(services, incident_id, (body or {}).get("annotation"), actor=actor)
    return Response(status_code=204)


@router.delete("/incident/{incident_id}/annotation", status_code=204)
def clear_annotation(incident_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    incidents.annotate(services, incident_id, None, actor=actor)
    return Response(status_code=204)


def _history(params: dict[str, Any], services: Services, viewer: Principal) -> Any:
    refuse_unread(params, "history/incident")
    zone = services.settings.zone
    return incidents.history_query(
        params, (optional_instant(params, "createTimeBefore", zone), optional_instant(params, "createTimeAfter", zone)),
        (optional_instant(params, "endTimeBefore", zone), optional_instant(params, "endTimeAfter", zone)),
        {state for state in ("open", "resolved", "deleted") if flag(params.get(state), state)}, viewer=viewer,
        narrowing=_narrowing(params, services, incidents.HISTORIC_INCIDENT_SORTS))


@router.get("/history/incident", summary="Every incident, open, resolved (new retries) or deleted (its task left)")
def historic_incidents(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, _history(params, services, viewer), params, lambda row: render.historic_incident(row, zone))


@router.get("/history/incident/count")
def count_historic_incidents(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _history(query_dict(request, _LISTS), services, viewer))
