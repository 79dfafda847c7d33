"""External tasks for outside workers: fetch and lock (with long polling), complete, report failures
and business errors, extend or give back the lock (the incidents failures leave: app.rest.camunda.incident)."""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from app.access.accounts import Principal
from app.access.permissions import SYSTEMS
from app.cases import batches, external_tasks, listing
from app.context import Services
from app.errors import InvalidRequest
from app.rest.camunda import queries, render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import counted, listed
from app.rest.params import flag, integer, query_dict, sort_order, suspension_state, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, optional_instant

if TYPE_CHECKING:
    from sqlalchemy import Select

router = ServiceRouter(prefix="/engine-rest", tags=["external-task"])
# External tasks are worked by the e-government systems.
_WORKER = role(SYSTEMS, permission="UPDATE", resource_type="ExternalTask")

_LISTS = frozenset({"externalTaskIdIn", "activityIdIn", "processInstanceIdIn", "processDefinitionKeyIn", "tenantIdIn"})
# Longest wait a long-polling fetch may ask for.
MAX_ASYNC_RESPONSE_MS = 1_800_000


def _topics(body: dict[str, Any]) -> list[external_tasks.TopicRequest]:
    raw = body.get("topics") or []
    if not isinstance(raw, list):
        raise InvalidRequest("'topics' must be a list")
    topics = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("topicName"), str):
            raise InvalidRequest("each topic needs a topicName")
        if item.get("processVariables"):
            # Silently fetching every case's task would hand work to a worker that asked for others.
            raise InvalidRequest(f"topic '{item['topicName']}': the processVariables filter is not supported here; "
                                 "narrow the fetch by businessKey, processDefinitionKey or tenantIdIn")
        variables, tenants = item.get("variables"), item.get("tenantIdIn")
        flag(item.get("deserializeValues"), "deserializeValues")  # Json values are always JSON text
        topics.append(external_tasks.TopicRequest(
            topic_name=item["topicName"],
            lock_duration_ms=integer(item.get("lockDuration"), "lockDuration", minimum=1) or 0,
            variables=text_list(variables, "variables") if variables is not None else None,
            local_variables=flag(item.get("localVariables"), "localVariables"),
            business_key=text(item, "businessKey"),
            process_definition_id=text(item, "processDefinitionId"),
            process_definition_ids=text_list(item.get("processDefinitionIdIn"), "processDefinitionIdIn"),
            process_definition_key=text(item, "processDefinitionKey"),
            process_definition_keys=text_list(item.get("processDefinitionKeyIn"), "processDefinitionKeyIn"),
            process_definition_version_tag=text(item, "processDefinitionVersionTag"),
            tenant_ids=text_list(tenants, "tenantIdIn") if tenants is not None else None,
            without_tenant_id=flag(item.get("withoutTenantId"), "withoutTenantId"),
            process_instance_id=text(item, "processInstanceId"),
            include_extension_properties=flag(item.get("includeExtensionProperties"), "includeExtensionProperties")))
    return topics


@router.post("/external-task/fetchAndLock", dependencies=[_WORKER],
             summary="Lock open tasks of the topics; waits up to asyncResponseTimeout ms for work to appear")
async def fetch_and_lock(services: ServicesDep, reader: PrincipalDep, body: JsonBody = None) -> list[dict[str, Any]]:
    body = body or {}
    worker_id = _worker(body)
    max_tasks = integer(body.get("maxTasks"), "maxTasks", 1)
    topics = _topics(body)
    use_priority = flag(body.get("usePriority"), "usePriority")
    timeout_ms = integer(body.get("asyncResponseTimeout"), "asyncResponseTimeout", 0)
    if timeout_ms > MAX_ASYNC_RESPONSE_MS:
        raise InvalidRequest(f"asyncResponseTimeout must be at most {MAX_ASYNC_RESPONSE_MS} ms")
    deadline = time.monotonic() + timeout_ms / 1000
    signal = services.db.committed
    while True:
        waiter = signal.subscribe("external_task")
        try:
            locked = await run_in_threadpool(external_tasks.fetch_and_lock, services, worker_id=worker_id,
                                              max_tasks=max_tasks, topics=topics, use_priority=use_priority,
                                              reader=reader)
            remaining = deadline - time.monotonic()
            if locked or remaining <= 0 or max_tasks == 0:
                zone = services.settings.zone
                return [render.locked_external_task(task.task, task.variables, task.extension_properties, zone)
                        for task in locked]
            await _wait(waiter[1], min(remaining, services.settings.long_poll_recheck_seconds))
        finally:
            signal.unsubscribe("external_task", waiter)


async def _wait(ready: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(ready.wait(), seconds)
    except TimeoutError:
        pass


def _worker(body: dict[str, Any]) -> str:
    worker_id = body.get("workerId")
    if not isinstance(worker_id, str) or not worker_id:
        raise InvalidRequest("workerId is required")
    return worker_id


@router.post("/external-task/{task_id}/complete", dependencies=[_WORKER], status_code=204)
def complete(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    variables = {**decode_variables(body.get("variables"), services.settings),
                 **decode_variables(body.get("localVariables"), services.settings)}
    external_tasks.complete(services, task_id, worker_id=_worker(body), variables=variables, actor=actor)
    return Response(status_code=204)


@router.post("/external-task/{task_id}/failure", dependencies=[_WORKER], status_code=204)
def failure(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    external_tasks.failure(services, task_id, worker_id=_worker(body), error_message=body.get("errorMessage"),
                           error_details=body.get("errorDetails"),
                           retries=integer(body.get("retries"), "retries", 0),
                           retry_timeout_ms=integer(body.get("retryTimeout"), "retryTimeout", 0), actor=actor)
    return Response(status_code=204)


@router.post("/external-task/{task_id}/bpmnError", dependencies=[_WORKER], status_code=204)
def bpmn_error(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    external_tasks.bpmn_error(services, task_id, worker_id=_worker(body), error_code=body.get("errorCode"),
                              error_message=body.get("errorMessage"),
                              variables=decode_variables(body.get("variables"), services.settings), actor=actor)
    return Response(status_code=204)


@router.post("/external-task/{task_id}/extendLock", dependencies=[_WORKER], status_code=204)
def extend_lock(task_id: str, services: ServicesDep, body: JsonBody = None) -> Response:
    body = body or {}
    external_tasks.extend_lock(services, task_id, worker_id=_worker(body),
                               new_duration_ms=integer(body.get("newDuration"), "newDuration", 0))
    return Response(status_code=204)


@router.post("/external-task/{task_id}/unlock", dependencies=[_WORKER], status_code=204)
def unlock(task_id: str, services: ServicesDep) -> Response:
    external_tasks.unlock(services, task_id)
    return Response(status_code=204)


@router.put("/external-task/{task_id}/retries", dependencies=[_WORKER], status_code=204)
def set_retries(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    body = body or {}
    if body.get("retries") is None:
        raise InvalidRequest("retries is required")
    external_tasks.set_retries(services, [task_id], integer(body.get("retries"), "retries", 0), actor=actor)
    return Response(status_code=204)


def _retries_and_targets(body: dict[str, Any], services: Services, actor: Principal,
                         most: int) -> tuple[int, list[str]]:
    """The retries and the tasks of a bulk retries request: externalTaskIds, the open tasks of the
    cases named by processInstanceIds, processInstanceQuery or historicProcessInstanceQuery, and
    those externalTaskQuery finds; at most `most` of them."""
    if body.get("retries") is None:
        raise InvalidRequest("The number of retries cannot be negative or null.")
    retries = integer(body.get("retries"), "retries", 0)
    task_ids = text_list(body.get("externalTaskIds"), "externalTaskIds")
    task_ids += external_tasks.tasks_of_instances(services, queries.instance_targets(body, services, actor))
    query = body.get("externalTaskQuery")
    if query is not None:
        if not isinstance(query, dict):
            raise InvalidRequest("'externalTaskQuery' must be an object")
        found, keep = _external_task_query(query, services, actor), _kept(query, services, actor)
        tasks = listing.rows(services, found, 0, most + 1) if keep is None else \
            listing.rows_kept(services, found, keep, 0, most + 1)
        if len(tasks) > most:
            raise InvalidRequest(f"The externalTaskQuery finds more than {most} tasks")
        task_ids += [task.id for task in tasks]
    if not task_ids:
        raise InvalidRequest("externalTaskIds, processInstanceIds or externalTaskQuery must name at least one task")
    if len(task_ids) > most:
        raise InvalidRequest(f"At most {most} external tasks are given retries at once")
    return retries, task_ids


@router.put("/external-task/retries", dependencies=[_WORKER], status_code=204,
            summary="New retries for several tasks at once: externalTaskIds, processInstanceIds, externalTaskQuery")
def set_retries_of_many(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    retries, task_ids = _retries_and_targets(body or {}, services, actor, services.settings.page_size_max)
    external_tasks.set_retries(services, task_ids, retries, actor=actor)
    return Response(status_code=204)


@router.post("/external-task/retries-async", dependencies=[_WORKER],
             summary="New retries for many tasks, each set later by the timer worker (a batch)")
def set_retries_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    retries, task_ids = _retries_and_targets(body or {}, services, actor, services.settings.batch_max_targets)
    batch = batches.create(services, batches.EXTERNAL_TASK_RETRIES, task_ids, {"retries": retries}, actor=actor,
                           empty_message="externalTaskIds is empty")
    return render.batch(batch, services.settings.zone)


@router.post("/external-task/{task_id}/lock", dependencies=[_WORKER], status_code=204)
def lock(task_id: str, services: ServicesDep, body: JsonBody = None) -> Response:
    body = body or {}
    external_tasks.lock(services, task_id, worker_id=text(body, "workerId") or "",
                        duration_ms=integer(body.get("lockDuration"), "lockDuration", 0))
    return Response(status_code=204)


@router.put("/external-task/{task_id}/priority", dependencies=[_WORKER], status_code=204)
def set_priority(task_id: str, services: ServicesDep, body: JsonBody = None) -> Response:
    body = body or {}
    if body.get("priority") is None:
        raise InvalidRequest("priority is required")
    external_tasks.set_priority(services, task_id, integer(body.get("priority"), "priority", 0))
    return Response(status_code=204)


def _narrowing(p: dict[str, Any], many: str, *ones: str) -> tuple[tuple[str, ...], ...]:
    """A Camunda filter given as single values and as a list: each given narrows the tasks."""
    sets = [(value,) for value in (text(p, one) for one in ones) if value is not None]
    return (*sets, *(tuple(values) for values in (text_list(p.get(many), many),) if values))


def _kept(p: dict[str, Any], services: Services, viewer: Principal) -> listing.Keep | None:
    """The query's processVariables, as a keep of the tasks whose case has them."""
    return queries.variables_kept(p, "processVariables", services, viewer, lambda row: row.process_instance_id)


def _external_task_query(p: dict[str, Any], services: Services, viewer: Principal) -> Select:
    zone = services.settings.zone
    return external_tasks.external_task_query(external_tasks.ExternalTaskFilter(
        # The service shows an external task's own id as its executionId.
        task_ids=_narrowing(p, "externalTaskIdIn", "externalTaskId", "executionId"),
        instance_ids=_narrowing(p, "processInstanceIdIn", "processInstanceId"),
        definition_keys=_narrowing(p, "processDefinitionKeyIn", "processDefinitionKey"),
        activity_ids=_narrowing(p, "activityIdIn", "activityId"),
        topic_name=text(p, "topicName"), worker_id=text(p, "workerId"), definition_id=text(p, "processDefinitionId"),
        definition_name=text(p, "processDefinitionName"), definition_name_like=text(p, "processDefinitionNameLike"),
        business_key=text(p, "businessKey"), tenant_ids=tuple(text_list(p.get("tenantIdIn"), "tenantIdIn")),
        lock_expires_before=optional_instant(p, "lockExpirationBefore", zone),
        lock_expires_after=optional_instant(p, "lockExpirationAfter", zone),
        locked=flag(p.get("locked"), "locked"), not_locked=flag(p.get("notLocked"), "notLocked"),
        with_retries_left=flag(p.get("withRetriesLeft"), "withRetriesLeft"),
        no_retries_left=flag(p.get("noRetriesLeft"), "noRetriesLeft"), suspended=suspension_state(p),
        lowest_priority=integer(p.get("priorityHigherThanOrEquals"), "priorityHigherThanOrEquals", minimum=-2**63),
        highest_priority=integer(p.get("priorityLowerThanOrEquals"), "priorityLowerThanOrEquals", minimum=-2**63),
        sorting=tuple((key, order == "desc") for key, order in sort_order(p, external_tasks.EXTERNAL_TASK_SORTS))),
        services.clock.now(), viewer=viewer)


def _list_external(services: Services, viewer: Principal, params: dict[str, Any]) -> list[dict[str, Any]]:
    zone = services.settings.zone
    query = _external_task_query(params, services, viewer)
    return listed(services, query, params, lambda row: render.external_task(row, zone),
                  _kept(params, services, viewer))


@router.get("/external-task")
def list_external_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    return _list_external(services, viewer, query_dict(request, _LISTS))


@router.post("/external-task")
def query_external_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep,
                         body: JsonBody = None) -> list[dict[str, Any]]:
    return _list_external(services, viewer, {**(body or {}), **query_dict(request)})


@router.get("/external-task/count")
def count_external_tasks(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    params = query_dict(request, _LISTS)
    return counted(services, _external_task_query(params, services, viewer), _kept(params, services, viewer))


@router.post("/external-task/count")
def count_external_tasks_by_body(services: ServicesDep, viewer: PrincipalDep, body: JsonBody = None) -> dict[str, int]:
    body = body or {}
    return counted(services, _external_task_query(body, services, viewer), _kept(body, services, viewer))


@router.get("/external-task/topic-names", summary="The topics of open tasks (withLockedTasks, withUnlockedTasks, "
                                                   "withRetriesLeft)")
def topic_names(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[str]:
    p = query_dict(request)
    criteria = {"locked": p.get("withLockedTasks"), "notLocked": p.get("withUnlockedTasks"),
                "withRetriesLeft": p.get("withRetriesLeft")}
    return external_tasks.topic_names(services, _external_task_query(criteria, services, viewer))


@router.get("/external-task/{task_id}")
def get_external_task(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> dict[str, Any]:
    task = external_tasks.readable_external_task(services, task_id, viewer)
    return render.external_task(task, services.settings.zone)


@router.get("/external-task/{task_id}/errorDetails", summary="The full error details of the last failure",
            response_class=PlainTextResponse, responses={204: {"description": "no failure reported"}})
def error_details(task_id: str, services: ServicesDep, viewer: PrincipalDep) -> Response:
    details = external_tasks.readable_external_task(services, task_id, viewer).error_details
    return PlainTextResponse(details) if details is not None else Response(status_code=204)
