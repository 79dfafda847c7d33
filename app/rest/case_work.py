"""Case work Camunda's REST has no call for: copies (抄送) and reminders (催办)."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.access.permissions import SYSTEMS
from app.cases import copies, reminders
from app.persistence.models import CaseCopy, ProcessInstance, TaskReminder
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.listing import listed
from app.rest.params import query_dict, text
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
    return {"id": row.id, "taskId": row.task_id, "processInstanceId": row.process_instance_id,
            "activityId": row.activity_id, "message": row.message, "userId": row.user_id,
            "time": format_instant(row.created, services.settings.zone)}


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


@router.get("/reminders", dependencies=[role(SYSTEMS, permission="READ", resource_type="Reminder")],
            summary="Every reminder, oldest first, for the systems that send them on (createdAfter, paging)")
def reminder_outbox(request: Request, services: ServicesDep) -> list[dict[str, Any]]:
    params = query_dict(request)
    after = optional_instant(params, "createdAfter", services.settings.zone)

    def row(found: Any) -> dict[str, Any]:
        reminder, instance = found
        return _reminder(reminder, services) | {"businessKey": instance.business_key,
                                                 "processDefinitionKey": instance.definition_key}
    return listed(services, reminders.outbox(after), params, row)
