"""`/health` (the database answers), and the probes of a container host: `/health/live` (the process
answers; it reads nothing) and `/health/ready` (the database answers, its schema is at this build's
newest migration and the working-day calendar holds the current year; 503 naming what is not).
None needs credentials: they show no data."""
from __future__ import annotations

from fastapi.responses import JSONResponse

from app.cases import operations
from app.rest.dependencies import ServicesDep
from app.rest.routing import ServiceRouter

router = ServiceRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> dict:
    services.db.ping()
    return {"status": "UP", "database": "sqlite" if services.db.is_sqlite else "postgresql",
            "clock": services.settings.clock}


@router.get("/health/live")
async def live() -> dict:
    return {"status": "UP"}


@router.get("/health/ready", responses={503: {"description": "Not ready: `checks` names what is not"}})
def ready(services: ServicesDep) -> JSONResponse:
    checks = operations.readiness(services)
    up = all(state == operations.UP for state in checks.values())
    return JSONResponse({"status": "UP" if up else "DOWN", "checks": checks}, status_code=200 if up else 503)
