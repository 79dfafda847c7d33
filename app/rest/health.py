from typing import Annotated

from fastapi import APIRouter, Depends

from app.context import Services
from app.rest.dependencies import get_services

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: Annotated[Services, Depends(get_services)]) -> dict:
    services.db.ping()
    return {"status": "UP", "database": "sqlite" if services.db.is_sqlite else "postgresql",
            "clock": services.settings.clock}
