from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from fastapi import Request, Response

from app.access.accounts import Principal
from app.access.permissions import SYSTEMS
from app.cases import jobs, timers
from app.context import Services
from app.errors import BadUserRequest, InvalidRequest
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import (
    delimited,
    flag,
    integer,
    kind_of,
    query_dict,
    required_boolean,
    sort_order,
    suspension_state,
    text,
    text_list,
)
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant, parse_instant

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from sqlalchemy import Select

    from app.persistence.models import ProcessInstance, Timer

router = ServiceRouter(prefix="/engine-rest/job", tags=["job"])
# Job commands are operators' commands, as resolving incidents is.
_LISTS = frozenset({"jobIds", "processInstanceIds", "tenantIdIn"})
_OPERATOR = role(SYSTEMS, permission="UPDATE", resource_type="Job")
_NO_RETRIES = ("The service's timers do not fail as jobs: a firing whose step fails is written not at all and "
               "retried at the timer worker's next round, so a timer has no retries to set. Suspend it "
               "(PUT /job/{id}/suspended) to keep it from firing.")


def _conditions(p: dict[str, Any], name: str, zone: tzinfo) -> dict[str, datetime]:
    """Camunda's date conditions (dueDates, createTimes): `gt_<date>,lt_<date>` in a query string,
    [{operator, value}] in a body; the last given of each operator counts, as in Camunda."""
    raw = p.get(name)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        pairs = [(operator, value) for operator, value in
                 delimited(raw, 2, name, "OPERATOR_VALUE (gt_2026-01-01T00:00:00.000+0800)")]
    elif isinstance(raw, list) and all(isinstance(item, dict) for item in raw):
        pairs = [(item.get("operator"), item.get("value")) for item in raw]
    else:
        raise InvalidRequest(f"'{name}' must be a list of {{operator, value}}")
    found: dict[str, datetime] = {}
    for operator, value in pairs:
        if operator not in ("gt", "lt"):
            shown = operator if isinstance(operator, str) else kind_of(operator)
            raise InvalidRequest(f"Invalid {name} comparator specified: {shown[:100]} (gt or lt)")
        if not isinstance(value, str):
            raise InvalidRequest(f"'{name}': the value of a condition must be a date")
        found[operator] = parse_instant(value, zone, f"parameter '{name}'")
    return found


def _filter(p: dict[str, Any], services: Services) -> timers.JobFilter:
    """Camunda's job query parameters; each given filter narrows the rows, as Camunda ANDs them."""
    zone = services.settings.zone
    only_timers, only_messages = flag(p.get("timers"), "timers"), flag(p.get("messages"), "messages")
    if only_timers and only_messages:
        raise InvalidRequest("Parameter timers cannot be used together with parameter messages.")
    ids = [[value] for value in (text(p, "jobId"),) if value]
    ids += [values for values in (text_list(p.get("jobIds"), "jobIds"),) if values]
    # A job's executionId is its case's id, as the service shows it.
    cases = [[value] for value in (text(p, "processInstanceId"), text(p, "executionId")) if value]
    cases += [values for values in (text_list(p.get("processInstanceIds"), "processInstanceIds"),) if values]
    due, created = _conditions(p, "dueDates", zone), _conditions(p, "createTimes", zone)
    tenants = text_list(p.get("tenantIdIn"), "tenantIdIn")
    untenanted = flag(p.get("withoutTenantId"), "withoutTenantId")
    flag(p.get("withRetriesLeft"), "withRetriesLeft")  # every job has its retries
    never = (only_messages or text(p, "exceptionMessage") is not None or text(p, "failedActivityId") is not None
             or any([flag(p.get(name), name) for name in ("withException", "noRetriesLeft", "acquired")]))
    return timers.JobFilter(
        job_ids=tuple(tuple(values) for values in ids), instance_ids=tuple(tuple(values) for values in cases),
        definition_id=text(p, "processDefinitionId"), definition_key=text(p, "processDefinitionKey"),
        activity_id=text(p, "activityId"), job_definition_id=text(p, "jobDefinitionId"),
        executable_at=services.clock.now() if flag(p.get("executable"), "executable") else None,
        suspended=suspension_state(p), due_after=due.get("gt"), due_before=due.get("lt"),
        created_after=created.get("gt"), created_until=created.get("lt"),
        lowest_priority=integer(p.get("priorityHigherThanOrEquals"), "priorityHigherThanOrEquals", minimum=-2**63),
        highest_priority=integer(p.get("priorityLowerThanOrEquals"), "priorityLowerThanOrEquals", minimum=-2**63),
        tenant_ids=() if untenanted else (tuple(tenants) if tenants else None),
        with_untenanted=untenanted or flag(p.get("includeJobsWithoutTenantId"), "includeJobsWithoutTenantId"),
        none=never, sorting=tuple((key, order == "desc") for key, order in sort_order(p, timers.JOB_SORTS)))


def _query(p: dict[str, Any], services: Services, viewer: Principal) -> Select:
    return timers.job_query(_filter(p, services), viewer)


def _job(row: tuple[Timer, ProcessInstance | None, str | None], zone: tzinfo) -> dict[str, Any]:
    timer, instance, tenant = row
    definition_id = instance.definition_id if instance is not None else timer.process_definition_id
    return {"id": timer.id, "jobDefinitionId": f"{definition_id}#{timer.activity_id}",
            "processInstanceId": timer.process_instance_id, "executionId": timer.process_instance_id,
            "processDefinitionId": definition_id, "processDefinitionKey": timer.process_definition_key,
            "dueDate": format_instant(timer.due_at, zone), "exceptionMessage": None, "failedActivityId": None,
            "retries": 3, "suspended": timer.suspended, "priority": timer.priority, "tenantId": tenant,
            "createTime": format_instant(timer.created, zone)}


@router.get("", summary="Pending timers as Camunda jobs (timers=true)")
def list_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, _query(params, services, viewer), params, lambda row: _job(row, zone))


@router.get("/count")
def count_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, _query(query_dict(request, _LISTS), services, viewer))


@router.post("", summary="Jobs queried by a body (paging in the query string)")
def query_jobs(request: Request, services: ServicesDep, viewer: PrincipalDep,
               body: JsonBody = None) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return listed(services, _query(body or {}, services, viewer), query_dict(request), lambda row: _job(row, zone))


@router.post("/count")
def count_jobs_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    return counted(services, _query(body or {}, services, viewer))


@router.get("/{job_id}")
def get_job(job_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    return _job(timers.readable_job(services, job_id, viewer), services.settings.zone)


@router.put("/suspended", dependencies=[_OPERATOR], status_code=204,
            summary="Suspend or activate the timers of a job definition, an instance, a definition or a key")
def set_suspended_by(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    jobs.set_suspended_by(services, body, required_boolean(body, "suspended"), actor=actor)
    return Response(status_code=204)


@router.put("/{job_id}/duedate", dependencies=[_OPERATOR], status_code=204,
            summary="Move a timer (duedate; null: now; cascade moves the following firings of a cycle)")
def set_due_date(job_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    if "duedate" not in body:
        raise InvalidRequest("duedate is required (null makes the job due now)")
    raw = body["duedate"]
    if raw is not None and not isinstance(raw, str):
        raise InvalidRequest("duedate must be a date such as 2026-06-30T00:00:00.000+0800, or null")
    due = parse_instant(raw, services.settings.zone, "duedate") if raw is not None else None
    jobs.set_due_date(services, job_id, due, cascade=flag(body.get("cascade"), "cascade"), actor=actor)
    return Response(status_code=204)


@router.post("/{job_id}/duedate/recalculate", dependencies=[_OPERATOR], status_code=204,
             summary="Recompute a timer's due date from its definition (from its creation, or now)")
def recalculate_due_date(job_id: str, request: Request, services: ServicesDep, actor: PrincipalDep) -> Response:
    params = query_dict(request)
    based = params.get("creationDateBased")
    jobs.recalculate_due_date(services, job_id, creation_date_based=based is None or flag(based, "creationDateBased"),
                              actor=actor)
    return Response(status_code=204)


@router.post("/{job_id}/execute", dependencies=[_OPERATOR], status_code=204,
             summary="Fire a timer now, as the timer worker fires a due one")
def execute_job(job_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    jobs.execute(services, job_id, actor=actor)
    return Response(status_code=204)


@router.put("/{job_id}/suspended", dependencies=[_OPERATOR], status_code=204)
def set_suspended(job_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    jobs.set_suspended(services, job_id, required_boolean(body or {}, "suspended"), actor=actor)
    return Response(status_code=204)


@router.put("/{job_id}/priority", dependencies=[_OPERATOR], status_code=204)
def set_priority(job_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    if body.get("priority") is None:
        raise InvalidRequest(f"Priority for job '{job_id}' cannot be null.")
    jobs.set_priority(services, job_id, jobs.parse_priority(body["priority"]), actor=actor)
    return Response(status_code=204)


@router.put("/{job_id}/retries", dependencies=[_OPERATOR], status_code=204,
            summary="Refused: the service's timers have no retries (see the README's note)")
def set_retries(job_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    jobs.require_waiting(services, job_id, actor=actor)
    refuse_retries(body)


@router.post("/retries", dependencies=[_OPERATOR],
             summary="Refused: the service's timers have no retries (see the README's note)")
def set_retries_async(body: JsonBody = None) -> Response:
    refuse_retries(body)


def refuse_retries(body: dict[str, Any] | None) -> NoReturn:
    """Retries are checked as Camunda checks them, then refused: a timer has none (_NO_RETRIES)."""
    body = body or {}
    if body.get("retries") is None:
        raise InvalidRequest("The number of retries cannot be negative or null.")
    integer(body.get("retries"), "retries", 0)
    raise BadUserRequest(_NO_RETRIES)


@router.get("/{job_id}/stacktrace", summary="The failure of a failed job: a timer has none (204)")
def get_stacktrace(job_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    timers.readable_job(services, job_id, viewer)
    return Response(status_code=204)


@router.delete("/{job_id}", dependencies=[_OPERATOR], status_code=204,
               summary="Delete a timer the case can do without (a boundary timer, a timer start event)")
def delete_job(job_id: str, services: ServicesDep, actor: PrincipalDep) -> Response:
    jobs.delete(services, job_id, actor=actor)
    return Response(status_code=204)
