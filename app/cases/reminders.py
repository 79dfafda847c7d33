"""Reminders (催办): whoever may read a case reminds the handlers of one of its open tasks. Each is an
event of the case's chained history and a row that the e-government systems read (GET
/api/reminders, newest last) to send the handlers a message (SMS, the platform's inbox)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.comments import readable_task_instance
from app.cases.instances import instance_of_open_work, record
from app.cases.tasks import get_task, optional_text
from app.context import Services
from app.errors import Conflict
from app.persistence.models import ProcessInstance, TaskReminder

# A task is reminded at most this often: enough for every party, too few to flood its handlers.
MAX_PER_TASK = 100


def remind(services: Services, task_id: str, body: dict[str, Any], *, actor: Principal) -> TaskReminder:
    message = optional_text(body.get("message"), "message", 500)
    with services.db.write() as session:
        task = get_task(session, task_id)
        permissions.require_instance_read(session, actor, task.process_instance_id, "Task", task_id)
        sent = session.scalar(select(func.count()).select_from(TaskReminder).where(TaskReminder.task_id == task_id))
        if (sent or 0) >= MAX_PER_TASK:
            raise Conflict(f"Task {task_id} has been reminded {MAX_PER_TASK} times; no more reminders are sent")
        instance = instance_of_open_work(session, task.process_instance_id)
        now = services.clock.now()
        reminder = TaskReminder(id=str(uuid.uuid4()), process_instance_id=instance.id, task_id=task_id,
                                activity_id=task.task_definition_key, message=message,
                                user_id=actor.user_id, created=now)
        session.add(reminder)
        record(session, instance, "task.reminded", now, user_id=actor.user_id, activity_id=task.task_definition_key,
               task_id=task_id, message=message, reminderId=reminder.id)
        session.flush()
        session.expunge(reminder)
        return reminder


def task_reminders(services: Services, task_id: str, reader: Principal) -> list[TaskReminder]:
    with services.db.read() as session:
        readable_task_instance(session, task_id, reader)
        return list(session.scalars(select(TaskReminder).where(TaskReminder.task_id == task_id)
                                    .order_by(TaskReminder.created, TaskReminder.id)))


def outbox(created_after: datetime | None) -> Select:
    """Every reminder, oldest first, with its case: what the systems send on."""
    query = select(TaskReminder, ProcessInstance).join(ProcessInstance,
                                                       ProcessInstance.id == TaskReminder.process_instance_id)
    if created_after is not None:
        query = query.where(TaskReminder.created > created_after)
    return query.order_by(TaskReminder.created, TaskReminder.id)
