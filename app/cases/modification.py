"""Changing where a running case stands: Camunda's process instance modification, and the two
operations of Chinese approval practice built on it.

- Modification (administrators): the instructions are applied in order in one unit of work and
  recorded as one history event (`process.modified`), which replay applies again. An instance left
  without any token is cancelled, as Camunda cancels it ("Cancellation due to process instance
  modification").
- 驳回 (return): whoever may work an open task sends the case back to an earlier step that the task's
  element names in its `returnTargets` property and that the case has completed; the opinion is
  mandatory and becomes the task's comment.
- 撤回 (withdraw): whoever completed a task takes it back while the case has not moved since: the
  steps the completion opened are cancelled and the task opens again, assigned to them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.comments import MAX_MESSAGE, record_comment
from app.cases.instances import (
    case_of_task,
    get_active_instance,
    get_instance,
    instance_of_open_work,
    load_run,
    read_run,
    record,
    recorded_instruction,
    refuse_reserved_keys,
    save_run,
)
from app.cases.projections import TERMINATED
from app.cases.suspension import refuse_if_suspended
from app.cases.tasks import get_task, optional_text
from app.context import Services
from app.engine import ActivityInstanceNode, Instruction, ProcessRun, StepResult
from app.errors import InvalidRequest, NotFound
from app.persistence.models import ActivityInstance, HistoryEvent, Incident, ProcessInstance, UserTask

MODIFIED = "process.modified"
CANCELLATION_REASON = "Cancellation due to process instance modification"
RETURN_TARGETS = "returnTargets"
MI_BODY = "multiInstanceBody"
# What moves a case on or hands its work to someone: after one of these a completion is not withdrawn.
_MOVES = ("task.completed", "timer.fired", "message.received", "signal.received", "trigger.received",
          "externalTask.completed", "externalTask.bpmnError", "task.bpmnError", "task.escalation", "variables.modified",
          MODIFIED,
          "task.claimed", "task.unclaimed", "task.assigned", "task.delegated", "task.resolved")


@dataclass(frozen=True)
class ActivityTree:
    instance: ProcessInstance
    process_name: str | None
    children: tuple[ActivityInstanceNode, ...]
    # Open incidents by the activity instance they happened in: (incident id, activity id).
    incidents: Mapping[str, list[tuple[str, str]]]


def flatten(nodes: Iterable[ActivityInstanceNode]) -> list[ActivityInstanceNode]:
    return [found for node in nodes for found in (node, *flatten(node.children))]


def activity_tree(services: Services, instance_id: str, reader: Principal) -> ActivityTree:
    with services.db.read() as session:
        instance = get_active_instance(session, instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        run = read_run(services, session, instance)
        incidents: dict[str, list[tuple[str, str]]] = {}
        for row in session.scalars(select(Incident).where(Incident.process_instance_id == instance.id,
                                                          Incident.end_time.is_(None))):
            incidents.setdefault(row.configuration or "", []).append((row.id, row.activity_id))
        return ActivityTree(instance, run.model.name, run.activity_instances(), incidents)


def modify(services: Services, instance_id: str, instructions: Sequence[Instruction], *, annotation: str | None,
           actor: Principal) -> None:
    """Camunda's POST /process-instance/{id}/modification."""
    modify_many(services, [instance_id], None, instructions, annotation=annotation, actor=actor)


def modify_many(services: Services, instance_ids: Sequence[str], definition_id: str | None,
                instructions: Sequence[Instruction], *, annotation: str | None, actor: Principal) -> None:
    """The same instructions applied to each instance, all in one unit of work (Camunda's POST
    /modification/execute): every instance is modified, or none; with `definition_id`, each must run
    that definition."""
    if not instructions:
        raise InvalidRequest("'instructions' must name at least one instruction")
    for instruction in instructions:
        refuse_reserved_keys(instruction.variables)
    with services.db.write() as session:
        for instance_id in dict.fromkeys(instance_ids):
            instance = get_active_instance(session, instance_id)
            if definition_id is not None and instance.definition_id != definition_id:
                raise InvalidRequest(f"Process instance '{instance_id}' cannot be modified: it runs process "
                                     f"definition '{instance.definition_id}', not '{definition_id}'")
            refuse_if_suspended(instance)
            run = load_run(services, session, instance)
            _apply(services, session, instance, run, instructions, actor, annotation=annotation)


def _apply(services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
           instructions: Sequence[Instruction], actor: Principal, **recorded: Any) -> StepResult:
    """Apply the instructions as one step, recorded as one history event; an instance left without a
    token ends cancelled."""
    # Replay finds the activity instances again by their activity: its runs' ids are its own.
    activities = {node.id: node.activity_id for node in flatten(run.activity_instances())}
    result, cancelled = run.modify(instance.id, instructions)
    now = services.clock.now()
    record(session, instance, MODIFIED, now, user_id=actor.user_id,
           instructions=[_recorded(instruction, activities) for instruction in instructions], **recorded)
    if cancelled:
        instance.status, instance.end_time, instance.delete_reason = TERMINATED, now, CANCELLATION_REASON
        record(session, instance, "process.deleted", now, user_id=actor.user_id, reason=CANCELLATION_REASON)
    save_run(services, session, instance, run, result, now, user_id=actor.user_id)
    return result


def _recorded(instruction: Instruction, activities: Mapping[str, str]) -> dict[str, Any]:
    recorded = recorded_instruction(instruction)
    of_activity = activities.get(instruction.activity_instance_id or "")
    if of_activity is not None:
        recorded["instanceOfActivity"] = of_activity
    return recorded


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"'{what}' is required: a text")
    if len(value) > MAX_MESSAGE:
        raise InvalidRequest(f"'{what}' has at most {MAX_MESSAGE} characters")
    return value


def return_task(services: Services, task_id: str, body: Mapping[str, Any], *, actor: Principal) -> str | None:
    """驳回: cancel the open task and start the case again before an earlier step it names in
    `returnTargets`; answers the id of the task opened there (None if the target is no user task)."""
    target = _text(body.get("targetActivityId"), "targetActivityId")
    opinion = _text(body.get("opinion"), "opinion")
    with services.db.write() as session:
        task = get_task(session, task_id)
        instance = session.get_one(ProcessInstance, case_of_task(task, "it returns to no earlier step"))
        session.refresh(task)  # read after the instance: a concurrent step fails this one's revision check
        permissions.require_task_work(session, actor, task)
        instance = instance_of_open_work(session, instance.id)
        refuse_if_suspended(instance)
        run = load_run(services, session, instance)
        element = run.model.elements[task.task_definition_key or ""]
        allowed = [name.strip() for name in element.properties.get(RETURN_TARGETS, "").split(",") if name.strip()]
        if target not in allowed:
            raise InvalidRequest(f"Task '{task.task_definition_key}' may not return the case to '{target}': its "
                                 f"diagram allows {', '.join(allowed) if allowed else 'no return'} "
                                 f"(camunda:property '{RETURN_TARGETS}')")
        passed = session.scalar(select(ActivityInstance.id).where(
            ActivityInstance.process_instance_id == instance.id, ActivityInstance.activity_id == target,
            ActivityInstance.end_time.is_not(None), ActivityInstance.canceled.is_(False)).limit(1))
        if passed is None:
            raise InvalidRequest(f"The case has not passed through '{target}': it is returned only to a step it "
                                 "has completed")
        comment = record_comment(session, instance, task, opinion, services.clock.now(), actor=actor)
        # One department returning a 会签 (a multi-instance task) withdraws the whole 会签: the
        # other departments' open tasks are cancelled with it.
        joint = next((node for node in flatten(run.activity_instances()) if node.activity_type == MI_BODY
                      and any(child.id == task.id for child in node.children)), None)
        result = _apply(services, session, instance, run,
                        [Instruction("cancel", activity_instance_id=joint.id if joint else task.id),
                         Instruction("startBeforeActivity", activity_id=target)],
                        actor, activity_id=target, operation="return", taskId=task.id, opinion=opinion,
                        commentId=comment.id)
        return next((opened.id for opened in result.user_tasks
                     if opened.id not in result.user_tasks_before and opened.task_definition_key == target), None)


def withdraw(services: Services, task_id: str, body: Mapping[str, Any], *, actor: Principal) -> str:
    """撤回: the one who completed the task takes it back while the case has not moved since; answers
    the id of the task opened again, assigned to them."""
    reason = optional_text(body.get("reason"), "reason")
    with services.db.write() as session:
        completion = session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "task.completed",
                                                                HistoryEvent.task_id == task_id)).first()
        if completion is None:
            if session.get(UserTask, task_id) is not None:
                raise InvalidRequest(f"Task '{task_id}' is open: only a completed task is withdrawn")
            raise NotFound(f"No completed task found with id '{task_id}'")
        instance = get_instance(session, completion.process_instance_id)
        permissions.require_instance_read(session, actor, instance.id, "Task", task_id)
        if completion.user_id != actor.user_id:
            raise permissions.denied(actor, "UPDATE", "Task", task_id)
        instance = instance_of_open_work(session, instance.id)
        refuse_if_suspended(instance)
        moved = session.scalars(select(HistoryEvent).where(
            HistoryEvent.process_instance_id == instance.id, HistoryEvent.sequence > completion.sequence,
            HistoryEvent.kind.in_(_MOVES)).order_by(HistoryEvent.sequence)).first()
        if moved is not None:
            raise InvalidRequest(f"Task '{task_id}' can no longer be withdrawn: the case moved on since its "
                                 f"completion ({moved.kind} at '{moved.activity_id}')")
        run = load_run(services, session, instance)
        opened = run.opened_by(task_id)
        if not opened:
            raise InvalidRequest(f"Task '{task_id}' can no longer be withdrawn: its completion opened no step "
                                 "that is still open")
        activity = completion.activity_id or ""
        instructions = [Instruction("cancel", activity_instance_id=node) for node in opened]
        result = _apply(services, session, instance, run,
                        [*instructions, Instruction("startBeforeActivity", activity_id=activity)],
                        actor, activity_id=activity, operation="withdraw", taskId=task_id, reason=reason)
        reopened = next(opened_task.id for opened_task in result.user_tasks
                        if opened_task.id not in result.user_tasks_before
                        and opened_task.task_definition_key == activity)
        _assign(session, instance, reopened, activity, actor, services.clock.now())
        return reopened


def _assign(session: Session, instance: ProcessInstance, task_id: str, activity_id: str, actor: Principal,
            at: datetime) -> None:
    session.execute(update(UserTask).where(UserTask.id == task_id).values(assignee=actor.user_id))
    session.execute(update(ActivityInstance).where(ActivityInstance.id == task_id).values(assignee=actor.user_id))
    record(session, instance, "task.assigned", at, user_id=actor.user_id, activity_id=activity_id, task_id=task_id,
           assignee=actor.user_id, groups=sorted(actor.groups), reason="withdrawn")
