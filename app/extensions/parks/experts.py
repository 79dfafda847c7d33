"""The expert pool: experts, their declared conflicts with parks (recusal, 回避) and random draws
that an auditor can recompute from the recorded row alone (ECO-20)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.errors import InvalidRequest, NotFound
from app.extensions.parks.fields import one_of, text_field
from app.persistence.models import Expert, ExpertConflict, ExpertDraw, ParkStanding

if TYPE_CHECKING:
    from app.context import Services

PURPOSES = ("acceptance", "evaluation")
# The standings a park must have for a draw of each purpose: acceptance ends a creation (ECO-08..11),
# evaluation judges a named park or one under an exit warning (ECO-16, ECO-17).
DRAW_STANDINGS = {"acceptance": ("creating",), "evaluation": ("named", "warned")}
ALGORITHM = "sha256-rank-v1"
MAX_DRAW = 100


def add_expert(services: Services, expert_id: str, *, name: str, specialty: str, organization: str,
               active: bool = True, user_id: str | None = None) -> Expert:
    expert_id = text_field(expert_id, "id", limit=64)
    expert = Expert(id=expert_id, name=text_field(name, "name"), specialty=text_field(specialty, "specialty"),
                    organization=text_field(organization, "organization"), active=bool(active))
    with services.db.write() as session:
        if session.get(Expert, expert_id) is not None:
            raise InvalidRequest(f"An expert with id '{expert_id}' is already in the pool; "
                                 f"PUT /api/experts/{expert_id} updates it")
        expert.created = services.clock.now()
        session.add(expert)
        _record_expert(session, "expert.added", expert, expert.created, user_id)
    return expert


def _record_expert(session: Session, kind: str, expert: Expert, now: datetime, user_id: str | None) -> None:
    ledger.record_admin(session, kind, f"expert:{expert.id}", now, user_id, name=expert.name,
                        specialty=expert.specialty, organization=expert.organization, active=expert.active)


def update_expert(services: Services, expert_id: str, *, name: str | None = None, specialty: str | None = None,
                  organization: str | None = None, active: bool | None = None, user_id: str | None = None) -> Expert:
    """Change the given fields; `active=False` takes the expert out of every later draw."""
    with services.db.write() as session:
        expert = _expert(session, expert_id)
        for field, value in (("name", name), ("specialty", specialty), ("organization", organization)):
            if value is not None:
                setattr(expert, field, text_field(value, field))
        if active is not None:
            expert.active = bool(active)
        _record_expert(session, "expert.updated", expert, services.clock.now(), user_id)
    return expert


def declare_conflict(services: Services, expert_id: str, park_id: str, reason: str, *,
                     user_id: str | None = None) -> ExpertConflict:
    """The expert is recused from every draw for the park; a second declaration replaces the reason."""
    park_id = text_field(park_id, "parkId", limit=64)
    reason = text_field(reason, "reason", limit=2000)
    with services.db.write() as session:
        _expert(session, expert_id)
        conflict = session.get(ExpertConflict, (expert_id, park_id))
        if conflict is None:
            conflict = ExpertConflict(expert_id=expert_id, park_id=park_id)
            session.add(conflict)
        conflict.reason, conflict.declared = reason, services.clock.now()
        ledger.record_admin(session, "expert.conflict", f"expert:{expert_id}", conflict.declared, user_id,
                            park_id=park_id, reason=reason)
    return conflict


def list_experts(services: Services, *, active: bool | None = None) -> list[tuple[Expert, list[ExpertConflict]]]:
    query = select(Expert).order_by(Expert.id)
    if active is not None:
        query = query.where(Expert.active == active)
    with services.db.read() as session:
        experts = list(session.scalars(query))
        conflicts: dict[str, list[ExpertConflict]] = {}
        for conflict in session.scalars(select(ExpertConflict).order_by(ExpertConflict.park_id)):
            conflicts.setdefault(conflict.expert_id, []).append(conflict)
    return [(expert, conflicts.get(expert.id, [])) for expert in experts]


def _expert(session: Session, expert_id: str) -> Expert:
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"No expert '{expert_id}' in the pool")
    return expert


# --- draws ----------------------------------------------------------------------------------------

def rank(seed: str, eligible: list[str]) -> list[str]:
    """sha256-rank-v1: each eligible id gets the key sha256(UTF-8 of seed + ":" + id) in lowercase hex;
    the ids sorted by key (then by id) are the ranking, and a draw of n takes its first n. Recomputable
    from a draw's recorded seed and eligible list alone, for example in a shell:
    `printf '%s' "$seed:$id" | sha256sum` for each id, then `sort`."""
    keys = {expert_id: hashlib.sha256(f"{seed}:{expert_id}".encode()).hexdigest() for expert_id in eligible}
    return sorted(keys, key=lambda expert_id: (keys[expert_id], expert_id))


def draw_experts(services: Services, park_id: str, purpose: str, count: int, *,
                 process_instance_id: str | None = None, user: str | None = None) -> ExpertDraw:
    """ECO-20: draw `count` experts at random from the active pool, recusing those with a declared
    conflict with the park."""
    with services.db.write() as session:
        draw = draw_in(session, park_id, purpose, count, now=services.clock.now(),
                       process_instance_id=process_instance_id, user=user)
        ledger.record_admin(session, "experts.drawn", f"park:{draw.park_id}", draw.drawn_at, user, draw_id=draw.id,
                            purpose=draw.purpose, drawn=list(draw.drawn), excluded=list(draw.excluded),
                            seed=draw.seed, algorithm=draw.algorithm)
        return draw


def draw_in(session: Session, park_id: str, purpose: str, count: int, *, now: datetime,
            process_instance_id: str | None = None, user: str | None = None, task_id: str | None = None,
            activity_id: str | None = None) -> ExpertDraw:
    """A draw within the caller's unit of work."""
    one_of(purpose, PURPOSES, "purpose")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_DRAW:
        raise InvalidRequest(f"'count' must be a whole number from 1 to {MAX_DRAW}, not {count!r}")
    park = session.get(ParkStanding, park_id)
    if park is None:
        raise InvalidRequest(f"'parkId': no park '{park_id}' on the register; record its standing first")
    if park.status not in DRAW_STANDINGS[purpose]:
        raise InvalidRequest(f"Cannot draw {purpose} experts for park '{park_id}': it is {park.status}, and an "
                             f"{purpose} concerns a park that is {' or '.join(DRAW_STANDINGS[purpose])}")
    active = list(session.scalars(select(Expert.id).where(Expert.active).order_by(Expert.id)))
    recused = dict(session.execute(select(ExpertConflict.expert_id, ExpertConflict.reason)
                                   .where(ExpertConflict.park_id == park_id)).all())
    eligible = [expert_id for expert_id in active if expert_id not in recused]
    excluded = [{"expertId": expert_id, "reason": recused[expert_id]}
                for expert_id in active if expert_id in recused]
    if len(eligible) < count:
        raise InvalidRequest(f"Cannot draw {count} experts for park '{park_id}': only {len(eligible)} active "
                             f"experts are eligible ({len(excluded)} recused for a declared conflict)")
    seed = secrets.token_hex(16)
    draw = ExpertDraw(id=str(uuid.uuid4()), park_id=park_id, purpose=purpose, requested=count, seed=seed,
                      eligible=eligible, excluded=excluded, drawn=rank(seed, eligible)[:count],
                      algorithm=ALGORITHM, drawn_at=now, process_instance_id=process_instance_id, drawn_by=user,
                      task_id=task_id, activity_id=activity_id)
    session.add(draw)
    return draw


def list_draws(services: Services, reader: Principal, *, process_instance_id: str | None = None,
               task_id: str | None = None, park_id: str | None = None) -> list[ExpertDraw]:
    """The recorded draws the reader may read."""
    query = select(ExpertDraw).order_by(ExpertDraw.drawn_at, ExpertDraw.id)
    for column, value in ((ExpertDraw.process_instance_id, process_instance_id), (ExpertDraw.task_id, task_id),
                          (ExpertDraw.park_id, park_id)):
        if value:
            query = query.where(column == value)
    with services.db.read() as session:
        return [draw for draw in session.scalars(query) if permissions.may_read_draw(session, reader, draw)]


def get_draw(services: Services, draw_id: str, reader: Principal) -> ExpertDraw:
    with services.db.read() as session:
        draw = session.get(ExpertDraw, draw_id)
        if draw is None:
            raise NotFound(f"No expert draw '{draw_id}'")
        if not permissions.may_read_draw(session, reader, draw):
            raise permissions.denied(reader, "READ", "ExpertDraw", draw_id)
        return draw


@dataclass(frozen=True)
class Verification:
    draw: ExpertDraw
    reproduced: bool
    recomputed: list[str]


def verify_draw(services: Services, draw_id: str, reader: Principal) -> Verification:
    """Recompute a draw from its recorded seed, eligible list and size: does it give the drawn list?"""
    draw = get_draw(services, draw_id, reader)
    recomputed = rank(draw.seed, list(draw.eligible))[:draw.requested] if draw.algorithm == ALGORITHM else []
    return Verification(draw, recomputed == list(draw.drawn), recomputed)


