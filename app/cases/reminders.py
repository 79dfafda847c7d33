"""Reminders (催办): whoever may read a case reminds the handlers of one of its open tasks. Each is an
event of the case's chained history and a row of an outbox that the e-government systems send on
(an SMS, the platform's inbox): they read it (GET /api/reminders, newest last), or, for the topic
the procedure names (camunda:property `reminderTopic` on the user task, else on the process), take
reminders under a lease on the injected clock and report each delivered, as workers do external
tasks (app.cases.leases): several senders never get the same reminder while its lease runs."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases import leases
from app.cases.comments import readable_task_instance
from app.cases.hooks import StepHook
from app.cases.instances import case_of_task, instance_of_open_work, record
from app.cases.tasks import get_task, optional_text
from app.context import Services
from app.engine import ProcessModel
from app.errors import Conflict, InvalidProcessModel, InvalidRequest, NotFound
from app.persistence.models import ProcessInstance, TaskReminder

# A task is reminded at most this often: enough for every party, too few to flood its handlers.
MAX_PER_TASK = 100
TOPIC = "reminderTopic"
# Bounds of one fetch: reminders handed out, topics asked for and their names, and the lease.
MAX_FETCHED, MAX_TOPICS, MAX_NAME = 100, 20, 255
MAX_LOCK_MS = 24 * 60 * 60 * 1000


def topic_of(model: ProcessModel, activity_id: str) -> str | None:
    """The topic the user task's reminders go to: its own reminderTopic, else the process's."""
    element = model.elements.get(activity_id)
    return (element.properties.get(TOPIC) if element is not None else None) or model.properties.get(TOPIC)


class ReminderTopics(StepHook):
    """A reminderTopic that names no topic, or sits where no reminder is sent, is refused at deploy."""

    def check_model(self, model: ProcessModel) -> None:
        named = [(model.key, "process", model.properties[TOPIC])] if TOPIC in model.properties else []
        named += [(element.id, element.activity_type, element.properties[TOPIC])
                  for element in model.elements.values() if TOPIC in element.properties]
        for element_id, kind, topic in named:
            if kind not in ("process", "userTask"):
                reason = "is set on a user task or on the process, whose user tasks are reminded"
            elif not topic:
                reason = "is blank: give the name of the topic the reminders are published to"
            elif len(topic) > MAX_NAME:
                reason = f"is longer than {MAX_NAME} characters"
            else:
                continue
            raise InvalidProcessModel(f"{model.resource_name}: camunda:property {TOPIC} of '{element_id}' {reason}",
                                      details={"resource": model.resource_name, "element": element_id,
                                               "reason": f"camunda:property {TOPIC} {reason}"})


def remind(services: Services, task_id: str, body: dict[str, Any], *, actor: Principal) -> TaskReminder:
    message = optional_text(body.get("message"), "message", 500)
    with services.db.write() as session:
        task = get_task(session, task_id)
        instance_id = case_of_task(task, "reminders are sent for the tasks of cases")
        permissions.require_instance_read(session, actor, instance_id, "Task", task_id)
        sent = session.scalar(select(func.count()).select_from(TaskReminder).where(TaskReminder.task_id == task_id))
        if (sent or 0) >= MAX_PER_TASK:
            raise Conflict(f"Task {task_id} has been reminded {MAX_PER_TASK} times; no more reminders are sent")
        instance = instance_of_open_work(session, instance_id)
        topic = topic_of(services.models.get(session, instance.definition_id), task.task_definition_key or "")
        now = services.clock.now()
        reminder = TaskReminder(id=str(uuid.uuid4()), process_instance_id=instance.id, task_id=task_id,
                                activity_id=task.task_definition_key, message=message,
                                user_id=actor.user_id, created=now, topic=topic)
        session.add(reminder)
        record(session, instance, "task.reminded", now, user_id=actor.user_id, activity_id=task.task_definition_key,
               task_id=task_id, message=message, reminderId=reminder.id, topic=topic)
        session.flush()
        session.expunge(reminder)
        return reminder


def task_reminders(services: Services, task_id: str, reader: Principal) -> list[TaskReminder]:
    with services.db.read() as session:
        readable_task_instance(session, task_id, reader)
        return list(session.scalars(select(TaskReminder).where(TaskReminder.task_id == task_id)
                                    .order_by(TaskReminder.created, TaskReminder.id)))


def outbox(created_after: datetime | None, topic: str | None = None) -> Select:
    """Every reminder (or those of one topic), oldest first, with its case: what the systems send on."""
    query = select(TaskReminder, ProcessInstance).join(ProcessInstance,
                                                       ProcessInstance.id == TaskReminder.process_instance_id)
    if created_after is not None:
        query = query.where(TaskReminder.created > created_after)
    if topic is not None:
        query = query.where(TaskReminder.topic == topic)
    return query.order_by(TaskReminder.created, TaskReminder.id)


@dataclass(frozen=True)
class Outgoing:
    reminder: TaskReminder
    instance: ProcessInstance


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME:
        raise InvalidRequest(f"{what} is required, a text of at most {MAX_NAME} characters")
    return value


def fetch_and_lock(services: Services, *, worker_id: Any, topics: list[str], max_tasks: int,
                   lock_duration_ms: int | None) -> list[Outgoing]:
    """Lease up to `max_tasks` undelivered reminders of the topics to the worker, oldest first,
    passing by those another worker holds."""
    worker_id = _name(worker_id, "workerId")
    if not 0 < len(topics) <= MAX_TOPICS:
        raise InvalidRequest(f"topics names 1 to {MAX_TOPICS} topics")
    for topic in topics:
        _name(topic, "each topic")
    if not 0 < max_tasks <= MAX_FETCHED:
        raise InvalidRequest(f"maxTasks must be 1 to {MAX_FETCHED}")
    if lock_duration_ms is None or not 0 < lock_duration_ms <= MAX_LOCK_MS:
        raise InvalidRequest(f"lockDuration is required, 1 to {MAX_LOCK_MS} milliseconds")
    with services.db.write() as session:
        now = services.clock.now()
        rows = session.scalars(select(TaskReminder)
                               .where(TaskReminder.topic.in_(topics), TaskReminder.delivered.is_(None),
                                      leases.free(TaskReminder.lock_expiration, now))
                               .order_by(TaskReminder.created, TaskReminder.id).limit(max_tasks)
                               .with_for_update(skip_locked=True)).all()
        for row in rows:
            row.worker_id, row.lock_expiration = worker_id, now + timedelta(milliseconds=lock_duration_ms)
        instances = {instance.id: instance for instance in session.scalars(
            select(ProcessInstance).where(ProcessInstance.id.in_({row.process_instance_id for row in rows})))}
        session.flush()
        return [Outgoing(row, instances[row.process_instance_id]) for row in rows]


def complete(services: Services, reminder_id: str, *, worker_id: Any, actor: Principal) -> None:
    """The worker holding the reminder reports it delivered; the case's history records it."""
    worker_id = _name(worker_id, "workerId")
    with services.db.write() as session:
        reminder = session.get(TaskReminder, reminder_id)
        if reminder is None:
            raise NotFound(f"Reminder with id {reminder_id} does not exist")
        if reminder.delivered is not None:
            raise Conflict(f"Reminder {reminder_id} was delivered already, by worker '{reminder.worker_id}'")
        now = services.clock.now()
        leases.require_held(f"Reminder {reminder_id}", holder=reminder.worker_id,
                            lock_expiration=reminder.lock_expiration, worker_id=worker_id, now=now, action="completed")
        reminder.delivered, reminder.lock_expiration = now, None
        instance = session.get_one(ProcessInstance, reminder.process_instance_id)
        record(session, instance, "task.reminderDelivered", now, user_id=actor.user_id,
               activity_id=reminder.activity_id, task_id=reminder.task_id, reminderId=reminder.id,
               topic=reminder.topic, worker_id=worker_id)
