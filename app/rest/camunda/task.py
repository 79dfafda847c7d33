from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, overload

from fastapi import Request, Response

from app.access.accounts import Principal
from app.cases import tasks
from app.context import Services
from app.errors import InvalidRequest
from app.rest.camunda import render
from app.rest.camunda.forms import form_variables
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, encode_variables, optional_instant

router = ServiceRouter(prefix="/engine-rest/task", tags=["task"])

_LISTS = frozenset({"taskIdIn", "processInstanceIdIn", "processDefinitionKeyIn", "taskDefinitionKeyIn",
                    "candidateGroups", "assigneeIn", "tenantIdIn"})


def _filter(p: dict[str, Any], services: Services, viewer: Principal) -> tasks.TaskFilter:
    zone = services.settings.zone

    def instant(name: str) -> datetime | None:
        return optional_instant(p, name, zone)

    sorting = sort_order(p, tasks.SORTABLE)
    return tasks.TaskFilter(
        task_id=text(p, "taskId"), task_id_in=text_list(p.get("taskIdIn"), "taskIdIn"),
        process_instance_id=text(p, "processInstanceId"),
        process_instance_id_in=text_list(p.get("processInstanceIdIn"), "processInstanceIdIn"),
        process_definition_id=text(p, "processDefinitionId"), process_definition_key=text(p, "processDefinitionKey"),
        process_definition_key_in=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        business_key=text(p, "processInstanceBusinessKey"),
        business_key_like=text(p, "processInstanceBusinessKeyLike"),
        task_definition_key=text(p, "taskDefinitionKey"),
        task_definition_key_in=text_list(p.get("taskDefinitionKeyIn"), "taskDefinitionKeyIn"),
        name=text(p, "name"), name_like=text(p, "nameLike"), assignee=text(p, "assignee"),
        assignee_in=text_list(p.get("assigneeIn"), "assigneeIn"),
        assigned=flag(p.get("assigned"), "assigned"), unassigned=flag(p.get("unassigned"), "unassigned"),
        candidate_group=text(p, "candidateGroup"),
        candidate_groups=text_list(p.get("candidateGroups"), "candidateGroups"),
        candidate_user=text(p, "candidateUser"),
        include_assigned_tasks=flag(p.get("includeAssignedTasks"), "includeAssignedTasks"),
        due_before=instant("dueBefore"), due_after=instant("dueAfter"),
        created_before=instant("createdBefore"), created_after=instant("createdAfter"),
        tenant_id_in=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        sorting=sorting,
        viewer=viewer,
    )


def _list(services: Services, viewer: Principal, params: dict[str, Any], paging: dict[str, Any]
          ) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, tasks.task_query(_filter(params, services, viewer)), paging,
                  lambda row: render.task(row, zone))


@router.get("")
def list_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    return _list(services, viewer, params, params)


@router.post("")
def query_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep,
                body: JsonBody = None) -> list[dict[str, Any]]:
    return _list(services, viewer, body or {}, query_dict(request))


@router.get("/count")
def count_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, tasks.task_query(_filter(query_dict(request, _LISTS), services, viewer)))


@router.post("/count")
def count_tasks_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, tasks.task_query(_filter(body or {}, services, viewer)))


@router.get("/{task_id}")
def get_task(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.task(tasks.readable_task(services, task_id, viewer), services.settings.zone)


@overload
def _user_id(body: dict[str, Any] | None, required: Literal[True]) -> str: ...


@overload
def _user_id(body: dict[str, Any] | None, required: bool) -> str | None: ...


def _user_id(body: dict[str, Any] | None, required: bool) -> str | None:
    user_id = (body or {}).get("userId")
    if user_id is not None and not isinstance(user_id, str):
        raise InvalidRequest("'userId' must be a string")
    if required and not user_id:
        raise InvalidRequest("'userId' is required")
    return user_id or None


@router.post("/{task_id}/claim", status_code=204)
def claim(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    tasks.claim(services, task_id, _user_id(body, required=True), actor=actor)
    return Response(status_code=204)


@router.post("/{task_id}/unclaim", status_code=204)
def unclaim(task_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tasks.unclaim(services, task_id, actor=actor)
    return Response(status_code=204)


@router.post("/{task_id}/assignee", status_code=204)
def set_assignee(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    tasks.set_assignee(services, task_id, _user_id(body, required=False), actor=actor)
    return Response(status_code=204)


def _complete(task_id: str, services: Services, actor: Principal, body: dict[str, Any] | None
              ) -> Response | dict[str, Any]:
    body = body or {}
    zone = services.settings.zone
    current = tasks.complete(services, task_id, decode_variables(body.get("variables"), services.settings), actor=actor)
    if flag(body.get("withVariablesInReturn"), "withVariablesInReturn"):
        return encode_variables(current, zone)
    return Response(status_code=204)


@router.post("/{task_id}/complete", responses={204: {"description": "completed"}})
def complete(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Any:
    return _complete(task_id, services, actor, body)


@router.post("/{task_id}/submit-form", responses={204: {"description": "completed"}})
def submit_form(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Any:
    return _complete(task_id, services, actor, body)


@router.get("/{task_id}/form-variables")
def task_form_variables(task_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    fields, current = tasks.form(services, task_id, reader)
    return form_variables(fields, current, services.settings.zone)


@router.get("/{task_id}/form")
def task_form(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return {"key": tasks.form_key(services, task_id, viewer), "contextPath": None}


@router.get("/{task_id}/variables")
def task_variables(task_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(tasks.task_variables(services, task_id, reader), services.settings.zone)


@router.get("/{task_id}/identity-links")
def identity_links(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    candidates, assignee = tasks.identity_links(services, task_id, viewer)
    links = [render.identity_link(candidate) for candidate in candidates]
    if assignee:
        links.append({"userId": assignee, "groupId": None, "type": "assignee"})
    return links
