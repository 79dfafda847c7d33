"""Opinions (审批意见) officials write on the tasks they work, as Camunda's task comments.

An opinion is a fact of the case: it is written as an event of the instance's chained history,
so that it is kept, exported and verified with the rest of the record. As Camunda 7.21+ allows, it
may be edited or deleted afterwards, but only by its author (or an administrator) while the task
(or, through the instance, the case) is still open, and each edit or deletion is one more event of
the history, with who, when and the text before: the record keeps what was first written, the
listings show the opinions as they now stand. Reading the opinions of a task or a case is for
whoever may read the case, also after the task or the case has ended; writing one is for whoever
may work the open task. A standalone task (of no case) keeps its comments the same way in the
administrative history, under the task's subject.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.cases.instances import get_instance, instance_of_open_work, record
from app.cases.projections import ACTIVE
from app.cases.tasks import standalone_subject
from app.context import Services
from app.errors import InvalidRequest, NotFound
from app.persistence.models import (
    ActivityInstance,
    AdminEvent,
    HistoryEvent,
    ProcessInstance,
    UserTask,
)

COMMENTED, UPDATED, DELETED = "task.commented", "task.commentUpdated", "task.commentDeleted"
# Camunda keeps a comment's full text in a column of 4000 characters; an opinion longer than that
# is an attachment.
MAX_MESSAGE = 4000


@dataclass(frozen=True)
class Comment:
    id: str
    user_id: str | None
    task_id: str | None
    process_instance_id: str | None  # None: a standalone task's
    time: datetime
    message: str
    # Who wrote it first (the one who may change it; user_id is the last to edit it, as in Camunda).
    author: str | None = None
    activity_id: str | None = None


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
        instance = None if task.process_instance_id is None else instance_of_open_work(session,
                                                                                        task.process_instance_id)
        return record_comment(session, instance, task, message, services.clock.now(), actor=actor)


def _write(session: Session, instance: ProcessInstance | None, kind: str, at: datetime, actor: Principal,
           activity_id: str | None, task_id: str | None, **payload: Any) -> None:
    """A comment's event: in its case's history, or a standalone task's in the administrative history."""
    if instance is not None:
        record(session, instance, kind, at, user_id=actor.user_id, activity_id=activity_id, task_id=task_id,
               **payload)
    elif task_id is not None:
        ledger.record_admin(session, kind, standalone_subject(task_id), at, actor.user_id, task_id=task_id, **payload)


def record_comment(session: Session, instance: ProcessInstance | None, task: UserTask, message: str, at: datetime, *,
                   actor: Principal) -> Comment:
    """Write an opinion on the open task into the case's history (a standalone task's: the
    administrative history), in the caller's unit of work."""
    comment = Comment(id=str(uuid.uuid4()), user_id=actor.user_id, task_id=task.id,
                      process_instance_id=instance.id if instance is not None else None, time=at, message=message)
    _write(session, instance, COMMENTED, at, actor, task.task_definition_key, task.id, commentId=comment.id,
           message=message)
    return comment


def readable_task_instance(session: Session, task_id: str, reader: Principal) -> str | None:
    """The instance of an open or finished task, for those who may read it (403 for others); None
    for a standalone task, which those who have no part in it do not find (404)."""
    task = session.get(UserTask, task_id)
    instance_id = task.process_instance_id if task is not None else session.scalar(
        select(ActivityInstance.process_instance_id)
        .where(ActivityInstance.id == task_id, ActivityInstance.task_id.is_not(None)))
    if instance_id is None:
        if (task is not None and permissions.may_read_standalone(session, reader, task_id)) or (
                task is None and permissions.may_read_standalone_history(session, reader, task_id)):
            return None
        raise NotFound(f"No task found with id {task_id}")
    permissions.require_instance_read(session, reader, instance_id, "Task", task_id)
    return instance_id


def _events(session: Session, instance_id: str | None, task_id: str | None
            ) -> list[tuple[str, dict[str, Any], str | None, str | None, datetime, str | None]]:
    """The comment events of a case (of one of its tasks) or of a standalone task, in their order:
    kind, payload, user, task, time, activity."""
    kinds = (COMMENTED, UPDATED, DELETED)
    if instance_id is None:
        admin = select(AdminEvent).where(AdminEvent.subject == standalone_subject(task_id or ""),
                                         AdminEvent.kind.in_(kinds))
        return [(event.kind, event.payload, event.user_id, task_id, event.occurred_at, None)
                for event in session.scalars(admin.order_by(AdminEvent.id))]
    query = select(HistoryEvent).where(HistoryEvent.process_instance_id == instance_id, HistoryEvent.kind.in_(kinds))
    if task_id is not None:
        query = query.where(HistoryEvent.task_id == task_id)
    return [(event.kind, event.payload, event.user_id, event.task_id, event.occurred_at, event.activity_id)
            for event in session.scalars(query.order_by(HistoryEvent.sequence))]


def _comments(session: Session, instance_id: str | None, task_id: str | None) -> list[Comment]:
    """The comments as they now stand, in the order they were written: the history's comments with
    their edits applied and the deleted ones left out."""
    current: dict[str, Comment] = {}
    for kind, payload, user_id, of_task, at, activity_id in _events(session, instance_id, task_id):
        comment_id = payload["commentId"]
        if kind == COMMENTED:
            current[comment_id] = Comment(id=comment_id, user_id=user_id, task_id=of_task,
                                          process_instance_id=instance_id, time=at, message=payload["message"],
                                          author=user_id, activity_id=activity_id)
        elif kind == UPDATED and comment_id in current:
            current[comment_id] = replace(current[comment_id], message=payload["message"], user_id=user_id, time=at)
        else:
            current.pop(comment_id, None)
    return list(current.values())


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


# --- editing and deleting (Camunda's PUT and DELETE .../comment) ---------------------------------

def _comment_id(body: dict[str, Any]) -> str:
    comment_id = body.get("id")
    if not isinstance(comment_id, str) or not comment_id or len(comment_id) > 64:
        raise InvalidRequest("commentId is null: the comment to update is named by its 'id'")
    return comment_id


def _task_open_for_comments(session: Session, task_id: str, actor: Principal
                            ) -> tuple[UserTask, ProcessInstance | None]:
    """The open task whose comments change, for whoever may work it. A task never seen answers 404;
    a task that has ended 400, as Camunda answers both."""
    task = session.get(UserTask, task_id)
    if task is None:
        readable_task_instance(session, task_id, actor)
        raise InvalidRequest(f"No task exists with taskId: {task_id}; the comments of a task that has ended "
                             "no longer change")
    permissions.require_task_work(session, actor, task)
    if task.process_instance_id is None:
        return task, None
    return task, instance_of_open_work(session, task.process_instance_id)


def _running_instance(session: Session, instance_id: str, actor: Principal) -> ProcessInstance:
    instance = get_instance(session, instance_id)
    permissions.require_instance_read(session, actor, instance.id)
    if instance.status != ACTIVE:
        raise InvalidRequest(f"No processInstance exists with processInstanceId: {instance_id}; the comments of "
                             "a case that has ended no longer change")
    return instance


def _require_author(actor: Principal, comment: Comment) -> None:
    if comment.author != actor.user_id and not permissions.is_administrator(actor):
        raise permissions.denied(actor, "UPDATE", "Comment", comment.id)


def _edit(session: Session, instance: ProcessInstance | None, task_id: str | None, body: dict[str, Any],
          at: datetime, actor: Principal) -> None:
    comment_id, message = _comment_id(body), _message(body.get("message"))
    instance_id = instance.id if instance is not None else None
    found = next((c for c in _comments(session, instance_id, task_id) if c.id == comment_id), None)
    if found is None:
        owner = f"taskId: {task_id}" if task_id is not None else f"processInstanceId: {instance_id}"
        raise InvalidRequest(f"No comment exists with commentId: {comment_id} and {owner}")
    _require_author(actor, found)
    _write(session, instance, UPDATED, at, actor, found.activity_id, found.task_id, commentId=found.id,
           message=message, previousMessage=found.message)


def _delete(session: Session, instance: ProcessInstance | None, task_id: str | None, comment_id: str | None,
            at: datetime, actor: Principal) -> None:
    """Delete one comment, or (comment_id None) all of the task's or the case's. A comment that does
    not exist is nothing to delete, as in Camunda; deleting all is refused whole when one of them is
    somebody else's."""
    doomed = [c for c in _comments(session, instance.id if instance is not None else None, task_id)
              if comment_id in (None, c.id)]
    for comment in doomed:
        _require_author(actor, comment)
    for comment in doomed:
        _write(session, instance, DELETED, at, actor, comment.activity_id, comment.task_id, commentId=comment.id,
               previousMessage=comment.message)


def edit_task_comment(services: Services, task_id: str, body: dict[str, Any], *, actor: Principal) -> None:
    with services.db.write() as session:
        _, instance = _task_open_for_comments(session, task_id, actor)
        _edit(session, instance, task_id, body, services.clock.now(), actor)


def delete_task_comments(services: Services, task_id: str, comment_id: str | None, *, actor: Principal) -> None:
    with services.db.write() as session:
        _, instance = _task_open_for_comments(session, task_id, actor)
        _delete(session, instance, task_id, comment_id, services.clock.now(), actor)


def edit_instance_comment(services: Services, instance_id: str, body: dict[str, Any], *, actor: Principal) -> None:
    with services.db.write() as session:
        _edit(session, _running_instance(session, instance_id, actor), None, body, services.clock.now(), actor)


def delete_instance_comments(services: Services, instance_id: str, comment_id: str | None, *,
                             actor: Principal) -> None:
    with services.db.write() as session:
        _delete(session, _running_instance(session, instance_id, actor), None, comment_id, services.clock.now(),
                actor)
