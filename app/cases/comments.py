"""Opinions (审批意见) officials write on the tasks they work, as Camunda's task comments.

An opinion is a fact of the case: it is written as an event of the instance's chained history,
so that it is kept, exported and verified with the rest of the record, and it cannot be changed or
taken back afterwards (Camunda 7.20+ lets a comment be edited or deleted; an approval opinion on a
case may not be, so those calls are not offered). Reading the opinions of a task or a case is for
whoever may read the case; writing one is for whoever may work the open task.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.instances import get_instance, instance_of_open_work, record
from app.context import Services
from app.errors import InvalidRequest, NotFound
from app.persistence.models import ActivityInstance, HistoryEvent, ProcessInstance, UserTask

COMMENTED = "task.commented"
# Camunda keeps a comment's full text in a column of 4000 characters; an opinion longer than that
# is an attachment.
MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Comment:
    id: str
    user_id: str | None
    task_id: str | None
    process_instance_id: str
    time: datetime
    message: str


def _comment(event: HistoryEvent) -> Comment:
    return Comment(id=event.payload["commentId"], user_id=event.user_id, task_id=event.task_id,
                   process_instance_id=event.process_instance_id, time=event.occurred_at,
                   message=event.payload["message"])


def _message(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("a comment needs a 'message' of text")
    if len(value) > MAX_MESSAGE:
        raise InvalidRequest(f"a comment's message has at most {MAX_MESSAGE} characters; attach longer texts")
    return value


def add_task_comment(services: Services, task_id: str, body: dict[str, Any], *, actor: Principal) -> Comment:
    """Write an opinion on an open task. Camunda answers 400, not 404, for a task it cannot find here."""
    message = _message(body.get("message"))
    named_instance = body.get("processInstanceId")
    with services.db.write() as session:
        task = session.get(UserTask, task_id)
        if task is None:
            raise InvalidRequest(f"No task found with id {task_id}; a comment is written on an open task")
        if named_instance not in (None, task.process_instance_id):
            raise InvalidRequest(f"Task {task_id} belongs to process instance {task.process_instance_id}, "
                                 f"not to '{named_instance}'")
        permissions.require_task_work(session, actor, task)
        instance = instance_of_open_work(session, task.process_instance_id)
        return record_comment(session, instance, task, message, services.clock.now(), actor=actor)


def record_comment(session: Session, instance: ProcessInstance, task: UserTask, message: str, at: datetime, *,
                   actor: Principal) -> Comment:
    """Write an opinion on the open task into the case's history, in the caller's unit of work."""
    comment = Comment(id=str(uuid.uuid4()), user_id=actor.user_id, task_id=task.id, process_instance_id=instance.id,
                      time=at, message=message)
    record(session, instance, COMMENTED, at, user_id=actor.user_id, activity_id=task.task_definition_key,
           task_id=task.id, commentId=comment.id, message=message)
    return comment


def readable_task_instance(session: Session, task_id: str, reader: Principal) -> str:
    """The instance of an open or finished task, for those who may read it (403 for others)."""
    instance_id = session.scalar(select(UserTask.process_instance_id).where(UserTask.id == task_id))
    if instance_id is None:
        instance_id = session.scalar(select(ActivityInstance.process_instance_id)
                                     .where(ActivityInstance.id == task_id, ActivityInstance.task_id.is_not(None)))
    if instance_id is None:
        raise NotFound(f"No task found with id {task_id}")
    permissions.require_instance_read(session, reader, instance_id, "Task", task_id)
    return instance_id


def _comments(session: Session, instance_id: str, task_id: str | None) -> list[Comment]:
    query = select(HistoryEvent).where(HistoryEvent.process_instance_id == instance_id,
                                       HistoryEvent.kind == COMMENTED)
    if task_id is not None:
        query = query.where(HistoryEvent.task_id == task_id)
    return [_comment(event) for event in session.scalars(query.order_by(HistoryEvent.sequence))]


def task_comments(services: Services, task_id: str, reader: Principal) -> list[Comment]:
    with services.db.read() as session:
        instance_id = readable_task_instance(session, task_id, reader)
        return _comments(session, instance_id, task_id)


def task_comment(services: Services, task_id: str, comment_id: str, reader: Principal) -> Comment:
    for comment in task_comments(services, task_id, reader):
        if comment.id == comment_id:
            return comment
    raise NotFound(f"Task comment with id {comment_id} does not exist for task id '{task_id}'.")


def instance_comments(services: Services, instance_id: str, reader: Principal) -> list[Comment]:
    with services.db.read() as session:
        instance = get_instance(session, instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        return _comments(session, instance.id, None)
