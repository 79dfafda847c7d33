"""Tamper evidence for the history (issue: an audit trail auditors can trust).

Each instance's history events form a hash chain: an event's hash is SHA-256 over the previous
event's hash and the event's canonical form (its instance, sequence, kind, instant, user, activity,
task and payload as sorted, compact JSON), and the instance row keeps the head. The heads are
anchored in one chain over all instances (`history_anchor`), appended in order by the timer worker
and before every verification, so that rewriting an instance's whole chain is also seen.

`verify` recomputes both and answers "intact", or the first event whose row was changed, removed
or reordered (and anchors that no longer match their instance's chain).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from app.errors import Conflict
from app.persistence.models import AdminEvent, HistoryAnchor, HistoryEvent, ProcessInstance

if TYPE_CHECKING:
    from app.services.context import Services

GENESIS = "0" * 64


def normalized(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the database gives it back (JSON), so that its hash can be recomputed from the row."""
    return json.loads(json.dumps(payload, ensure_ascii=False))


def instant_text(at: datetime) -> str:
    """An instant as the chains hash it (UTC, microseconds)."""
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def event_hash(previous: str, event: Mapping[str, Any]) -> str:
    canonical = json.dumps({
        "process_instance_id": event["process_instance_id"], "sequence": event["sequence"], "kind": event["kind"],
        "occurred_at": instant_text(event["occurred_at"]), "user_id": event["user_id"],
        "activity_id": event["activity_id"], "task_id": event["task_id"], "payload": event["payload"],
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode("utf-8")).hexdigest()


def chain(instance: ProcessInstance, event: dict[str, Any]) -> None:
    """Link a new event of the instance into its chain (in the unit of work that writes it)."""
    event["previous_hash"] = instance.history_hash or GENESIS
    event["hash"] = event_hash(event["previous_hash"], event)
    instance.history_hash = event["hash"]


def _admin_canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": row["kind"], "subject": row["subject"], "occurred_at": instant_text(row["occurred_at"]),
            "user_id": row["user_id"], "payload": row["payload"]}


def admin_hash(previous: str, row: Mapping[str, Any]) -> str:
    canonical = json.dumps(_admin_canonical(row), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode("utf-8")).hexdigest()


def record_admin(session: Session, kind: str, subject: str, at: datetime, user_id: str | None,
                 **payload: Any) -> None:
    """Append an administrative change to its chain, in the unit of work of the change. Two changes
    at once cannot both extend the same event (previous_hash is unique): one is refused (409)."""
    last = session.scalars(select(AdminEvent).order_by(AdminEvent.id.desc()).limit(1)).first()
    row = {"kind": kind, "subject": subject, "occurred_at": at, "user_id": user_id, "payload": normalized(payload)}
    previous = last.hash if last else GENESIS
    session.add(AdminEvent(previous_hash=previous, hash=admin_hash(previous, row), **row))
    session.flush()


def admin_events(services: "Services", *, subject: str | None = None, kind: str | None = None) -> list[AdminEvent]:
    query = select(AdminEvent).order_by(AdminEvent.id)
    if subject:
        query = query.where(AdminEvent.subject == subject)
    if kind:
        query = query.where(AdminEvent.kind == kind)
    with services.db.read() as session:
        return list(session.scalars(query))


def anchor_hash(previous: str, row: Mapping[str, Any]) -> str:
    canonical = json.dumps({"process_instance_id": row["process_instance_id"], "event_hash": row["event_hash"],
                            "anchored_at": instant_text(row["anchored_at"])}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode("utf-8")).hexdigest()


def anchor(services: "Services") -> int:
    """Append the instance heads not yet anchored to the chain over all instances; how many."""
    for _ in range(5):
        try:
            with services.db.write() as session:
                return _anchor_in(session, services.clock.now())
        except Conflict:
            continue  # another worker anchored meanwhile: continue after its anchors
    return 0


def _anchor_in(session: Session, now: datetime) -> int:
    unanchored = session.execute(
        select(ProcessInstance.id, ProcessInstance.history_hash)
        .where(ProcessInstance.history_hash.is_not(None),
               ~exists().where(and_(HistoryAnchor.process_instance_id == ProcessInstance.id,
                                    HistoryAnchor.event_hash == ProcessInstance.history_hash)))
        .order_by(ProcessInstance.id)).all()
    admin_head = session.scalars(select(AdminEvent.hash).order_by(AdminEvent.id.desc()).limit(1)).first()
    if admin_head is not None and not session.scalar(select(exists().where(
            HistoryAnchor.process_instance_id.is_(None), HistoryAnchor.event_hash == admin_head))):
        unanchored.append((None, admin_head))
    if not unanchored:
        return 0
    last = session.scalars(select(HistoryAnchor).order_by(HistoryAnchor.id.desc()).limit(1)).first()
    previous = last.hash if last else GENESIS
    for instance_id, head in unanchored:
        row = {"process_instance_id": instance_id, "event_hash": head, "anchored_at": now}
        digest = anchor_hash(previous, row)
        # previous_hash is unique: two anchoring workers cannot both extend the same anchor.
        session.add(HistoryAnchor(previous_hash=previous, hash=digest, **row))
        session.flush()
        previous = digest
    return len(unanchored)


@dataclass
class Problem:
    process_instance_id: str | None
    sequence: int | None
    event_id: int | None
    what: str


@dataclass
class Verification:
    intact: bool
    instances: int
    events: int
    anchors: int
    admin_events: int = 0
    problems: list[Problem] = field(default_factory=list)


def verify(services: "Services", process_instance_id: str | None = None) -> Verification:
    """Recompute the chains: of one instance, or of all instances and the anchors over them."""
    anchor(services)
    result = Verification(True, 0, 0, 0)
    with services.db.read() as session:
        instances = select(ProcessInstance).order_by(ProcessInstance.start_time, ProcessInstance.id)
        if process_instance_id:
            instances = instances.where(ProcessInstance.id == process_instance_id)
        for instance in session.scalars(instances):
            result.instances += 1
            result.events += _verify_instance(session, instance, result.problems)
        result.anchors = _verify_anchors(session, process_instance_id, result.problems)
        if process_instance_id is None:
            result.admin_events = _verify_admin_events(session, result.problems)
    result.intact = not result.problems
    return result


@dataclass(frozen=True)
class Break:
    """Where a chain stops following: at link `index`, because a row before it was removed or the
    rows were reordered, or because the row itself was changed."""

    index: int
    removed_or_reordered: bool


def first_break(links: Iterable[tuple[str, str, Mapping[str, Any]]],
                digest: Callable[[str, Mapping[str, Any]], str]) -> tuple[Break | None, str]:
    """Walk a chain of (recorded previous hash, recorded hash, hashed fields) links from the start:
    the first break, if any, and the last hash reached."""
    previous = GENESIS
    for index, (recorded_previous, recorded, fields) in enumerate(links):
        if recorded_previous != previous:
            return Break(index, True), previous
        if digest(previous, fields) != recorded:
            return Break(index, False), previous
        previous = recorded
    return None, previous


def event_fields(row: HistoryEvent) -> dict[str, Any]:
    return {"process_instance_id": row.process_instance_id, "sequence": row.sequence, "kind": row.kind,
            "occurred_at": row.occurred_at, "user_id": row.user_id, "activity_id": row.activity_id,
            "task_id": row.task_id, "payload": row.payload}


def _verify_instance(session: Session, instance: ProcessInstance, problems: list[Problem]) -> int:
    rows = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance.id)
                           .order_by(HistoryEvent.sequence, HistoryEvent.id)).all()
    broken, head = first_break(((row.previous_hash, row.hash, event_fields(row)) for row in rows), event_hash)
    if broken is not None:
        row = rows[broken.index]
        problems.append(Problem(instance.id, row.sequence, row.id,
                                "the event before it was removed, or the events were reordered"
                                if broken.removed_or_reordered else "the event's row was changed"))
    elif head != (instance.history_hash or GENESIS):
        problems.append(Problem(instance.id, None, None,
                                "the instance's last events were removed (its chain ends before its recorded head)"))
    return len(rows)


def _verify_admin_events(session: Session, problems: list[Problem]) -> int:
    rows = session.scalars(select(AdminEvent).order_by(AdminEvent.id)).all()
    broken, _ = first_break(((row.previous_hash, row.hash, {"kind": row.kind, "subject": row.subject,
                                                            "occurred_at": row.occurred_at, "user_id": row.user_id,
                                                            "payload": row.payload}) for row in rows), admin_hash)
    if broken is not None:
        problems.append(Problem(None, None, rows[broken.index].id,
                                "an administrative event before it was removed, or the events were reordered"
                                if broken.removed_or_reordered else "the administrative event's row was changed"))
    return len(rows)


def _verify_anchors(session: Session, process_instance_id: str | None, problems: list[Problem]) -> int:
    rows = session.scalars(select(HistoryAnchor).order_by(HistoryAnchor.id)).all()
    broken, _ = first_break(((row.previous_hash, row.hash, {"process_instance_id": row.process_instance_id,
                                                            "event_hash": row.event_hash,
                                                            "anchored_at": row.anchored_at}) for row in rows),
                            anchor_hash)
    checked = rows if broken is None else rows[:broken.index]
    hashes_of: dict[str, set[str]] = {}
    for row in checked:
        if row.process_instance_id is None:
            if process_instance_id is None and not session.scalar(select(exists().where(
                    AdminEvent.hash == row.event_hash))):
                problems.append(Problem(None, None, None, f"the administrative event anchored by anchor {row.id} is "
                                                          "no longer in the administrative chain"))
        elif process_instance_id in (None, row.process_instance_id):
            if row.process_instance_id not in hashes_of:
                hashes_of[row.process_instance_id] = set(session.scalars(
                    select(HistoryEvent.hash).where(HistoryEvent.process_instance_id == row.process_instance_id)))
            if row.event_hash not in hashes_of[row.process_instance_id]:
                problems.append(Problem(row.process_instance_id, None, None,
                                        f"the event anchored by anchor {row.id} is no longer in the instance's "
                                        "chain (its history was rewritten)"))
    if broken is not None:
        row = rows[broken.index]
        problems.append(Problem(row.process_instance_id, None, None,
                                f"anchor {row.id} of the chain over all instances was changed or removed"))
        return broken.index + 1
    return len(rows)
