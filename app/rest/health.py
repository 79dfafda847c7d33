from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text

from app.rest.dependencies import get_services
from app.services.context import Services

router = APIRouter(tags=["health"])


@router.get("/health")
def health(services: Annotated[Services, Depends(get_services)]) -> dict:
    with services.db.read() as session:
        session.execute(text("SELECT 1"))
    return {"status": "UP", "database": "sqlite" if services.db.is_sqlite else "postgresql",
            "clock": services.settings.clock}
