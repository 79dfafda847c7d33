
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest", tags=["engine"])

# The Camunda 7 REST version whose contract this service answers.
CAMUNDA_API_VERSION = "7.22.0"


@router.get("/version")
def version() -> dict:
    return {"version": CAMUNDA_API_VERSION}


@router.get("/engine")
def engines() -> list[dict]:
    return [{"name": "default"}]
