"""`/api/clock`: the service's time, and moving a simulated clock (firing what falls due on the way)."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from starlette.concurrency import run_in_threadpool

from app.cases.timers import advance_clock_to
from app.clock import SimulatedClock, add_iso_duration
from app.context import Services
from app.errors import ClockUnavailable, InvalidRequest
from app.rest.dependencies import ServicesDep, role
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant, parse_instant

router = ServiceRouter(prefix="/api/clock", tags=["clock"])


def _describe(services: Services) -> dict[str, Any]:
    return {"mode": services.settings.clock, "now": format_instant(services.clock.now(), services.settings.zone)}


@router.get("")
def read_clock(services: ServicesDep) -> dict[str, Any]:
    return _describe(services)


@router.post("",
             dependencies=[role(permission="UPDATE", resource_type="Clock")],
             summary="Move the simulated clock: {\"advance\": \"P16D\"} or {\"set\": \"2026-09-28T09:00:00+08:00\"}")
async def move_clock(services: ServicesDep, body: Annotated[dict[str, Any] | None, Body()] = None) -> dict[str, Any]:
    clock = services.clock
    if not isinstance(clock, SimulatedClock):
        raise ClockUnavailable("The service runs on the system clock (CLOCK=system); it cannot be moved")
    body = body or {}
    if ("advance" in body) == ("set" in body):
        raise InvalidRequest("Give exactly one of 'advance' (an ISO 8601 duration) or 'set' (an instant)")
    if "advance" in body:
        try:
            # A month on the service's calendar, as timers count it.
            target = add_iso_duration(clock.now().astimezone(services.settings.zone), str(body["advance"]))
        except ValueError as error:
            raise InvalidRequest(str(error)) from None
    else:
        target = parse_instant(str(body["set"]), services.settings.zone, "'set'")
    fired = await run_in_threadpool(advance_clock_to, services, clock, target)
    return {**_describe(services), "instancesAdvanced": fired}
