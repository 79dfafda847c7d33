"""Tamper evidence for the history (issue: an audit trail auditors can trust).

Each instance's history events form a hash chain: an event's hash is SHA-256 over the previous
event's hash and the event's canonical form (its instance, sequence, kind, instant, user, activity,
task and payload as sorted, compact JSON), and the instance row keeps the head. The administrative
changes form a chain of their own. Every unit of work that moves a chain's head appends an anchor of
the new head to one chain over all instances (`history_anchor`), numbered without gaps and signed
with a key the database does not hold, and copies it to the anchor log outside the database. Anyone
with database write access can recompute hashes, but not sign: a rewritten history no longer matches
its anchors, and events appended outside the service are not covered by one.

`verify` recomputes the chains and answers "intact", or the first event whose row was changed,
removed, reordered or appended; anchors that are not signed, not numbered in order, no longer match
their chain or the anchor log; and rows shown beside the history (app.cases.projections) that it
does not account for.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from app.audit import anchors
from app.audit.anchors import AnchorSigner
from app.cases import projections
from app.engine import BinaryValue
from app.persistence.database import AdvisoryLock, after_commit, on_commit
from app.persistence.models import AdminEvent, HistoryAnchor, HistoryEvent, ProcessInstance
from app.telemetry import metrics

if TYPE_CHECKING:
    from app.context import Services

GENESIS = "0" * 64
# The administrative event recording that an ended case's history was deleted (app.audit.removal).
HISTORY_DELETED = "history.deleted"


def normalized(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the database gives it back (JSON), so that its hash can be recomputed from the row."""
    return json.loads(json.dumps(payload, ensure_ascii=False, default=_recorded))


def _recorded(value: Any) -> Any:
    """A binary variable's reference as the history keeps it: its digest, size, file name and type."""
    if isinstance(value, BinaryValue):
        return value.recorded()
    raise TypeError(f"{type(value).__name__} is not recorded in a history")


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as a history payload holds them: dates and instants as ISO texts."""
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return value

    return {name: convert(value) for name, value in values.items()}


def instant_text(at: datetime) -> str:
    """An instant as the chains hash it (UTC, microseconds)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(previous: str, event: Mapping[str, Any]) -> str:
    canonical = json.dumps({
        "process_instance_id": event["process_instance_id"], "sequence": event["sequence"], "kind": event["kind"],
        "occurred_at": instant_text(event["occurred_at"]), "user_id": event["user_id"],
        "activity_id": event["activity_id"], "task_id": event["task_id"], "payload": event["payload"],
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def chain(session: Session, instance: ProcessInstance, event: dict[str, Any]) -> None:
    """Link a new event of the instance into its chain (in the unit of work that writes it)."""
    event["previous_hash"] = instance.history_hash or GENESIS
    event["hash"] = event_hash(event["previous_hash"], event)
    instance.history_hash = event["hash"]
    _anchor_at_commit(session, instance.id, event["hash"], event["occurred_at"])


def _admin_canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": row["kind"], "subject": row["subject"], "occurred_at": instant_text(row["occurred_at"]),
            "user_id": row["user_id"], "payload": row["payload"]}


def admin_hash(previous: str, row: Mapping[str, Any]) -> str:
    canonical = json.dumps(_admin_canonical(row), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def record_admin(session: Session, kind: str, subject: str, at: datetime, user_id: str | None,
                 **payload: Any) -> None:
    """Append an administrative change to its chain, in the unit of work of the change. Two changes
    at once cannot both extend the same event (previous_hash is unique): one is refused (409)."""
    last = session.scalars(select(AdminEvent).order_by(AdminEvent.id.desc()).limit(1)).first()
    row = {"kind": kind, "subject": subject, "occurred_at": at, "user_id": user_id, "payload": normalized(payload)}
    previous = last.hash if last else GENESIS
    digest = admin_hash(previous, row)
    session.add(AdminEvent(previous_hash=previous, hash=digest, **row))
    session.flush()
    _anchor_at_commit(session, None, digest, at)


def admin_events(services: Services, *, subject: str | None = None, kind: str | None = None) -> list[AdminEvent]:
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
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()


def anchor_json(row: Any) -> dict[str, Any]:
    """An anchor (a row or its fields) as the anchor log, the exports and its signature give it."""
    get: Callable[[str], Any] = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name)
    return {"number": get("number"), "processInstanceId": get("process_instance_id"),
            "eventHash": get("event_hash"), "anchoredAt": instant_text(get("anchored_at")),
            "previousHash": get("previous_hash"), "hash": get("hash"), "signature": get("signature")}


def _anchor_at_commit(session: Session, instance_id: str | None, head: str, at: datetime) -> None:
    """Sign the chain's new head in the unit of work that moved it, so that an event no signed anchor
    covers was not written by the service."""
    heads = session.info.get("anchor_heads")
    if heads is None:
        heads = session.info["anchor_heads"] = {}
        on_commit(session, lambda: append_anchors(session, heads))
    heads[instance_id] = (head, at)


def append_anchors(session: Session, heads: Mapping[str | None, tuple[str, datetime]]) -> None:
    """Append signed anchors of these heads (by instance id; None: the administrative chain) to the
    chain over all instances, and to the anchor log once the unit of work has committed."""
    # This unit's row locks are taken before the anchor chain's lock, so that a unit holding that
    # lock never waits for another unit's rows (no deadlock); the lock is held until commit.
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(AdvisoryLock.ANCHOR_CHAIN)})
    # On SQLite the unit already holds the write lock (BEGIN IMMEDIATE).
    signer: AnchorSigner = session.info["anchor_signer"]
    last = session.execute(select(HistoryAnchor.number, HistoryAnchor.hash)
                           .order_by(HistoryAnchor.number.desc()).limit(1)).first()
    number, previous = (last.number, last.hash) if last else (0, GENESIS)
    rows = []
    for instance_id, (head, at) in sorted(heads.items(), key=lambda item: item[0] or ""):
        number += 1
        row = {"number": number, "process_instance_id": instance_id, "event_hash": head, "anchored_at": at,
               "previous_hash": previous}
        row["hash"] = previous = anchor_hash(previous, row)
        row["signature"] = signer.sign(anchors.signed_part(anchor_json(row)))
        rows.append(row)
    session.connection().execute(HistoryAnchor.__table__.insert(), rows)
    logged = [anchor_json(row) for row in rows]
    after_commit(session, lambda: signer.append_to_log(logged))


def seal(services: Services) -> Verification:
    """Sign the heads that no signed anchor covers yet — the histories written before revision 0012 —
    when the chains show nothing else wrong (`eco-orchestrator verify --seal`, once after upgrading)."""
    result = verify(services)
    if not result.problems or not all(problem.unsealed for problem in result.problems):
        return result
    with services.db.write() as session:
        now = services.clock.now()
        heads: dict[str | None, tuple[str, datetime]] = {}
        for problem in result.problems:
            if problem.process_instance_id is None:
                heads[None] = (session.scalars(select(AdminEvent.hash).order_by(AdminEvent.id.desc())
                                               .limit(1)).one(), now)
            else:
                # The head the verification read (an instance without events has none of its own).
                instance = session.get_one(ProcessInstance, problem.process_instance_id)
                heads[problem.process_instance_id] = (instance.history_hash or GENESIS, now)
        append_anchors(session, heads)
    return verify(services)


@dataclass
class Problem:
    process_instance_id: str | None
    sequence: int | None
    event_id: int | None
    what: str
    # The history is intact but no signed anchor covers it (written before revision 0012): `seal` signs it.
    unsealed: bool = False


@dataclass(frozen=True)
class DeletedCase:
    """A case whose history was deleted (app.audit.removal), as the administrative chain records it."""

    process_instance_id: str
    deleted_at: datetime
    user_id: str | None
    history_hash: str
    events: int
    anchors: tuple[int, ...]


@dataclass
class Verification:
    intact: bool
    instances: int
    events: int
    anchors: int
    admin_events: int = 0
    problems: list[Problem] = field(default_factory=list)
    deleted: list[DeletedCase] = field(default_factory=list)


def _deleted_cases(session: Session, process_instance_id: str | None) -> dict[str, DeletedCase]:
    query = select(AdminEvent).where(AdminEvent.kind == HISTORY_DELETED).order_by(AdminEvent.id)
    deleted = {}
    for row in session.scalars(query):
        payload = row.payload
        case = payload.get("processInstanceId")
        if isinstance(case, str) and process_instance_id in (None, case):
            deleted[case] = DeletedCase(case, row.occurred_at, row.user_id, str(payload.get("historyHash")),
                                        int(payload.get("events") or 0), tuple(payload.get("anchors") or ()))
    return deleted


def verify(services: Services, process_instance_id: str | None = None) -> Verification:
    """Recompute the chains (of one instance, or of all instances and the administrative chain), check
    that a signed anchor covers each chain's head and that the rows shown beside the history match it,
    and check the anchors: their chain, numbering and signatures, and the anchor log."""
    result = Verification(True, 0, 0, 0)
    anchor_problems: list[Problem] = []
    with services.db.read() as session:
        deleted = _deleted_cases(session, process_instance_id)
        result.deleted = list(deleted.values())
        result.anchors, covering = _verify_anchors(session, services.signer, process_instance_id, anchor_problems,
                                                   deleted)
        instances = select(ProcessInstance).order_by(ProcessInstance.start_time, ProcessInstance.id)
        if process_instance_id:
            instances = instances.where(ProcessInstance.id == process_instance_id)
        for instance in session.scalars(instances):
            result.instances += 1
            result.events += _verify_instance(session, instance, covering.get(instance.id), result.problems)
        if process_instance_id is None:
            result.admin_events = _verify_admin_events(session, covering.get(None), result.problems)
    result.problems += anchor_problems
    result.intact = not result.problems
    if process_instance_id is None:  # the whole history: its result and time are shown on /metrics
        metrics.verified(result.intact, services.clock.now().timestamp())
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


UNSEALED = ("no signed anchor covers its history (written before revision 0012: "
            "run `eco-orchestrator verify --seal` once)")


def _verify_instance(session: Session, instance: ProcessInstance, covering: HistoryAnchor | None,
                     problems: list[Problem]) -> int:
    rows = session.scalars(select(HistoryEvent).where(HistoryEvent.process_instance_id == instance.id)
                           .order_by(HistoryEvent.sequence, HistoryEvent.id)).all()
    broken, head = first_break(((row.previous_hash, row.hash, event_fields(row)) for row in rows), event_hash)
    if broken is not None:
        row = rows[broken.index]
        problems.append(Problem(instance.id, row.sequence, row.id,
                                "the event before it was removed, or the events were reordered"
                                if broken.removed_or_reordered else "the event's row was changed"))
        return len(rows)
    if head != (instance.history_hash or GENESIS):
        problems.append(Problem(instance.id, None, None,
                                "the instance's last events were removed (its chain ends before its recorded head)"))
        return len(rows)
    hashes = [row.hash for row in rows]
    if covering is None:
        problems.append(Problem(instance.id, None, None, UNSEALED, unsealed=True))
    elif covering.event_hash != head:
        if covering.event_hash in hashes:  # otherwise the anchors' check names the rewritten history
            first = rows[hashes.index(covering.event_hash) + 1]
            problems.append(Problem(instance.id, first.sequence, first.id,
                                    f"the event and those after it are not covered by a signed anchor (the last, "
                                    f"anchor {covering.number}, ends before it): they were not written by the service"))
        return len(rows)
    mismatch = projections.first_mismatch(session, instance, rows)
    if mismatch:
        problems.append(Problem(instance.id, None, None, f"{mismatch} (changed outside the service)"))
    return len(rows)


def _verify_admin_events(session: Session, covering: HistoryAnchor | None, problems: list[Problem]) -> int:
    rows = session.scalars(select(AdminEvent).order_by(AdminEvent.id)).all()
    broken, head = first_break(((row.previous_hash, row.hash, {"kind": row.kind, "subject": row.subject,
                                                               "occurred_at": row.occurred_at, "user_id": row.user_id,
                                                               "payload": row.payload}) for row in rows), admin_hash)
    if broken is not None:
        problems.append(Problem(None, None, rows[broken.index].id,
                                "an administrative event before it was removed, or the events were reordered"
                                if broken.removed_or_reordered else "the administrative event's row was changed"))
        return len(rows)
    hashes = [row.hash for row in rows]
    if rows and covering is None:
        problems.append(Problem(None, None, None, f"the administrative chain: {UNSEALED}", unsealed=True))
    elif rows and covering is not None and covering.event_hash != head and covering.event_hash in hashes:
        first = rows[hashes.index(covering.event_hash) + 1]
        problems.append(Problem(None, None, first.id,
                                f"the administrative event and those after it are not covered by a signed anchor "
                                f"(the last, anchor {covering.number}, ends before it): they were not written by "
                                "the service"))
    return len(rows)


def _verify_anchors(session: Session, signer: AnchorSigner, process_instance_id: str | None,
                    problems: list[Problem], deleted: Mapping[str, DeletedCase]
                    ) -> tuple[int, dict[str | None, HistoryAnchor]]:
    """Check the chain over all instances; how many anchors, and the newest valid signed anchor of
    each chain (by instance id; None: the administrative chain). The anchors of a deleted case must
    be those its deletion lists, the last one anchoring the head of the removed chain."""
    rows = session.scalars(select(HistoryAnchor).order_by(HistoryAnchor.number, HistoryAnchor.id)).all()
    broken, _ = first_break(((row.previous_hash, row.hash, {"process_instance_id": row.process_instance_id,
                                                            "event_hash": row.event_hash,
                                                            "anchored_at": row.anchored_at}) for row in rows),
                            anchor_hash)
    checked = rows if broken is None else rows[:broken.index]
    covering: dict[str | None, HistoryAnchor] = {}
    hashes_of: dict[str, set[str]] = {}
    signed_before = False
    for index, row in enumerate(checked):
        if row.number != index + 1:
            problems.append(Problem(row.process_instance_id, None, None,
                                    f"anchor {index + 1} of the chain over all instances is missing (the "
                                    f"numbering goes on at {row.number})"))
            break
        if row.signature is None:
            if signed_before:
                problems.append(Problem(row.process_instance_id, None, None,
                                        f"anchor {row.number} is not signed (only anchors from before revision "
                                        "0012 may be unsigned)"))
        elif anchors.is_signed(signer.public_key, anchors.signed_part(anchor_json(row)), row.signature):
            signed_before = True
            covering[row.process_instance_id] = row
        else:
            signed_before = True
            problems.append(Problem(row.process_instance_id, None, None,
                                    f"anchor {row.number}: its signature does not match the anchor signing key "
                                    "(it was changed or forged)"))
        if row.process_instance_id is None:
            if process_instance_id is None and not session.scalar(select(exists().where(
                    AdminEvent.hash == row.event_hash))):
                problems.append(Problem(None, None, None, f"the administrative event anchored by anchor {row.number} "
                                                          "is no longer in the administrative chain"))
        elif row.process_instance_id in deleted:
            _check_deleted_anchor(row, deleted[row.process_instance_id], problems)
        elif process_instance_id in (None, row.process_instance_id):
            if row.process_instance_id not in hashes_of:
                hashes_of[row.process_instance_id] = set(session.scalars(
                    select(HistoryEvent.hash).where(HistoryEvent.process_instance_id == row.process_instance_id)))
            if row.event_hash not in hashes_of[row.process_instance_id]:
                problems.append(Problem(row.process_instance_id, None, None,
                                        f"the event anchored by anchor {row.number} is no longer in the instance's "
                                        "chain (its history was rewritten)"))
    if broken is not None:
        row = rows[broken.index]
        problems.append(Problem(row.process_instance_id, None, None,
                                f"anchor {row.number} of the chain over all instances was changed, or the one "
                                "before it removed"))
    _compare_with_log(signer, rows, problems)
    return (len(rows) if broken is None else broken.index + 1), covering


def _check_deleted_anchor(row: HistoryAnchor, case: DeletedCase, problems: list[Problem]) -> None:
    if row.number not in case.anchors:
        problems.append(Problem(row.process_instance_id, None, None,
                                f"anchor {row.number} anchors a case whose history was deleted, but the deletion "
                                "does not list it: it was not written by the service"))
    elif row.number == max(case.anchors) and row.event_hash != case.history_hash:
        problems.append(Problem(row.process_instance_id, None, None,
                                f"anchor {row.number}, the last of a deleted case, does not anchor the head its "
                                "deletion records (the deletion record or the anchor was changed)"))


def _compare_with_log(signer: AnchorSigner, rows: Sequence[HistoryAnchor], problems: list[Problem]) -> None:
    """Every anchor the log holds must be in the database as it was written: deleting the newest
    anchors (and the events they cover) is seen only here."""
    by_number = {row.number: row for row in rows}
    missing = []
    for line_number, line in enumerate(signer.logged(), start=1):
        number = line.get("number") if isinstance(line, dict) else None
        if number is None:
            problems.append(Problem(None, None, None, f"line {line_number} of the anchor log is not an anchor"))
        elif number not in by_number:
            missing.append(number)
        elif anchor_json(by_number[number]) != line:
            problems.append(Problem(by_number[number].process_instance_id, None, None,
                                    f"anchor {number} differs from the anchor log (it was changed)"))
    if missing:
        problems.append(Problem(None, None, None,
                                f"anchor {min(missing)} of the anchor log is missing from the database"
                                + (f" ({len(missing)} anchors in all, up to {max(missing)})" if len(missing) > 1
                                   else "") + ": anchors were deleted"))
