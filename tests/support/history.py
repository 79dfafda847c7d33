"""Reading an instance's history in tests: its rows as stored, and the service's verification."""
from __future__ import annotations

from sqlalchemy import select

from app.persistence.models import HistoryEvent


def events_of(service, instance_id: str) -> list[HistoryEvent]:
    with service.services.db.read() as session:
        return list(session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance_id)
                                    .order_by(HistoryEvent.sequence)))


def verify(root, instance_id: str | None = None) -> dict:
    return root.get("/api/history/verify", params={"processInstanceId": instance_id} if instance_id else {}).json()
