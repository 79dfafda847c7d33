from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, overload

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from app.access.accounts import Principal
from app.cases import listing, reports, tasks
from app.context import Services
from app.errors import InvalidRequest
from app.rest.binary import DATA_RESPONSES, named_data, uploaded
from app.rest.camunda import queries, render
from app.rest.camunda.forms import form_variables, rendered_form, rendered_form_answer
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import (
    flag,
    integer,
    query_dict,
    sort_order,
    suspension_state,
    text,
    text_list,
    variable_conditions,
)
from app.rest.routing import ServiceRouter
from app.rest.variables import (
    decode_value,
    decode_variables,
    encode_named,
    encode_variables,
    modifications_and_deletions,
    optional_instant,
)

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/task", tags=["task"])

# What an or-query may not give, as Camunda refuses it there.
_NOT_IN_OR_QUERY = (*queries.NOT_IN_OR_QUERY, "withCandidateGroups", "withoutCandidateGroups", "withCandidateUsers",
                    "withoutCandidateUsers")

_LISTS = frozenset({"taskIdIn", "activityInstanceIdIn", "processInstanceIdIn", "processDefinitionKeyIn",
                    "taskDefinitionKeyIn", "candidateGroups", "assigneeIn", "tenantIdIn",
                    "processInstanceBusinessKeyIn", "taskDefinitionKeyNotIn", "assigneeNotIn"})


def _delegation_state(p: dict[str, Any]) -> str | None:
    state = text(p, "delegationState")
    if state not in (None, tasks.PENDING, tasks.RESOLVED):
        raise InvalidRequest("Valid values for property 'delegationState' are 'PENDING' or 'RESOLVED', "
                             f"but was '{state}'")
    return state


def task_filter(p: dict[str, Any], services: Services, viewer: Principal) -> tasks.TaskFilter:
    """Camunda's task query (query string or body) as the task use cases take it."""
    refuse_unread(p, "task")
    zone = services.settings.zone

    def instant(name: str) -> datetime | None:
        return optional_instant(p, name, zone)

    sorting = sort_order(p, tasks.SORTABLE)
    return tasks.TaskFilter(
        task_id=text(p, "taskId"), task_id_in=text_list(p.get("taskIdIn"), "taskIdIn"),
        activity_instance_id_in=text_list(p.get("activityInstanceIdIn"), "activityInstanceIdIn"),
        process_instance_id=text(p, "processInstanceId"),
        process_instance_id_in=text_list(p.get("processInstanceIdIn"), "processInstanceIdIn"),
        process_definition_id=text(p, "processDefinitionId"), process_definition_key=text(p, "processDefinitionKey"),
        process_definition_key_in=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        business_key=text(p, "processInstanceBusinessKey"),
        business_key_like=text(p, "processInstanceBusinessKeyLike"),
        task_definition_key=text(p, "taskDefinitionKey"),
        task_definition_key_in=text_list(p.get("taskDefinitionKeyIn"), "taskDefinitionKeyIn"),
        name=text(p, "name"), name_like=text(p, "nameLike"), assignee=text(p, "assignee"),
        owner=text(p, "owner"), delegation_state=_delegation_state(p),
        assignee_in=text_list(p.get("assigneeIn"), "assigneeIn"),
        assigned=flag(p.get("assigned"), "assigned"), unassigned=flag(p.get("unassigned"), "unassigned"),
        candidate_group=text(p, "candidateGroup"),
        candidate_groups=text_list(p.get("candidateGroups"), "candidateGroups"),
        candidate_user=text(p, "candidateUser"),
        include_assigned_tasks=flag(p.get("includeAssignedTasks"), "includeAssignedTasks"),
        due_before=instant("dueBefore"), due_after=instant("dueAfter"),
        created_before=instant("createdBefore"), created_after=instant("createdAfter"),
        tenant_id_in=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        execution_id=text(p, "executionId"),
        business_key_in=text_list(p.get("processInstanceBusinessKeyIn"), "processInstanceBusinessKeyIn"),
        definition_name=text(p, "processDefinitionName"), definition_name_like=text(p, "processDefinitionNameLike"),
        task_definition_key_like=text(p, "taskDefinitionKeyLike"),
        task_definition_key_not_in=text_list(p.get("taskDefinitionKeyNotIn"), "taskDefinitionKeyNotIn"),
        name_not_equal=text(p, "nameNotEqual"), name_not_like=text(p, "nameNotLike"),
        description=text(p, "description"), description_like=text(p, "descriptionLike"),
        assignee_like=text(p, "assigneeLike"), assignee_not_in=text_list(p.get("assigneeNotIn"), "assigneeNotIn"),
        involved_user=text(p, "involvedUser"), candidate_group_like=text(p, "candidateGroupLike"),
        with_candidate_groups=flag(p.get("withCandidateGroups"), "withCandidateGroups"),
        without_candidate_groups=flag(p.get("withoutCandidateGroups"), "withoutCandidateGroups"),
        with_candidate_users=flag(p.get("withCandidateUsers"), "withCandidateUsers"),
        without_candidate_users=flag(p.get("withoutCandidateUsers"), "withoutCandidateUsers"),
        priority=integer(p.get("priority"), "priority", minimum=-2**31),
        min_priority=integer(p.get("minPriority"), "minPriority", minimum=-2**31),
        max_priority=integer(p.get("maxPriority"), "maxPriority", minimum=-2**31),
        # Camunda's short names (due, followUp, created) beside the long ones; the long one counts.
        due_date=instant("dueDate") or instant("due"), without_due_date=flag(p.get("withoutDueDate"), "withoutDueDate"),
        follow_up_date=instant("followUpDate") or instant("followUp"),
        follow_up_before=instant("followUpBefore"), follow_up_after=instant("followUpAfter"),
        follow_up_before_or_none=instant("followUpBeforeOrNotExistent"),
        created_on=instant("createdOn") or instant("created"), updated_after=instant("updatedAfter"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"), parent_task_id=text(p, "parentTaskId"),
        suspended=suspension_state(p),
        sorting=sorting,
        viewer=viewer,
    )


def task_listing(p: dict[str, Any], services: Services, viewer: Principal) -> tuple[Select, listing.Keep | None]:
    """Camunda's task query (query string or body) as the rows the database finds and, where it filters
    on variables, the keep of those that have them. Its orQueries each keep the tasks meeting one of
    their filters (Camunda's conjunctive normal form)."""
    return queries.with_or_queries(
        p, tasks.task_query(task_filter(p, services, viewer)), _variables_kept(p, services, viewer, either=False),
        alone=lambda nested: tasks.meeting_any(task_filter(nested, services, viewer)), key_of=lambda row: row.id,
        variables=lambda nested: _variables_kept(nested, services, viewer, either=True), refused=_NOT_IN_OR_QUERY)


def _variables_kept(p: dict[str, Any], services: Services, viewer: Principal, either: bool) -> listing.Keep | None:
    """The keep of processVariables (of the task's case) and taskVariables (the task's own)."""
    of_case = queries.variables_kept(p, "processVariables", services, viewer, lambda row: row.process_instance_id,
                                     either)
    own = variable_conditions(p.get("taskVariables"), "taskVariables")
    return listing.joined([of_case, tasks.own_variables_holding(services, queries.conditions_of(p, own, either),
                                                                viewer) if own else None], either)


def or_queries(p: dict[str, Any]) -> list[dict[str, Any]]:
    """The task query's orQueries: task queries of their own, without what Camunda refuses in one."""
    return queries.or_queries(p, _NOT_IN_OR_QUERY)


def _list(services: Services, viewer: Principal, params: dict[str, Any], paging: dict[str, Any]
          ) -> list[dict[str, Any]]:
    zone = services.settings.zone
    query, keep = task_listing(params, services, viewer)
    return listed(services, query, paging, lambda row: render.task(row, zone), keep)


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
    return counted(services, *task_listing(query_dict(request, _LISTS), services, viewer))


@router.post("/count")
def count_tasks_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, *task_listing(body or {}, services, viewer))


@router.get("/report/candidate-group-count", summary="Open tasks per candidate group (groupName null: the tasks "
                                                       "offered to no group)")
def candidate_group_count(services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    return [{"groupName": group, "taskCount": count}
            for group, count in reports.candidate_group_counts(services, viewer)]


@router.post("/create", status_code=204, summary="Create a task of no process (a standalone task)")
def create_task(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """Camunda's TaskDto: a sub task (parentTaskId) and a task of a CMMN case (caseInstanceId) are
    refused; the task takes its creator's region."""
    if not isinstance(body, dict):
        raise InvalidRequest("the task to create is a JSON object")
    if body.get("parentTaskId") is not None:
        raise InvalidRequest("Could not save task: sub tasks (parentTaskId) are not kept by this service")
    if body.get("caseInstanceId") is not None:
        raise InvalidRequest("Could not save task: this service runs no CMMN cases (caseInstanceId)")
    fields = _task_changes(body, services)
    if body.get("delegationState") is not None:
        fields["delegationState"] = _delegation_state(body)
    if fields.get("tenantId") is None:
        fields.pop("tenantId", None)
    tasks.create_task(services, text(body, "id"), fields, actor=actor)
    return Response(status_code=204)


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
    """转办: besides Camunda's userId, an optional `reason` is recorded in the case's history."""
    tasks.set_assignee(services, task_id, _user_id(body, required=False), actor=actor,
                       reason=(body or {}).get("reason"))
    return Response(status_code=204)


@router.post("/{task_id}/delegate", status_code=204)
def delegate(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """委派: besides Camunda's userId, an optional `reason` is recorded in the case's history."""
    tasks.delegate(services, task_id, _user_id(body, required=True), actor=actor, reason=(body or {}).get("reason"))
    return Response(status_code=204)


@router.post("/{task_id}/resolve", status_code=204)
def resolve(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    variables = decode_variables((body or {}).get("variables"), services.settings)
    tasks.resolve(services, task_id, variables, actor=actor)
    return Response(status_code=204)


def _task_changes(body: dict[str, Any], services: Services) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key in ("name", "description", "assignee", "owner", "delegationState", "tenantId"):
        if key in body:
            changes[key] = text(body, key)
    # As long as the task's columns hold (a longer text would fail on PostgreSQL).
    for key, most in (("name", 255), ("description", 4000), ("assignee", 255), ("owner", 255), ("tenantId", 64)):
        if len(changes.get(key) or "") > most:
            raise InvalidRequest(f"'{key}' has at most {most} characters")
    if "priority" in body:
        priority = body["priority"]
        if isinstance(priority, bool) or not isinstance(priority, int) or not -(2**31) <= priority < 2**31:
            raise InvalidRequest("'priority' must be a whole number")
        changes["priority"] = priority
    for key in ("due", "followUp"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise InvalidRequest(f"'{key}' must be a date")
            changes[key] = optional_instant(body, key, services.settings.zone)
    return changes


@router.put("/{task_id}", status_code=204)
def update_task(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """Name, description, priority, follow-up (and, for administrators, due) of an open task."""
    if not isinstance(body, dict):
        raise InvalidRequest("the task to update is a JSON object")
    tasks.update_task(services, task_id, _task_changes(body, services), actor=actor)
    return Response(status_code=204)


def _identity_link(body: dict[str, Any] | None) -> tuple[str, str | None, str | None]:
    body = body or {}
    kind, user, group = text(body, "type"), text(body, "userId"), text(body, "groupId")
    if kind not in ("candidate", "assignee", "owner"):
        raise InvalidRequest("an identity link's 'type' is 'candidate', 'assignee' or 'owner'")
    if (user is None) == (group is None) or (kind != "candidate" and group is not None):
        raise InvalidRequest("an identity link names either a 'userId' or, for a candidate, a 'groupId'")
    return kind, user, group


def _change_link(task_id: str, services: Services, actor: Principal, body: dict[str, Any] | None, add: bool) -> None:
    kind, user, group = _identity_link(body)
    if kind == "candidate":
        tasks.change_candidate(services, task_id, "user" if user else "group", user or group or "", add=add,
                               actor=actor)
    elif kind == "assignee":
        tasks.set_assignee(services, task_id, user if add else None, actor=actor)
    else:
        tasks.set_owner(services, task_id, user if add else None, actor=actor)


@router.post("/{task_id}/identity-links", status_code=204)
def add_identity_link(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    """加签: offer the task to one more candidate group or user (or set its assignee or owner)."""
    _change_link(task_id, services, actor, body, add=True)
    return Response(status_code=204)


@router.post("/{task_id}/identity-links/delete", status_code=204)
def delete_identity_link(task_id: str, services: ServicesDep, actor: PrincipalDep,
                         body: JsonBody = None) -> Response:
    _change_link(task_id, services, actor, body, add=False)
    return Response(status_code=204)


def _complete(task_id: str, services: Services, actor: Principal, body: dict[str, Any] | None,
              as_form: bool = False) -> Response | dict[str, Any]:
    body = body or {}
    zone = services.settings.zone
    current = tasks.complete(services, task_id, decode_variables(body.get("variables"), services.settings), actor=actor,
                             as_form=as_form)
    if flag(body.get("withVariablesInReturn"), "withVariablesInReturn"):
        return encode_variables(current, zone)
    return Response(status_code=204)


@router.post("/{task_id}/complete", responses={204: {"description": "completed"}})
def complete(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Any:
    return _complete(task_id, services, actor, body)


@router.post("/{task_id}/submit-form", responses={204: {"description": "completed"}})
def submit_form(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Any:
    return _complete(task_id, services, actor, body, as_form=True)


@router.post("/{task_id}/bpmnError", status_code=204)
def bpmn_error(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    tasks.bpmn_error(services, task_id, error_code=text(body, "errorCode"), error_message=text(body, "errorMessage"),
                     variables=decode_variables(body.get("variables"), services.settings), actor=actor)
    return Response(status_code=204)


@router.post("/{task_id}/bpmnEscalation", status_code=204)
def bpmn_escalation(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    tasks.escalation(services, task_id, escalation_code=text(body, "escalationCode"),
                     variables=decode_variables(body.get("variables"), services.settings), actor=actor)
    return Response(status_code=204)


@router.delete("/{task_id}", status_code=204)
def delete_task(task_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tasks.delete_task(services, task_id, actor)
    return Response(status_code=204)


@router.get("/{task_id}/form-variables")
def task_form_variables(task_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    fields, current = tasks.form(services, task_id, reader)
    return form_variables(fields, current, services.settings.zone)


@router.get("/{task_id}/form")
def task_form(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return {"key": tasks.form_key(services, task_id, viewer), "contextPath": None}


@router.get("/{task_id}/rendered-form", response_class=Response,
            summary="The task's generated form as HTML (application/xhtml+xml)")
def rendered_task_form(task_id: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    fields, _ = tasks.form(services, task_id, reader)
    return rendered_form_answer(rendered_form(fields), f"No matching rendered form for task with the id {task_id} "
                                                       "found.")


@router.get("/{task_id}/deployed-form", response_class=Response,
            summary="The task's form deployed with its process: deployments here hold no forms (400 or 404)")
def deployed_task_form(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    tasks.deployed_form(services, task_id, viewer)


@router.get("/{task_id}/variables")
def task_variables(task_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(tasks.task_variables(services, task_id, reader), services.settings.zone)


@router.post("/{task_id}/variables", status_code=204)
def modify_task_variables(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    modifications, deletions = modifications_and_deletions(body, services.settings)
    tasks.modify_task_variables(services, task_id, modifications=modifications, deletions=deletions, actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/variables/{name}")
def task_variable(task_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    values = tasks.task_variables(services, task_id, reader)
    return encode_named(values, name, "task", services.settings.zone)


@router.put("/{task_id}/variables/{name}", status_code=204)
def put_task_variable(task_id: str, name: str, services: ServicesDep, actor: PrincipalDep,
                      body: JsonBody = None) -> Response:
    value = decode_value(name, body or {}, services.settings)
    tasks.modify_task_variables(services, task_id, modifications={name: value}, deletions=(), actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/variables/{name}/data", response_class=Response, responses=DATA_RESPONSES,
            summary="The content of a Bytes or File variable the task sees")
def task_variable_data(task_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    return named_data(services, tasks.task_variables(services, task_id, reader), name, "task", task_id)


@router.post("/{task_id}/variables/{name}/data", status_code=204,
             summary="Set a Bytes or File variable of the task's case (multipart: data, valueType)")
async def post_task_variable_data(task_id: str, name: str, request: Request, services: ServicesDep,
                                  actor: PrincipalDep) -> Response:
    value = await uploaded(request, name, services)
    await run_in_threadpool(tasks.modify_task_variables, services, task_id, modifications={name: value},
                            deletions=(), actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/localVariables/{name}/data", response_class=Response, responses=DATA_RESPONSES,
            summary="The content of a Bytes or File variable of the open task's own")
def task_local_variable_data(task_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> Response:
    return named_data(services, tasks.task_local_variables(services, task_id, reader), name, "task", task_id)


@router.post("/{task_id}/localVariables/{name}/data", status_code=204,
             summary="Set a Bytes or File variable of the open task's own (multipart: data, valueType)")
async def post_task_local_variable_data(task_id: str, name: str, request: Request, services: ServicesDep,
                                        actor: PrincipalDep) -> Response:
    value = await uploaded(request, name, services)
    await run_in_threadpool(tasks.modify_task_local_variables, services, task_id, modifications={name: value},
                            deletions=(), actor=actor)
    return Response(status_code=204)


@router.delete("/{task_id}/variables/{name}", status_code=204)
def delete_task_variable(task_id: str, name: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tasks.modify_task_variables(services, task_id, modifications={}, deletions=(name,), actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/localVariables", summary="The open task's own variables")
def task_local_variables(task_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return encode_variables(tasks.task_local_variables(services, task_id, reader), services.settings.zone)


@router.post("/{task_id}/localVariables", status_code=204)
def modify_task_local_variables(task_id: str, services: ServicesDep, actor: PrincipalDep,
                                body: JsonBody = None) -> Response:
    modifications, deletions = modifications_and_deletions(body, services.settings)
    tasks.modify_task_local_variables(services, task_id, modifications=modifications, deletions=deletions,
                                      actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/localVariables/{name}")
def task_local_variable(task_id: str, name: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    values = tasks.task_local_variables(services, task_id, reader)
    return encode_named(values, name, "task", services.settings.zone)


@router.put("/{task_id}/localVariables/{name}", status_code=204)
def put_task_local_variable(task_id: str, name: str, services: ServicesDep, actor: PrincipalDep,
                            body: JsonBody = None) -> Response:
    value = decode_value(name, body or {}, services.settings)
    tasks.modify_task_local_variables(services, task_id, modifications={name: value}, deletions=(), actor=actor)
    return Response(status_code=204)


@router.delete("/{task_id}/localVariables/{name}", status_code=204)
def delete_task_local_variable(task_id: str, name: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    tasks.modify_task_local_variables(services, task_id, modifications={}, deletions=(name,), actor=actor)
    return Response(status_code=204)


@router.get("/{task_id}/identity-links")
def identity_links(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    candidates, assignee = tasks.identity_links(services, task_id, viewer)
    links = [render.identity_link(candidate) for candidate in candidates]
    if assignee:
        links.append({"userId": assignee, "groupId": None, "type": "assignee"})
    return links
