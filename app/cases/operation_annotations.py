"""Annotating an entry of Camunda's user operation log (`PUT /history/user-operation/{operationId}/
set-annotation` and `/clear-annotation`). The entry is an event of its case's chained history, which
cannot be edited: the annotation is an event of the administrative chain, and the log shows each
entry with its latest one (app.cases.history)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.cases.history import OPERATION_ANNOTATED, USER_OPERATIONS, operation_subject
from app.cases.incidents import ANNOTATION_LIMIT
from app.errors import BadUserRequest, InvalidRequest
from app.persistence.models import HistoryEvent

if TYPE_CHECKING:
    from app.context import Services


def annotate(services: Services, operation_id: str, annotation: Any, *, actor: Principal) -> None:
    """Set (or, with None, clear) the annotation of the operation's entry: administrators, and the
    person who gave the command (Camunda lets those annotate who may update the log)."""
    if annotation is not None and (not isinstance(annotation, str) or len(annotation) > ANNOTATION_LIMIT):
        raise InvalidRequest(f"An annotation is a text of at most {ANNOTATION_LIMIT} characters")
    instance_id, _, sequence = operation_id.rpartition(":")
    with services.db.write() as session:
        event = session.scalars(select(HistoryEvent).where(
            HistoryEvent.process_instance_id == instance_id,
            # A sequence beyond the column's range names no event (and is not sent to the database).
            HistoryEvent.sequence == (int(sequence) if sequence.isdigit() and len(sequence) < 10 else -1))).first()
        if event is None or event.kind not in USER_OPERATIONS or event.user_id is None:
            raise BadUserRequest("operation is null")
        if not permissions.is_administrator(actor) and event.user_id != actor.user_id:
            raise permissions.denied(actor, "UPDATE", "OperationLog", operation_id)
        ledger.record_admin(session, OPERATION_ANNOTATED, operation_subject(operation_id), services.clock.now(),
                            actor.user_id, operationId=operation_id, annotation=annotation)
