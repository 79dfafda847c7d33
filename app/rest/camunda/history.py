from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request, Response

from app.access.accounts import Principal
from app.audit import removal
from app.cases import batches, history, history_logs, listing, operation_annotations, reports
from app.context import Services
from app.errors import BadUserRequest, InvalidRequest
from app.rest.camunda import queries, render
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import optional_instant

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest/history", tags=["history"])
_DURATION, _COUNT = "duration", "count"
# Deleting history is for administrators, as Camunda's DELETE_HISTORY permission.
_DELETE_HISTORY = role(permission="DELETE_HISTORY", resource_type="ProcessDefinition")


def _instances(services: Services, viewer: Principal, params: dict[str, Any],
               paging: dict[str, Any]) -> list[dict[str, Any]]:
    query, keep = queries.historic_instance_listing(params, services, viewer)
    zone = services.settings.zone
    return listed(services, query, paging, lambda row: render.historic_instance(row[0], row[1], row[2], zone), keep)


_INSTANCE_LISTS = frozenset({"processInstanceIds", "processDefinitionKeyIn", "tenantIdIn", "incidentIdIn",
                             "processInstanceBusinessKeyIn", "processDefinitionKeyNotIn", "processInstanceIdNotIn",
                             "activeActivityIdIn", "executedActivityIdIn", "activityIdIn"})


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
    return counted(services, *queries.historic_instance_listing(query_dict(request, _INSTANCE_LISTS), services, viewer))


@router.post("/process-instance/count")
def count_historic_instances_by_body(services: ServicesDep, viewer: PrincipalDep,
                                     body: JsonBody = None) -> dict[str, int]:
    return counted(services, *queries.historic_instance_listing(body or {}, services, viewer))


_REPORT_LISTS = frozenset({"processDefinitionIdIn", "processDefinitionKeyIn"})


def _period_unit(p: dict[str, Any], required: bool) -> str | None:
    """Camunda's periodUnit, in any case (`month`, `QUARTER`)."""
    unit = text(p, "periodUnit")
    if unit is None:
        if required:
            raise InvalidRequest("periodUnit is null")
        return None
    if unit.upper() not in (reports.MONTH, reports.QUARTER):
        raise InvalidRequest(f"Cannot convert value {unit[:64]} to java enum type "
                             "org.camunda.bpm.engine.query.PeriodUnit")
    return unit.upper()


def _report_type(p: dict[str, Any], allowed: tuple[str, ...]) -> str | None:
    report_type = text(p, "reportType")
    if report_type is not None and report_type not in allowed:
        raise InvalidRequest(f"reportType parameter has invalid value: {report_type[:64]}")
    return report_type


@router.get("/process-instance/report",
            summary="Maximum, minimum and average duration of the ended cases by the month or quarter they started "
                    "in (reportType=duration, periodUnit=month|quarter)")
def historic_instance_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    p = query_dict(request, _REPORT_LISTS)
    report_type = _report_type(p, (_DURATION,))
    unit = _period_unit(p, required=False)
    zone = services.settings.zone
    criteria = reports.DurationCriteria(
        viewer=viewer, period_unit=unit or "",
        definition_ids=text_list(p.get("processDefinitionIdIn"), "processDefinitionIdIn"),
        definition_keys=text_list(p.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone))
    if report_type != _DURATION:
        raise InvalidRequest(f"Unknown report type {report_type or 'null'}")
    if unit is None:
        raise InvalidRequest("periodUnit is null")
    return [render.duration_period(row) for row in reports.duration_report(services, criteria)]


@router.post("/process-instance/delete", dependencies=[_DELETE_HISTORY],
             summary="Delete the histories of historicProcessInstanceIds and historicProcessInstanceQuery, each "
                     "later as DELETE /history/process-instance/{id} does, retention rules included (a batch)")
def delete_historic_instances_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict:
    body = body or {}
    targets = queries.instance_targets(body, services, actor, ids="historicProcessInstanceIds", runtime=False)
    configuration = {"deleteReason": text(body, "deleteReason"),
                     "failIfNotExists": flag(body.get("failIfNotExists", True), "failIfNotExists")}
    batch = batches.create(services, batches.HISTORIC_INSTANCE_DELETION, targets, configuration, actor=actor,
                           empty_message="historicProcessInstanceIds is empty")
    return render.batch(batch, services.settings.zone)


@router.post("/process-instance/set-removal-time", dependencies=[_DELETE_HISTORY],
             summary="Refused: a case's history is kept for its process's historyTimeToLive, not by a removal time")
def set_removal_time(body: JsonBody = None) -> Response:
    raise BadUserRequest(
        "Removal times are not set here: a case's history is kept for the historyTimeToLive of its process version "
        "after it ended (PUT /process-definition/{id}/history-time-to-live) and deleted then by "
        "DELETE /history/process-instance/{id} or POST /history/process-instance/delete, each deletion recorded "
        "in the administrative chain; no cleanup job removes histories by a removal time")


@router.get("/process-instance/{instance_id}")
def historic_instance(instance_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.historic_instance(*history.readable_historic_instance(services, instance_id, viewer),
                                    services.settings.zone)


@router.delete("/process-instance/{instance_id}", status_code=204, dependencies=[_DELETE_HISTORY],
               summary="Delete an ended case's history once its process's historyTimeToLive has passed; the "
                       "administrative chain records the deletion")
def delete_historic_instance(instance_id: str, request: Request, services: ServicesDep,
                             actor: PrincipalDep) -> Response:
    """Camunda answers every refusal of this command with 404 "... does not exist"; the service
    answers 404 only for an unknown case, and a running case, a retention not yet over, a process
    without historyTimeToLive and a caller of a kept case with 400 and the reason."""
    fail = flag(query_dict(request).get("failIfNotExists", True), "failIfNotExists")
    removal.delete_history(services, instance_id, actor=actor, fail_if_not_exists=fail)
    return Response(status_code=204)


@router.delete("/process-instance/{instance_id}/variable-instances", status_code=204,
               dependencies=[_DELETE_HISTORY], summary="Refused with the reason: the variables are part of the "
                                                       "chained history (404 for an unknown case, as Camunda)")
def delete_historic_variables(instance_id: str, services: ServicesDep) -> Response:
    removal.refuse_variables_deletion(services, instance_id)


_ACTIVITY_LISTS = frozenset({"tenantIdIn"})


def _activity_filter(p: dict[str, Any], services: Services, viewer: Principal) -> history.ActivityFilter:
    zone = services.settings.zone
    return history.ActivityFilter(
        viewer=viewer,
        process_instance_id=text(p, "processInstanceId"), activity_id=text(p, "activityId"),
        activity_type=text(p, "activityType"), task_assignee=text(p, "taskAssignee"),
        finished=flag(p.get("finished"), "finished"), unfinished=flag(p.get("unfinished"), "unfinished"),
        canceled=flag(p.get("canceled"), "canceled"), sort_desc=queries.sorting(p, history.ACTIVITY_SORT),
        activity_instance_id=text(p, "activityInstanceId"), activity_name=text(p, "activityName"),
        activity_name_like=text(p, "activityNameLike"), process_definition_id=text(p, "processDefinitionId"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        started_before=optional_instant(p, "startedBefore", zone),
        started_after=optional_instant(p, "startedAfter", zone),
        finished_before=optional_instant(p, "finishedBefore", zone),
        finished_after=optional_instant(p, "finishedAfter", zone), execution_id=text(p, "executionId"),
        complete_scope=flag(p.get("completeScope"), "completeScope"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"))


def _activities(services: Services, viewer: Principal, params: dict[str, Any],
                paging: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, history.activity_query(_activity_filter(params, services, viewer)), paging,
                  lambda row: render.historic_activity(row, zone))


@router.get("/activity-instance")
def historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _ACTIVITY_LISTS)
    return _activities(services, viewer, params, params)


@router.post("/activity-instance")
def query_historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep,
                              body: JsonBody = None) -> list[dict]:
    return _activities(services, viewer, body or {}, query_dict(request))


@router.get("/activity-instance/count")
def count_historic_activities(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _activity_filter(query_dict(request, _ACTIVITY_LISTS), services, viewer)
    return counted(services, history.activity_query(criteria))


@router.post("/activity-instance/count")
def count_historic_activities_by_body(services: ServicesDep, viewer: PrincipalDep,
                                      body: JsonBody = None) -> dict[str, int]:
    return counted(services, history.activity_query(_activity_filter(body or {}, services, viewer)))


@router.get("/activity-instance/{activity_instance_id}")
def historic_activity(activity_instance_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.historic_activity(history.readable_activity(services, activity_instance_id, viewer),
                                    services.settings.zone)


_TASK_LISTS = frozenset({"taskDefinitionKeyIn", "tenantIdIn", "processInstanceBusinessKeyIn",
                         "activityInstanceIdIn"})


def _task_filter(p: dict[str, Any], services: Services, viewer: Principal | None) -> history.ActivityFilter:
    """Camunda's historic task query; null and unknown keys (clients send the whole schema) mean no filter."""
    refuse_unread(p, "history/task")
    zone = services.settings.zone
    return history.ActivityFilter(
        viewer=viewer,
        activity_type="userTask", activity_instance_id=text(p, "taskId"),
        process_instance_id=text(p, "processInstanceId"), execution_id=text(p, "executionId"),
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
        business_keys=text_list(p.get("processInstanceBusinessKeyIn"), "processInstanceBusinessKeyIn"),
        business_key_like=text(p, "processInstanceBusinessKeyLike"),
        definition_name=text(p, "processDefinitionName"), delete_reason=text(p, "taskDeleteReason"),
        delete_reason_like=text(p, "taskDeleteReasonLike"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        activity_instance_ids=text_list(p.get("activityInstanceIdIn"), "activityInstanceIdIn"),
        root_instance_id=text(p, "rootProcessInstanceId"), parent_task_id=text(p, "taskParentTaskId"),
        kept=history.KeptTaskFilter(
            owner=text(p, "taskOwner"), owner_like=text(p, "taskOwnerLike"), description=text(p, "taskDescription"),
            description_like=text(p, "taskDescriptionLike"),
            priority=integer(p.get("taskPriority"), "taskPriority", minimum=-2**31),
            due=optional_instant(p, "taskDueDate", zone), due_before=optional_instant(p, "taskDueDateBefore", zone),
            due_after=optional_instant(p, "taskDueDateAfter", zone),
            without_due=flag(p.get("withoutTaskDueDate"), "withoutTaskDueDate"),
            follow_up=optional_instant(p, "taskFollowUpDate", zone),
            follow_up_before=optional_instant(p, "taskFollowUpDateBefore", zone),
            follow_up_after=optional_instant(p, "taskFollowUpDateAfter", zone)),
        sort_desc=queries.sorting(p, history.TASK_SORT))


# The filters of the historic task query, each a condition of its own in an or-query (a test checks
# that these are all the query reads, but for its variables and their switches).
HISTORIC_TASK_FILTERS = (
    "taskId", "taskParentTaskId", "processInstanceId", "processInstanceBusinessKey", "processInstanceBusinessKeyIn",
    "processInstanceBusinessKeyLike", "executionId", "activityInstanceIdIn", "processDefinitionId",
    "processDefinitionKey", "processDefinitionName", "taskName", "taskNameLike", "taskDescription",
    "taskDescriptionLike", "taskDefinitionKey", "taskDefinitionKeyIn", "taskDeleteReason", "taskDeleteReasonLike",
    "taskAssignee", "taskAssigneeLike", "taskOwner", "taskOwnerLike", "taskPriority", "assigned", "unassigned",
    "finished", "unfinished", "processFinished", "processUnfinished", "taskDueDate", "taskDueDateBefore",
    "taskDueDateAfter", "withoutTaskDueDate", "taskFollowUpDate", "taskFollowUpDateBefore", "taskFollowUpDateAfter",
    "tenantIdIn", "withoutTenantId", "startedBefore", "startedAfter", "finishedBefore", "finishedAfter",
    "rootProcessInstanceId")


def _offers_kept(p: dict[str, Any], either: bool) -> listing.Keep | None:
    """The historic task query's filters on whom a task was offered to or who took part in it."""
    offers = history_logs.OfferFilter(
        had_candidate_user=text(p, "taskHadCandidateUser"), had_candidate_group=text(p, "taskHadCandidateGroup"),
        involved_user=text(p, "taskInvolvedUser"), involved_group=text(p, "taskInvolvedGroup"),
        with_candidate_groups=flag(p.get("withCandidateGroups"), "withCandidateGroups"),
        without_candidate_groups=flag(p.get("withoutCandidateGroups"), "withoutCandidateGroups"), either=either)
    return history_logs.offers_kept(offers) if offers.given() else None


def _task_listing(p: dict[str, Any], services: Services, viewer: Principal) -> tuple[Select, listing.Keep | None]:
    """The historic task query, its processVariables (of the tasks' cases, as they are or ended) and
    its filters on whom a task was offered to, with its orQueries."""
    def of_case(query: dict[str, Any], either: bool) -> listing.Keep | None:
        return listing.joined([queries.variables_kept(query, "processVariables", services, viewer,
                                                      lambda row: row.process_instance_id, either=either),
                               _offers_kept(query, either)], either)
    return queries.with_or_queries(
        p, history.historic_task_query(_task_filter(p, services, viewer)), of_case(p, False),
        variables=lambda nested: of_case(nested, True), key_of=lambda row: row.id,
        refused=(*queries.NOT_IN_OR_QUERY, "withCandidateGroups", "withoutCandidateGroups"),
        alone=queries.each_alone(HISTORIC_TASK_FILTERS, lambda filters: history.historic_task_query(
            _task_filter(filters, services, None))))


def _tasks(services: Services, viewer: Principal, params: dict[str, Any],
           paging: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    query, keep = _task_listing(params, services, viewer)
    return listed(services, query, paging, lambda row: render.historic_task(row, zone), keep)


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
    return counted(services, *_task_listing(query_dict(request, _TASK_LISTS), services, viewer))


@router.post("/task/count")
def count_historic_tasks_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, *_task_listing(body or {}, services, viewer))


@router.get("/task/report", summary="Completed user tasks counted by task name or by procedure "
                                    "(reportType=count, groupBy=taskName|processDefinition), or the duration of "
                                    "completed tasks by month or quarter (reportType=duration)")
def historic_task_report(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    p = query_dict(request)
    report_type = _report_type(p, (_DURATION, _COUNT))
    zone = services.settings.zone
    before, after = optional_instant(p, "completedBefore", zone), optional_instant(p, "completedAfter", zone)
    if report_type == _DURATION:
        unit = _period_unit(p, required=True)
        return [render.duration_period(row) for row in reports.task_duration_report(
            services, viewer, unit or "", before, after)]
    if report_type != _COUNT:
        raise InvalidRequest("Parameter reportType is not set.")
    group_by = text(p, "groupBy")
    if group_by not in (reports.TASK_NAME, reports.PROCESS_DEFINITION):
        raise InvalidRequest(f"groupBy parameter has invalid value: {(group_by or '')[:64] or 'null'}")
    return [render.task_count(row) for row in reports.completed_task_counts(services, viewer, group_by, before, after)]


_OPERATION_LISTS = frozenset({"entityTypeIn", "categoryIn"})


def _operation_filter(p: dict[str, Any], services: Services, viewer: Principal) -> history.OperationFilter:
    refuse_unread(p, "history/user-operation")
    zone = services.settings.zone
    return history.OperationFilter(
        process_instance_id=text(p, "processInstanceId"), task_id=text(p, "taskId"), user_id=text(p, "userId"),
        operation_type=text(p, "operationType"), entity_type=text(p, "entityType"),
        after=optional_instant(p, "afterTimestamp", zone), before=optional_instant(p, "beforeTimestamp", zone),
        viewer=viewer, sort_desc=queries.sorting(p, history.OPERATION_SORT),
        entity_types=text_list(p.get("entityTypeIn"), "entityTypeIn"), category=text(p, "category"),
        categories=text_list(p.get("categoryIn"), "categoryIn"), property=text(p, "property"),
        operation_id=text(p, "operationId"), definition_id=text(p, "processDefinitionId"),
        definition_key=text(p, "processDefinitionKey"), execution_id=text(p, "executionId"),
        nothing=any(text(p, name) is not None for name in ("deploymentId", "jobId", "jobDefinitionId",
                                                           "externalTaskId")))


@router.get("/user-operation", summary="The commands people and systems gave (claim, assign, complete, start, "
                                       "delete, variable changes, comments edited and deleted, attachments), "
                                       "from the history")
def user_operations(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _OPERATION_LISTS)
    zone = services.settings.zone
    return listed(services, history.user_operation_query(_operation_filter(params, services, viewer)), params,
                  lambda row: render.user_operation(row, zone))


@router.get("/user-operation/count")
def count_user_operations(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _operation_filter(query_dict(request, _OPERATION_LISTS), services, viewer)
    return counted(services, history.user_operation_query(criteria))


@router.put("/user-operation/{operation_id}/set-annotation", status_code=204,
            summary="Annotate an entry (administrators and whoever gave the command); recorded in the administrative "
                    "history, since the entry itself is chained")
def set_operation_annotation(operation_id: str, services: ServicesDep, actor: PrincipalDep,
                             body: JsonBody = None) -> Response:
    operation_annotations.annotate(services, operation_id, (body or {}).get("annotation"), actor=actor)
    return Response(status_code=204)


@router.put("/user-operation/{operation_id}/clear-annotation", status_code=204)
def clear_operation_annotation(operation_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    operation_annotations.annotate(services, operation_id, None, actor=actor)
    return Response(status_code=204)
