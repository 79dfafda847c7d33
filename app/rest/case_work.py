"""Case work Camunda's REST has no call for: copies (抄送), reminders (催办) and the statutory clock (计时暂停)."""
from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from app.access.permissions import SYSTEMS
from app.cases import copies, reminders
from app.deadlines import statutory
from app.persistence.models import CaseCopy, ProcessInstance, TaskReminder
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import listed
from app.rest.params import integer, query_dict, text, text_list
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant, optional_instant

router = ServiceRouter(prefix="/api", tags=["case work"])


def _copy(row: CaseCopy, instance: ProcessInstance | None, services: ServicesDep) -> dict[str, Any]:
    answer = {"id": row.id, "processInstanceId": row.process_instance_id, "activityId": row.activity_id,
              "taskId": row.task_id, "recipientType": row.kind, "recipient": row.identity, "copiedBy": row.copied_by,
              "note": row.note, "time": format_instant(row.created, services.settings.zone)}
    if instance is not None:
        answer |= {"businessKey": instance.business_key, "processDefinitionKey": instance.definition_key,
                   "state": instance.status}
    return answer


def _reminder(row: TaskReminder, services: ServicesDep) -> dict[str, Any]:
    zone = services.settings.zone
    return {"id": row.id, "taskId": row.task_id, "processInstanceId": row.process_instance_id,
            "activityId": row.activity_id, "message": row.message, "userId": row.user_id,
            "time": format_instant(row.created, zone), "topic": row.topic, "workerId": row.worker_id,
            "lockExpirationTime": format_instant(row.lock_expiration, zone) if row.lock_expiration else None,
            "delivered": format_instant(row.delivered, zone) if row.delivered else None}


def _outgoing(reminder: TaskReminder, instance: ProcessInstance, services: ServicesDep) -> dict[str, Any]:
    return _reminder(reminder, services) | {"businessKey": instance.business_key,
                                             "processDefinitionKey": instance.definition_key}


@router.post("/tasks/{task_id}/copies", summary="Copy (抄送) an open task's case to groups or users, who then "
             "read it: {\"groups\": [...], \"users\": [...], \"note\": ...}")
def copy_task(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> list[dict[str, Any]]:
    return [_copy(row, None, services) for row in copies.copy_task(services, task_id, body or {}, actor=actor)]


@router.get("/copies", summary="The cases copied to me or my groups, newest first (抄送我的)")
def copied_to_me(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    return listed(services, copies.copied_to(viewer, text(params, "processInstanceId")), params,
                  lambda row: _copy(row[0], row[1], services))


@router.post("/tasks/{task_id}/reminders", summary="Remind (催办) the handlers of an open task: {\"message\": ...}")
def remind(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    return _reminder(reminders.remind(services, task_id, body or {}, actor=actor), services)


@router.get("/tasks/{task_id}/reminders", summary="The reminders of a task, oldest first")
def task_reminders(task_id: str, services: ServicesDep, reader: PrincipalDep) -> list[dict[str, Any]]:
    return [_reminder(row, services) for row in reminders.task_reminders(services, task_id, reader)]


# The systems that send reminders on take them as they work external tasks.
_SENDER = role(SYSTEMS, permission="UPDATE", resource_type="Reminder")


@router.get("/reminders", dependencies=[role(SYSTEMS, permission="READ", resource_type="Reminder")],
            summary="Every reminder, oldest first, for the systems that send them on (createdAfter, topic, paging)")
def reminder_outbox(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    after = optional_instant(params, "createdAfter", services.settings.zone)
    return listed(services, reminders.outbox(after, text(params, "topic")), params,
                  lambda found: _outgoing(found[0], found[1], services))


@router.post("/reminders/fetchAndLock", dependencies=[_SENDER],
             summary="Lease undelivered reminders of the topics to a sender: {\"workerId\", \"topics\": [...], "
                     "\"maxTasks\", \"lockDuration\" (ms)}")
def fetch_reminders(services: ServicesDep, body: JsonBody = None) -> list[dict[str, Any]]:
    body = body or {}
    locked = reminders.fetch_and_lock(services, worker_id=body.get("workerId"),
                                      topics=text_list(body.get("topics"), "topics"),
                                      max_tasks=integer(body.get("maxTasks"), "maxTasks", 1),
                                      lock_duration_ms=integer(body.get("lockDuration"), "lockDuration"))
    return [_outgoing(found.reminder, found.instance, services) for found in locked]


@router.post("/reminders/{reminder_id}/complete", dependencies=[_SENDER], status_code=204,
             summary="Report a leased reminder delivered: {\"workerId\"}")
def complete_reminder(reminder_id: str, services: ServicesDep, actor: PrincipalDep,
                      body: JsonBody = None) -> Response:
    reminders.complete(services, reminder_id, worker_id=(body or {}).get("workerId"), actor=actor)
    return Response(status_code=204)


def _limit(limit: statutory.Limit | None) -> dict[str, Any] | None:
    return None if limit is None else {"days": limit.days, "unit": "workingDays" if limit.working else "days"}


@router.get("/process-instances/{instance_id}/clock",
            summary="The statutory clock of a case: used, stopped and remaining days, each stop with its reason")
def clock(instance_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    found = statutory.statutory_clock(services, instance_id, reader)
    zone = services.settings.zone
    return {
        "processInstanceId": instance_id, "statutoryLimit": _limit(found.limit),
        "promisedLimit": _limit(found.promised),
        "started": found.started.isoformat(), "ended": found.ended, "paused": found.paused,
        "usedDays": found.used_days, "pausedDays": found.paused_days,
        "extendedDays": sum(extension.working_days for extension in found.extensions),
        "remainingDays": found.remaining_days, "promisedRemainingDays": found.promised_remaining_days,
        "level": found.level, "lastDay": found.last_day.isoformat() if found.last_day else None,
        "stops": [{"kind": stop.kind, "reason": stop.reason, "activityId": stop.activity_id, "by": stop.by,
                   "from": format_instant(stop.start, zone), "to": format_instant(stop.end, zone),
                   "days": stop.working_days} for stop in found.stops],
        "extensions": [{"days": extension.working_days, "reason": extension.reason, "by": extension.by,
                        "approvedBy": extension.approved_by, "time": format_instant(extension.at, zone)}
                       for extension in found.extensions],
        "problems": found.problems,
    }


@router.post("/process-instances/{instance_id}/clock/pause", status_code=204,
             summary="Stop the statutory clock (暂停计时) while a special procedure runs: {\"reason\": ...}")
def pause_clock(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    statutory.pause(services, instance_id, body or {}, actor=actor)
    return Response(status_code=204)


@router.post("/process-instances/{instance_id}/clock/resume", status_code=204,
             summary="Start the statutory clock again (恢复计时)")
def resume_clock(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    statutory.resume(services, instance_id, body or {}, actor=actor)
    return Response(status_code=204)


@router.post("/process-instances/{instance_id}/clock/extensions", status_code=204,
             summary="Extend the statutory limit (延期), by an administrator: {\"workingDays\", \"reason\", "
                     "\"approvedBy\"}")
def extend_clock(instance_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    statutory.extend(services, instance_id, body or {}, actor=actor)
    return Response(status_code=204)
