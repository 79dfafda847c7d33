

from app.rest.dependencies import ServicesDep
from app.rest.routing import ServiceRouter

router = ServiceRouter(tags=["health"])


@router.get("/health")
def health(services: ServicesDep) -> dict:
    services.db.ping()
    return {"status": "UP", "database": "sqlite" if services.db.is_sqlite else "postgresql",
            "clock": services.settings.clock}
