"""`/api/parks`, `/api/experts`, `/api/expert-draws`: the eco-industrial park register (ECO-18,
ECO-19) and the expert pool with its reproducible random draws (ECO-20)."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from app.access.permissions import AUDITORS
from app.context import Services
from app.errors import InvalidRequest
from app.extensions.parks import experts, register
from app.persistence.models import Expert, ExpertConflict, ExpertDraw, ParkStanding
from app.rest.dependencies import PrincipalDep, ServicesDep, role
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/api", tags=["parks and experts"])
# The register and the expert pool are kept by administrators (and by the processes themselves).
_REGISTRAR = role(permission="UPDATE", resource_type="Register")


class StandingBody(BaseModel):
    parkName: str
    province: str
    status: str
    since: str
    cause: str | None = None
    processInstanceId: str | None = None


class ExpertBody(BaseModel):
    id: str
    name: str
    specialty: str
    organization: str
    active: bool = True


class ExpertChange(BaseModel):
    name: str | None = None
    specialty: str | None = None
    organization: str | None = None
    active: bool | None = None


class ConflictBody(BaseModel):
    parkId: str
    reason: str


class DrawBody(BaseModel):
    parkId: str
    purpose: str
    count: int
    processInstanceId: str | None = None
    userId: str | None = None


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"'{field}' must be a date YYYY-MM-DD, not {value!r}") from None


def _park(park: ParkStanding, services: Services) -> dict[str, Any]:
    return {"parkId": park.park_id, "parkName": park.park_name, "province": park.province, "status": park.status,
            "since": park.since.isoformat(), "cause": park.cause,
            "banUntil": park.ban_until.isoformat() if park.ban_until else None,
            "decidedByInstanceId": park.decided_by_instance_id,
            "updated": format_instant(park.updated, services.settings.zone)}


def _conflict(conflict: ExpertConflict, services: Services) -> dict[str, Any]:
    return {"expertId": conflict.expert_id, "parkId": conflict.park_id, "reason": conflict.reason,
            "declared": format_instant(conflict.declared, services.settings.zone)}


def _expert(expert: Expert, services: Services, conflicts: list[ExpertConflict] | None = None) -> dict[str, Any]:
    body = {"id": expert.id, "name": expert.name, "specialty": expert.specialty, "organization": expert.organization,
            "active": expert.active, "created": format_instant(expert.created, services.settings.zone)}
    if conflicts is not None:
        body["conflicts"] = [_conflict(c, services) for c in conflicts]
    return body


def _draw(draw: ExpertDraw, services: Services) -> dict[str, Any]:
    return {"id": draw.id, "parkId": draw.park_id, "purpose": draw.purpose, "requested": draw.requested,
            "seed": draw.seed, "algorithm": draw.algorithm, "eligible": draw.eligible, "excluded": draw.excluded,
            "drawn": draw.drawn, "drawnAt": format_instant(draw.drawn_at, services.settings.zone),
            "processInstanceId": draw.process_instance_id, "drawnBy": draw.drawn_by, "taskId": draw.task_id,
            "activityId": draw.activity_id}


@router.get("/parks", summary="The park register, optionally of one province or status")
def list_parks(services: ServicesDep, province: str | None = None, status: str | None = None) -> list[dict]:
    return [_park(p, services) for p in register.list_parks(services, province=province, status=status)]


@router.get("/parks/{park_id}", summary="A park's standing")
def read_park(park_id: str, services: ServicesDep) -> dict[str, Any]:
    return _park(register.get_park(services, park_id), services)


@router.put("/parks/{park_id}/standing",
            dependencies=[_REGISTRAR], summary="Record a park's standing; a revocation sets its ECO-19 ban")
def record_standing(park_id: str, body: StandingBody, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    park = register.record_standing(services, park_id, park_name=body.parkName, province=body.province,
                                 status=body.status, since=_date(body.since, "since"), cause=body.cause,
                                 process_instance_id=body.processInstanceId, user_id=actor.user_id)
    return _park(park, services)


@router.get("/parks/{park_id}/application-check",
            summary="May the park file a new creation application on this day (default: today)?")
def application_check(park_id: str, services: ServicesDep, on: date | None = None) -> dict[str, Any]:
    on = on or services.today()
    check = register.application_check(services, park_id, on)
    return {"parkId": check.park_id, "on": check.on.isoformat(), "allowed": check.allowed, "reason": check.reason,
            "status": check.status, "cause": check.cause,
            "banUntil": check.ban_until.isoformat() if check.ban_until else None}


@router.get("/experts", dependencies=[role(AUDITORS, permission="READ", resource_type="ExpertPool")],
            summary="The expert pool with each expert's declared conflicts (administrators and auditors)")
def list_experts(services: ServicesDep, active: bool | None = None) -> list[dict[str, Any]]:
    return [_expert(e, services, conflicts) for e, conflicts in experts.list_experts(services, active=active)]


@router.post("/experts", dependencies=[_REGISTRAR], summary="Add an expert to the pool")
def add_expert(body: ExpertBody, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    return _expert(experts.add_expert(services, body.id, name=body.name, specialty=body.specialty,
                                    organization=body.organization, active=body.active, user_id=actor.user_id),
                   services)


@router.put("/experts/{expert_id}",
            dependencies=[_REGISTRAR], summary="Update an expert; active=false takes them out of later draws")
def update_expert(expert_id: str, body: ExpertChange, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    return _expert(experts.update_expert(services, expert_id, name=body.name, specialty=body.specialty,
                                       organization=body.organization, active=body.active, user_id=actor.user_id),
                   services)


@router.post("/experts/{expert_id}/conflicts",
             dependencies=[_REGISTRAR], summary="Declare a conflict: the expert is recused for the park")
def declare_conflict(expert_id: str, body: ConflictBody, services: ServicesDep,
                     actor: PrincipalDep) -> dict[str, Any]:
    return _conflict(experts.declare_conflict(services, expert_id, body.parkId, body.reason, user_id=actor.user_id),
                     services)


@router.post("/expert-draws",
             dependencies=[_REGISTRAR], summary="Draw experts at random for a park's acceptance or evaluation")
def draw_experts(body: DrawBody, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    return _draw(experts.draw_experts(services, body.parkId, body.purpose, body.count,
                                    process_instance_id=body.processInstanceId, user=body.userId or actor.user_id),
                 services)


@router.get("/expert-draws", summary="Recorded draws, of a process instance, a user task or a park")
def list_draws(services: ServicesDep, reader: PrincipalDep, processInstanceId: str | None = None,
               taskId: str | None = None, parkId: str | None = None) -> list[dict[str, Any]]:
    draws = experts.list_draws(services, reader, process_instance_id=processInstanceId, task_id=taskId,
                               park_id=parkId)
    return [_draw(draw, services) for draw in draws]


@router.get("/expert-draws/{draw_id}", summary="A recorded draw")
def read_draw(draw_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    return _draw(experts.get_draw(services, draw_id, reader), services)


@router.get("/expert-draws/{draw_id}/verification",
            summary="Recompute a draw from its recorded seed and eligible list")
def verify_draw(draw_id: str, services: ServicesDep, reader: PrincipalDep) -> dict[str, Any]:
    verification = experts.verify_draw(services, draw_id, reader)
    draw = verification.draw
    return {"id": draw.id, "algorithm": draw.algorithm, "seed": draw.seed, "reproduced": verification.reproduced,
            "drawn": draw.drawn, "recomputed": verification.recomputed}
