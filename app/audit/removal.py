"""Deleting an ended case's history once its retention has passed (Camunda's
`DELETE /history/process-instance/{id}`), without leaving the rest of the record unverifiable.

The rule: a case may be deleted only after it ended, and only once its process version's
`camunda:historyTimeToLive` days have passed since its end; a process without one keeps its cases'
histories without end (the deletion is refused). A case another case called and whose history is
kept holds its caller: the called one is deleted first.

The deletion removes the case's rows (the instance, its history events, its activity instances and
every row shown beside them, its attachments and the contents no other case shares) and records, in
the administrative chain and in the same unit of work, who deleted which case and when, the head of
its removed chain (which commits to every removed event), how many events it held, and the numbers
of the anchors that signed it. The anchors stay in the chain over all instances, so that the chain
and the anchor log still verify; `ledger.verify` accepts the anchors of a deleted case only as the
deletion lists them, and names the deleted cases.

What the registers recorded of the case (park and agency standings it decided, expert draws) stays:
that is the registers' history, not the case's. Deleting a case's historic variables (Camunda's
`DELETE /history/variable-instance/{id}` and `/history/process-instance/{id}/variable-instances`) is
refused: the variables are part of the chained events, which cannot lose a value and still verify.
"""
from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.audit import ledger
from app.cases import variable_instances
from app.errors import BadUserRequest, NotFound
from app.persistence.contents import discard_unreferenced
from app.persistence.models import (
    ActivityInstance,
    Attachment,
    CaseCopy,
    EventSubscription,
    ExternalTask,
    HistoryAnchor,
    HistoryEvent,
    Incident,
    InstanceParticipant,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    TaskReminder,
    Timer,
    UserTask,
    VariableContent,
)

if TYPE_CHECKING:
    from app.context import Services

_ROWS_OF_A_CASE = (TaskReminder, CaseCopy, InstanceParticipant, ExternalTask, Incident, Timer, EventSubscription,
                   UserTask, ActivityInstance, HistoryEvent)


def _day(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).date().isoformat()


def subject(instance_id: str) -> str:
    return f"process-instance:{instance_id}"


def delete_history(services: Services, instance_id: str, *, actor: Principal | None, fail_if_not_exists: bool = True,
                   cleanup_job_id: str | None = None) -> None:
    """Delete an ended case's history whose retention has passed (see the module); an unknown case is
    refused with 404, or ignored when not `fail_if_not_exists`. The history cleanup job
    (app.audit.cleanup) deletes with no actor and is named in the record instead."""
    with services.db.write() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            if fail_if_not_exists:
                raise NotFound(f"Historic process instance with id {instance_id} does not exist")
            return
        if instance.end_time is None:
            raise BadUserRequest("Process instance is still running, cannot delete historic process instance: "
                                 f"{instance_id}")
        definition = session.get_one(ProcessDefinition, instance.definition_id)
        now = services.clock.now()
        days = definition.history_time_to_live
        if days is None:
            raise BadUserRequest(f"The history of process instance {instance_id} is kept without end: its process "
                                 f"{definition.key} (version {definition.version}) sets no "
                                 "camunda:historyTimeToLive")
        kept_until = instance.end_time + timedelta(days=days)
        if kept_until > now:
            zone = services.settings.zone
            raise BadUserRequest(
                f"The history of process instance {instance_id} is kept until "
                f"{_day(kept_until, zone)}: it ended on {_day(instance.end_time, zone)} and its "
                f"process {definition.key} keeps histories {days} days (camunda:historyTimeToLive)")
        called = session.scalars(select(ProcessInstance.id).where(
            ProcessInstance.super_process_instance_id == instance_id).order_by(ProcessInstance.id).limit(3)).all()
        if called:
            raise BadUserRequest(f"Process instance {instance_id} called {', '.join(called)} whose history is "
                                 "kept: delete the history of the called instances first")
        events = session.scalar(select(func.count()).select_from(HistoryEvent)
                                .where(HistoryEvent.process_instance_id == instance_id)) or 0
        anchors = session.scalars(select(HistoryAnchor.number).where(HistoryAnchor.process_instance_id == instance_id)
                                  .order_by(HistoryAnchor.number)).all()
        by_job = {"historyCleanupJobId": cleanup_job_id} if cleanup_job_id else {}
        ledger.record_admin(session, ledger.HISTORY_DELETED, subject(instance_id), now,
                            actor.user_id if actor else None, **by_job,
                            processInstanceId=instance_id, processDefinitionId=instance.definition_id,
                            historyHash=instance.history_hash or ledger.GENESIS, events=events,
                            anchors=list(anchors), endTime=ledger.instant_text(instance.end_time),
                            historyTimeToLive=days)
        _remove_rows(services, session, instance)


_VARIABLES_KEPT = ("the variables are part of the case's chained history, which cannot lose a value and still verify; "
                   "an ended case's whole history is deleted once its retention has passed "
                   "(DELETE /history/process-instance/{id})")


def refuse_variable_deletion(services: Services, variable_id: str, *, actor: Principal) -> NoReturn:
    """Camunda's answer for an unknown variable (404), else the refusal and its reason."""
    try:
        variable_instances.variable_by_id(services, variable_id, actor, running_only=False)
    except NotFound:
        raise NotFound(f"No historic variable instance found with id: {variable_id}: variable is null") from None
    raise BadUserRequest(f"The historic variable instance {variable_id} cannot be deleted: {_VARIABLES_KEPT}")


def refuse_variables_deletion(services: Services, instance_id: str) -> NoReturn:
    with services.db.read() as session:
        if session.get(ProcessInstance, instance_id) is None:
            raise NotFound(f"No historic process instance found with id: {instance_id}: instance is null")
    raise BadUserRequest(f"The historic variables of process instance {instance_id} cannot be deleted: "
                         f"{_VARIABLES_KEPT}")


def _remove_rows(services: Services, session: Session, instance: ProcessInstance) -> None:
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(
        select(UserTask.id).where(UserTask.process_instance_id == instance.id))))
    digests = {digest for digest in session.scalars(select(Attachment.sha256).where(
        Attachment.process_instance_id == instance.id)) if digest is not None}
    digests.update(session.scalars(select(VariableContent.sha256).where(
        VariableContent.process_instance_id == instance.id)))
    session.execute(delete(Attachment).where(Attachment.process_instance_id == instance.id))
    session.execute(delete(VariableContent).where(VariableContent.process_instance_id == instance.id))
    for table in _ROWS_OF_A_CASE:
        column = table.__table__.c.process_instance_id
        session.execute(delete(table).where(column == instance.id))
    session.delete(instance)
    discard_unreferenced(services.contents, session, digests)
