"""Copies (抄送): a step of a case copied to groups or users, who then read the case (read-only: they
are not offered its tasks) and find it in their "copied to me" list.

A procedure copies a step when the step ends, to the groups and users its element names in the
camunda:properties `ccGroups` / `ccUsers` (comma-separated; app.extensions.copies); whoever works an
open task copies it by operation. Each copy is an event of the case's chained history.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, or_, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.instances import case_of_task, instance_of_open_work, record
from app.cases.tasks import get_task, optional_text
from app.context import Services
from app.errors import InvalidRequest
from app.extensions.copies import MAX_RECIPIENTS, write_copies
from app.persistence.models import CaseCopy, ProcessInstance


def _names(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and 0 < len(item) <= 255 for item in value):
        raise InvalidRequest(f"'{what}' is a list of names of at most 255 characters")
    return list(dict.fromkeys(value))


def copy_task(services: Services, task_id: str, body: dict[str, Any], *, actor: Principal) -> list[CaseCopy]:
    recipients = ([("group", name) for name in _names(body.get("groups"), "groups")]
                  + [("user", name) for name in _names(body.get("users"), "users")])
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise InvalidRequest(f"a copy names 1 to {MAX_RECIPIENTS} groups or users")
    note = optional_text(body.get("note"), "note")
    with services.db.write() as session:
        task = get_task(session, task_id)
        permissions.require_task_work(session, actor, task)
        instance = instance_of_open_work(session, case_of_task(task, "copies (抄送) are of the steps of cases"))
        now = services.clock.now()

        def recorder(kind: str, **payload: Any) -> None:
            record(session, instance, kind, now, user_id=actor.user_id, **payload)

        copies = write_copies(session, instance, recorder, recipients=recipients,
                              activity_id=task.task_definition_key, task_id=task_id, copied_by=actor.user_id,
                              note=note, now=now)
        session.flush()
        session.expunge_all()
        return copies


def copied_to(viewer: Principal, process_instance_id: str | None = None) -> Select:
    """The copies to the viewer or their groups, newest first, with their cases."""
    recipient = [and_(CaseCopy.kind == "user", CaseCopy.identity == viewer.user_id)]
    if viewer.groups:
        recipient.append(and_(CaseCopy.kind == "group", CaseCopy.identity.in_(sorted(viewer.groups))))
    query = (select(CaseCopy, ProcessInstance).join(ProcessInstance, ProcessInstance.id == CaseCopy.process_instance_id)
             .where(or_(*recipient)))
    if process_instance_id is not None:
        query = query.where(CaseCopy.process_instance_id == process_instance_id)
    return query.order_by(CaseCopy.created.desc(), CaseCopy.id)
