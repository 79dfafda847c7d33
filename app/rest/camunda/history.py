from __future__ import annotations

from typing import Any

from fastapi import Request

from app.access.accounts import Principal
from app.cases import history
from app.context import Services
from app.rest.camunda import render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, suspension_state, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

router = ServiceRouter(prefix="/engine-rest/history", tags=["history"])


def _sorting(p: dict[str, Any], allowed: dict) -> dict[str, bool]:
    return {key: direction == "desc" for key, direction in sort_order(p, allowed)}


def _instance_filter(p: dict[str, Any], services: Services, viewer: Principal) -> history.InstanceFilter:
    zone = services.settings.zone
    return history.InstanceFilter(
        viewer=viewer,
        process_instance_id=text(p, "processInstanceId"),
        process_instance_ids=text_list(p.get("processInstanceIds"), "processInstanceIds"),
        business_key=text(p, "processInstanceBusinessKey"),
        business_key_like=text(p, "processInstanceBusinessKeyLike"),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"),
        definition_key_in=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        finished=flag(p.get("finished"), "finished"), unfinished=flag(p.get("unfinished"), "unfinished"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone),
        state=text(p, "state"), suspended=suspension_state(p),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        super_instance=text(p, "superProcessInstanceId"), sub_instance=text(p, "subProcessInstanceId"),
        sort_desc=_sorting(p, history.INSTANCE_SORT),
    )


def _instances(services: Services, viewer: Principal, params: dict[str, Any],
               paging: dict[str, Any]) -> list[dict[str, Any]]:
    query = history.historic_instance_query(_instance_filter(params, services, viewer))
    zone = services.settings.zone
    return listed(services, query, paging, lambda row: render.historic_instance(row[0], row[1], zone))


_INSTANCE_LISTS = frozenset({"processInstanceIds", "processDefinitionKeyIn", "tenantIdIn"})


@router.get("/process-instance")
def historic_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _INSTANCE_LISTS)
    return _instances(services, viewer, params, params)


@router.post("/process-instance")
def query_historic_instances(request: Request, services: ServicesDep, viewer: PrincipalDep,
                             body: JsonBody = None) -> list[dict]:
    return _instances(services, viewer, body or {}, query_dict(request))


@router.get("/process-instance/count")
def count_historic_instances(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _instance_filter(query_dict(request, _INSTANCE_LISTS), services, viewer)
    return counted(services, history.historic_instance_query(criteria))


@router.get("/process-instance/{instance_id}")
def historic_instance(instance_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    row, definition = history.readable_historic_instance(services, instance_id, viewer)
    return render.historic_instance(row, definition, services.settings.zone)


def _activity_filter(p: dict[str, Any], viewer: Principal) -> history.ActivityFilter:
    return history.ActivityFilter(
        viewer=viewer,
        process_instance_id=text(p, "processInstanceId"), activity_id=text(p, "activityId"),
        activity_type=text(p, "activityType"), task_assignee=text(p, "taskAssignee"),
        finished=flag(p.get("finished"), "finished"), unfinished=flag(p.get("unfinished"), "unfinished"),
        canceled=flag(p.get("canceled"), "canceled"), sort_desc=_sorting(p, history.ACTIVITY_SORT))


def _activities(services: Services, viewer: Principal, params: dict[str, Any],
                paging: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, history.activity_query(_activity_filter(params, viewer)), paging,
                  lambda row: render.historic_activity(row, zone))


@router.get("/activity-instance")
def historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    return _activities(services, viewer, params, params)


@router.post("/activity-instance")
def query_historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep,
                              body: JsonBody = None) -> list[dict]:
    return _activities(services, viewer, body or {}, query_dict(request))


@router.get("/activity-instance/count")
def count_historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, history.activity_query(_activity_filter(query_dict(request), viewer)))


_TASK_LISTS = frozenset({"taskDefinitionKeyIn", "tenantIdIn"})


def _task_filter(p: dict[str, Any], services: Services, viewer: Principal) -> history.ActivityFilter:
    """Camunda's historic task query; null and unknown keys (clients send the whole schema) mean no filter."""
    zone = services.settings.zone
    return history.ActivityFilter(
        viewer=viewer,
        activity_type="userTask", activity_instance_id=text(p, "taskId"),
        process_instance_id=text(p, "processInstanceId") or text(p, "executionId"),
        business_key=text(p, "processInstanceBusinessKey"),
        process_definition_id=text(p, "processDefinitionId"), process_definition_key=text(p, "processDefinitionKey"),
        activity_name=text(p, "taskName"), activity_name_like=text(p, "taskNameLike"),
        activity_id=text(p, "taskDefinitionKey"),
        activity_ids=text_list(p.get("taskDefinitionKeyIn"), "taskDefinitionKeyIn"),
        task_assignee=text(p, "taskAssignee"), task_assignee_like=text(p, "taskAssigneeLike"),
        assigned=flag(p.get("assigned"), "assigned"), unassigned=flag(p.get("unassigned"), "unassigned"),
        finished=flag(p.get("finished"), "finished"), unfinished=flag(p.get("unfinished"), "unfinished"),
        process_finished=flag(p.get("processFinished"), "processFinished"),
        process_unfinished=flag(p.get("processUnfinished"), "processUnfinished"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone),
        finished_before=optional_instant(p, "finishedBefore", zone),
        finished_after=optional_instant(p, "finishedAfter", zone),
        sort_desc=_sorting(p, history.TASK_SORT))


def _tasks(services: Services, viewer: Principal, params: dict[str, Any],
           paging: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, history.activity_query(_task_filter(params, services, viewer)), paging,
                  lambda row: render.historic_task(row, zone))


@router.get("/task", summary="User tasks of running and ended instances, open or done")
def historic_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _TASK_LISTS)
    return _tasks(services, viewer, params, params)


@router.post("/task")
def query_historic_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep,
                         body: JsonBody = None) -> list[dict]:
    return _tasks(services, viewer, body or {}, query_dict(request))


@router.get("/task/count")
def count_historic_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, history.activity_query(_task_filter(query_dict(request, _TASK_LISTS), services, viewer)))


@router.post("/task/count")
def count_historic_tasks_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, history.activity_query(_task_filter(body or {}, services, viewer)))


def _operation_filter(p: dict[str, Any], services: Services, viewer: Principal) -> history.OperationFilter:
    zone = services.settings.zone
    return history.OperationFilter(
        process_instance_id=text(p, "processInstanceId"), task_id=text(p, "taskId"), user_id=text(p, "userId"),
        operation_type=text(p, "operationType"), entity_type=text(p, "entityType"),
        after=optional_instant(p, "afterTimestamp", zone), before=optional_instant(p, "beforeTimestamp", zone),
        viewer=viewer, sort_desc=_sorting(p, history.OPERATION_SORT))


@router.get("/user-operation", summary="The commands people and systems gave (claim, assign, complete, start, "
                                       "delete, variable changes, comments edited and deleted, attachments), "
                                       "from the history")
def user_operations(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    zone = services.settings.zone
    return listed(services, history.user_operation_query(_operation_filter(params, services, viewer)), params,
                  lambda row: render.user_operation(row, zone))


@router.get("/user-operation/count")
def count_user_operations(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, history.user_operation_query(_operation_filter(query_dict(request), services, viewer)))
