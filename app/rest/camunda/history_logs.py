"""Camunda's historic external task log, identity link log and details (app.cases.history_logs).

Where the service differs from Camunda:
* the rows are read from the chained history, so events recorded before these logs existed give
  what they recorded: an external task's creation and deletion were not recorded then, and its
  failures and completions did not name its priority (null) or, for a failure, its topic and error
  details;
* a detail is a value a command set (see app.cases.history_logs): values scripts and mappings set
  inside a step are none, and a date set by a command shows as the text it was given;
* `deserializeValues` / `deserializeValue` are accepted and change nothing (Json values are JSON text);
* the identity link log and the details are built by walking the cases' events: narrow them by case,
  task or process where there are many cases, as with the variable instances.
"""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse

from app.access.accounts import Principal
from app.cases import history_logs
from app.cases.history_logs import DetailFilter, ExternalTaskLogFilter, IdentityLinkFilter, Page
from app.context import Services
from app.rest.binary import DATA_RESPONSES, data_response
from app.rest.camunda import render
from app.rest.camunda.unread import refuse_unread
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.listing import counted, listed, page_bounds
from app.rest.params import flag, integer, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import encode_value, optional_instant

router = ServiceRouter(prefix="/engine-rest/history", tags=["history"])

# The smallest priority a task may have (a 64-bit integer, as Camunda's).
_LOWEST = -(2**63)


def _sort_desc(p: dict[str, Any], allowed: dict[str, Any]) -> dict[str, bool]:
    return {key: direction == "desc" for key, direction in sort_order(p, allowed)}


def _page(services: Services, p: dict[str, Any], paging: dict[str, Any], allowed: dict[str, Any]) -> Page:
    first, most = page_bounds(paging, services.settings)
    return Page(first, most, _sort_desc(p, allowed), allowed)


# --- external task log -----------------------------------------------------------------------------

_TASK_LOG_LISTS = frozenset({"activityIdIn", "activityInstanceIdIn", "executionIdIn", "tenantIdIn"})


def _task_log_filter(p: dict[str, Any], viewer: Principal) -> ExternalTaskLogFilter:
    # As Camunda applies them, the last of the four states given wins.
    states = [state for state in history_logs.EXTERNAL_TASK_LOGS.values() if flag(p.get(state), state)]
    return ExternalTaskLogFilter(
        viewer=viewer, log_id=text(p, "logId"), external_task_id=text(p, "externalTaskId"),
        topic_name=text(p, "topicName"), worker_id=text(p, "workerId"), error_message=text(p, "errorMessage"),
        activity_ids=text_list(p.get("activityIdIn"), "activityIdIn"),
        task_ids=[*text_list(p.get("activityInstanceIdIn"), "activityInstanceIdIn"),
                  *text_list(p.get("executionIdIn"), "executionIdIn")],
        process_instance_id=text(p, "processInstanceId"), process_definition_id=text(p, "processDefinitionId"),
        process_definition_key=text(p, "processDefinitionKey"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        priority_at_most=integer(p.get("priorityLowerThanOrEquals"), "priorityLowerThanOrEquals", minimum=_LOWEST),
        priority_at_least=integer(p.get("priorityHigherThanOrEquals"), "priorityHigherThanOrEquals",
                                  minimum=_LOWEST),
        state=states[-1] if states else None,
        sort_desc=_sort_desc(p, history_logs.EXTERNAL_TASK_LOG_SORT))


def _task_logs(services: Services, viewer: Principal, params: dict[str, Any],
               paging: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, history_logs.external_task_log_query(_task_log_filter(params, viewer)), paging,
                  lambda row: render.external_task_log(row, zone))


@router.get("/external-task-log", summary="Each event of the external tasks' lives: created, failed, "
                                           "completed, deleted")
def external_task_logs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _TASK_LOG_LISTS)
    return _task_logs(services, viewer, params, params)


@router.post("/external-task-log")
def query_external_task_logs(request: Request, services: ServicesDep, viewer: PrincipalDep,
                             body: JsonBody = None) -> list[dict[str, Any]]:
    return _task_logs(services, viewer, body or {}, query_dict(request))


@router.get("/external-task-log/count")
def count_external_task_logs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _task_log_filter(query_dict(request, _TASK_LOG_LISTS), viewer)
    return counted(services, history_logs.external_task_log_query(criteria))


@router.post("/external-task-log/count")
def count_external_task_logs_by_body(services: ServicesDep, viewer: PrincipalDep,
                                     body: JsonBody = None) -> dict[str, int]:
    return counted(services, history_logs.external_task_log_query(_task_log_filter(body or {}, viewer)))


@router.get("/external-task-log/{log_id}")
def external_task_log(log_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return render.external_task_log(history_logs.external_task_log(services, log_id, viewer),
                                    services.settings.zone)


@router.get("/external-task-log/{log_id}/error-details", summary="The error details a worker reported",
            response_class=PlainTextResponse, responses={204: {"description": "no error details reported"}})
def external_task_log_error_details(log_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    details = history_logs.external_task_error_details(services, log_id, viewer)
    return PlainTextResponse(details) if details is not None else Response(status_code=204)


# --- identity link log -----------------------------------------------------------------------------

def _identity_link_filter(p: dict[str, Any], services: Services, viewer: Principal) -> IdentityLinkFilter:
    zone = services.settings.zone
    return IdentityLinkFilter(
        viewer=viewer, type=text(p, "type"), user_id=text(p, "userId"), group_id=text(p, "groupId"),
        task_id=text(p, "taskId"), process_definition_id=text(p, "processDefinitionId"),
        process_definition_key=text(p, "processDefinitionKey"), operation_type=text(p, "operationType"),
        assigner_id=text(p, "assignerId"), tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        before=optional_instant(p, "dateBefore", zone), after=optional_instant(p, "dateAfter", zone))


@router.get("/identity-link-log", summary="Whom tasks were offered and assigned to and no longer, and who did it")
def identity_link_logs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, frozenset({"tenantIdIn"}))
    criteria = _identity_link_filter(params, services, viewer)
    rows = history_logs.identity_links(services, criteria,
                                       _page(services, params, params, history_logs.IDENTITY_LINK_SORT))
    return [render.identity_link_log(row, services.settings.zone) for row in rows]


@router.get("/identity-link-log/count")
def count_identity_link_logs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _identity_link_filter(query_dict(request, frozenset({"tenantIdIn"})), services, viewer)
    return {"count": history_logs.count_identity_links(services, criteria)}


# --- details -------------------------------------------------------------------------------------

_DETAIL_LISTS = frozenset({"variableTypeIn", "tenantIdIn", "processInstanceIdIn"})


def _detail_filter(p: dict[str, Any], services: Services, viewer: Principal,
                   detail_id: str | None = None) -> DetailFilter:
    refuse_unread(p, "history/detail")
    zone = services.settings.zone
    return DetailFilter(
        viewer=viewer, detail_id=detail_id, typed=lambda value: encode_value(value, zone),
        process_instance_id=text(p, "processInstanceId"),
        process_instance_ids=text_list(p.get("processInstanceIdIn"), "processInstanceIdIn"),
        execution_id=text(p, "executionId"), activity_instance_id=text(p, "activityInstanceId"),
        task_id=text(p, "taskId"), variable_instance_id=text(p, "variableInstanceId"),
        variable_types=text_list(p.get("variableTypeIn"), "variableTypeIn"),
        variable_name_like=text(p, "variableNameLike"),
        form_fields=flag(p.get("formFields"), "formFields"),
        variable_updates=flag(p.get("variableUpdates"), "variableUpdates"),
        exclude_task_details=flag(p.get("excludeTaskDetails"), "excludeTaskDetails"),
        user_operation_id=text(p, "userOperationId"), initial=flag(p.get("initial"), "initial"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant_id=flag(p.get("withoutTenantId"), "withoutTenantId"),
        before=optional_instant(p, "occurredBefore", zone), after=optional_instant(p, "occurredAfter", zone))


def _details(services: Services, viewer: Principal, params: dict[str, Any],
             paging: dict[str, Any]) -> list[dict[str, Any]]:
    flag(paging.get("deserializeValues"), "deserializeValues")
    criteria = _detail_filter(params, services, viewer)
    rows = history_logs.details(services, criteria, _page(services, params, paging, history_logs.DETAIL_SORT))
    return [render.historic_detail(row, services.settings.zone) for row in rows]


@router.get("/detail", summary="Each variable value commands set and each task form field submitted")
def historic_details(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _DETAIL_LISTS)
    return _details(services, viewer, params, params)


@router.post("/detail")
def query_historic_details(request: Request, services: ServicesDep, viewer: PrincipalDep,
                           body: JsonBody = None) -> list[dict[str, Any]]:
    return _details(services, viewer, body or {}, query_dict(request))


@router.get("/detail/count")
def count_historic_details(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    criteria = _detail_filter(query_dict(request, _DETAIL_LISTS), services, viewer)
    return {"count": history_logs.count_details(services, criteria)}


@router.get("/detail/{detail_id}/data", response_class=Response, responses=DATA_RESPONSES,
            summary="The content of a Bytes or File value a command set")
def historic_detail_data(detail_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    row = history_logs.detail(services, _detail_filter({}, services, viewer, detail_id))
    return data_response(services, row.fields.get("value"), detail_id)


@router.get("/detail/{detail_id}")
def historic_detail(detail_id: str, request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    flag(request.query_params.get("deserializeValue"), "deserializeValue")
    row = history_logs.detail(services, _detail_filter({}, services, viewer, detail_id))
    return render.historic_detail(row, services.settings.zone)
