from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select

from app.persistence.models import ProcessInstance, Timer
from app.rest.dependencies import PrincipalDep, get_services
from app.rest.listing import counted, listed
from app.rest.params import query_dict
from app.rest.variables import format_instant
from app.services import permissions
from app.services.accounts import Principal
from app.services.context import Services

router = APIRouter(prefix="/job", tags=["job"])
ServicesDep = Annotated[Services, Depends(get_services)]


def _query(p: dict[str, Any], viewer: Principal):
    # A timer start event's job belongs to its definition and has no instance yet (administrators,
    # auditors and the systems see those).
    query = select(Timer, ProcessInstance).outerjoin(ProcessInstance, ProcessInstance.id == Timer.process_instance_id)
    return permissions.only_visible(_filtered(query, p), Timer.process_instance_id,
                                    permissions.unless_in(viewer, permissions.SYSTEMS)).order_by(Timer.due_at, Timer.id)


def _filtered(query, p: dict[str, Any]):
    if p.get("processInstanceId"):
        query = query.where(Timer.process_instance_id == p["processInstanceId"])
    if p.get("processDefinitionKey"):
        query = query.where(Timer.process_definition_key == p["processDefinitionKey"])
    if p.get("processDefinitionId"):
        query = query.where((Timer.process_definition_id == p["processDefinitionId"])
                            | (ProcessInstance.definition_id == p["processDefinitionId"]))
    if p.get("activityId"):
        query = query.where(Timer.activity_id == p["activityId"])
    return query


def _job(row, zone) -> dict[str, Any]:
    timer, instance = row
    definition_id = instance.definition_id if instance is not None else timer.process_definition_id
    return {"id": timer.id, "jobDefinitionId": f"{definition_id}#{timer.activity_id}",
            "processInstanceId": timer.process_instance_id, "executionId": timer.process_instance_id,
            "processDefinitionId": definition_id, "processDefinitionKey": timer.process_definition_key,
            "dueDate": format_instant(timer.due_at, zone), "exceptionMessage": None, "failedActivityId": None,
            "retries": 3, "suspended": False, "priority": 0,
            "tenantId": instance.tenant_id if instance is not None else None,
            "createTime": format_instant(timer.created, zone)}


@router.get("", summary="Pending timers as Camunda jobs (timers=true)")
def list_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    zone = services.settings.zone
    return listed(services, _query(params, viewer), params, lambda row: _job(row, zone))


@router.get("/count")
def count_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request), viewer))
