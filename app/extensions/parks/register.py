"""The park register: each park's standing, and whether it may apply for a new creation (ECO-01,
ECO-18, ECO-19)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import ledger
from app.calendar import shift_months
from app.errors import InvalidRequest, NotFound
from app.extensions.parks.fields import one_of, text_field
from app.persistence.models import ParkStanding

if TYPE_CHECKING:
    from app.context import Services

STATUSES = ("creating", "named", "warned", "revoked", "stopped", "incomplete")
# Standings in which a park is in the programme: it cannot start a second creation (ECO-01).
IN_PROGRAMME = ("creating", "named", "warned")
# ECO-18 (art. 28 (一)-(七)); the first three bar a new creation application for 5 years, the others for 3.
REVOCATION_CAUSES = ("serious_pollution", "central_inspection", "data_fraud", "warning_not_rectified",
                     "no_management_body", "voluntary_withdrawal", "other")
FIVE_YEAR_CAUSES = frozenset(REVOCATION_CAUSES[:3])


def ban_end(since: date, cause: str) -> date:
    """ECO-19: the last day of the re-application ban after a revocation on `since` (the day of the
    revocation is not counted; the period ends on the same day 5 or 3 years later)."""
    return shift_months(since, 12 * (5 if cause in FIVE_YEAR_CAUSES else 3))


def record_standing(services: Services, park_id: str, *, park_name: str, province: str, status: str,
                    since: date, cause: str | None = None, process_instance_id: str | None = None,
                    user_id: str | None = None) -> ParkStanding:
    """Record a park's standing as an administrator states it."""
    with services.db.write() as session:
        now = services.clock.now()
        park = record_in(session, park_id, park_name=park_name, province=province, status=status, since=since,
                         cause=cause, process_instance_id=process_instance_id, now=now)
        ledger.record_admin(session, "park.standing", f"park:{park.park_id}", now, user_id, status=park.status,
                            since=park.since.isoformat(), cause=park.cause, province=park.province,
                            ban_until=park.ban_until.isoformat() if park.ban_until else None)
        return park


def record_in(session: Session, park_id: str, *, park_name: str, province: str, status: str, since: date,
              cause: str | None, process_instance_id: str | None, now: datetime) -> ParkStanding:
    """Record a park's standing within the caller's unit of work."""
    park_id = text_field(park_id, "parkId", limit=64)
    park_name = text_field(park_name, "parkName")
    province = text_field(province, "province", limit=64)
    one_of(status, STATUSES, "status")
    if status == "revoked":
        cause = one_of(cause, REVOCATION_CAUSES, "cause")
    else:
        cause = text_field(cause, "cause", required=False)
    park = session.get(ParkStanding, park_id)
    # A banned park can be in no other standing until its ban ends (stopping or failing a creation
    # presupposes one), so nothing recorded meanwhile can lift the ban.
    if status != "revoked" and park is not None and _banned(park, since):
        raise InvalidRequest(f"Park '{park_id}' cannot be recorded as {status} on {since}: {_ban_reason(park)}")
    if park is None:
        park = ParkStanding(park_id=park_id)
        session.add(park)
    park.park_name, park.province, park.status, park.since, park.cause = park_name, province, status, since, cause
    park.ban_until = ban_end(since, cause) if status == "revoked" and cause is not None else None
    park.decided_by_instance_id = process_instance_id
    park.updated = now
    return park


_Row = TypeVar("_Row")


def _read(services: Services, kind: type[_Row], key: str, missing: str) -> _Row:
    with services.db.read() as session:
        row = session.get(kind, key)
    if row is None:
        raise NotFound(missing)
    return row


def get_park(services: Services, park_id: str) -> ParkStanding:
    return _read(services, ParkStanding, park_id, f"No park '{park_id}' on the register")


def list_parks(services: Services, *, province: str | None = None, status: str | None = None) -> list[ParkStanding]:
    query = select(ParkStanding).order_by(ParkStanding.park_id)
    if province:
        query = query.where(ParkStanding.province == province)
    if status:
        query = query.where(ParkStanding.status == one_of(status, STATUSES, "status"))
    with services.db.read() as session:
        return list(session.scalars(query))


def _banned(park: ParkStanding, on: date) -> bool:
    return park.status == "revoked" and park.ban_until is not None and on <= park.ban_until


def _ban_reason(park: ParkStanding) -> str:
    """Why a banned park (`_banned`) may not apply."""
    ban_until = park.ban_until
    if ban_until is None:
        raise ValueError(f"park '{park.park_id}' is not banned")
    years = 5 if park.cause in FIVE_YEAR_CAUSES else 3
    return (f"its naming was revoked on {park.since.isoformat()} for {park.cause} (ECO-18), so no new creation "
            f"application is accepted for {years} years (ECO-19): the ban ends on {ban_until.isoformat()}, "
            f"applications are accepted from {(ban_until + timedelta(days=1)).isoformat()}")


@dataclass(frozen=True)
class ApplicationCheck:
    park_id: str
    on: date
    allowed: bool
    reason: str | None
    status: str | None
    cause: str | None
    ban_until: date | None


def application_check(services: Services, park_id: str, on: date) -> ApplicationCheck:
    """ECO-01/ECO-19: may this park file a new creation application on `on`? Unknown parks may."""
    with services.db.read() as session:
        return check_in(session, park_id, on)


def check_in(session: Session, park_id: str, on: date) -> ApplicationCheck:
    park = session.get(ParkStanding, park_id)
    if park is None:
        return ApplicationCheck(park_id, on, True, None, None, None, None)
    reason = None
    if park.status in IN_PROGRAMME:
        reason = (f"the park is {park.status} since {park.since.isoformat()}: a park in creation, named or under "
                  "an exit warning cannot start a second creation")
    elif _banned(park, on):
        reason = _ban_reason(park)
    return ApplicationCheck(park_id, on, reason is None, reason, park.status, park.cause, park.ban_until)


