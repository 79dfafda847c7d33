"""Camunda's history cleanup (`/history/cleanup`): the job that deletes the histories whose retention
has passed (app.audit.cleanup), run by the timer worker."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import Request

from app.access.permissions import AUDITORS
from app.audit import cleanup
from app.errors import NotFound
from app.rest.dependencies import PrincipalDep, ServicesDep, role
from app.rest.params import flag, query_dict
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

if TYPE_CHECKING:
    from datetime import tzinfo

    from app.persistence.models import HistoryCleanupJob

router = ServiceRouter(prefix="/engine-rest/history/cleanup", tags=["history"])
# Scheduling is for administrators (Camunda: checkCamundaAdmin); the job and the window are read by
# those who read the service's figures.
_SCHEDULE = role(permission="CREATE", resource_type="HistoryCleanup")
_READ = role(AUDITORS, permission="READ", resource_type="HistoryCleanup")


def _job(job: HistoryCleanupJob, zone: tzinfo) -> dict[str, Any]:
    """Camunda's JobDto of the history cleanup job: of no process, never failing as a job does."""
    return {"id": job.id, "jobDefinitionId": None, "processInstanceId": None, "processDefinitionId": None,
            "processDefinitionKey": None, "executionId": None, "exceptionMessage": job.exception_message,
            "failedActivityId": None, "retries": 3, "dueDate": format_instant(job.due_at, zone),
            "suspended": job.suspended, "priority": 0, "tenantId": None,
            "createTime": format_instant(job.created, zone), "batchId": None}


@router.post("", dependencies=[_SCHEDULE],
             summary="Schedule the history cleanup: due now (immediatelyDue, the default) or at the start of the "
                     "cleanup window; the timer worker deletes every ended case whose historyTimeToLive has passed")
def schedule_cleanup(request: Request, services: ServicesDep, actor: PrincipalDep) -> dict[str, Any]:
    immediately_due = flag(query_dict(request).get("immediatelyDue", True), "immediatelyDue")
    return _job(cleanup.schedule(services, immediately_due, actor=actor), services.settings.zone)


@router.get("/job", dependencies=[_READ], summary="The history cleanup job (deprecated by Camunda for /jobs)")
def cleanup_job(services: ServicesDep) -> dict[str, Any]:
    found = cleanup.jobs(services)
    if not found:
        raise NotFound("History cleanup job does not exist")
    return _job(found[0], services.settings.zone)


@router.get("/jobs", dependencies=[_READ])
def cleanup_jobs(services: ServicesDep) -> list[dict[str, Any]]:
    found = cleanup.jobs(services)
    if not found:
        raise NotFound("History cleanup jobs are empty")
    return [_job(job, services.settings.zone) for job in found]


@router.get("/configuration", dependencies=[_READ],
            summary="The current or next cleanup window (HISTORY_CLEANUP_BATCH_WINDOW_START_TIME/END_TIME) and "
                    "whether the cleanup may run")
def cleanup_configuration(services: ServicesDep) -> dict[str, Any]:
    settings = services.settings
    found = cleanup.window(settings, services.clock.now())
    start, end = found if found else (None, None)
    return {"batchWindowStartTime": format_instant(start, settings.zone),
            "batchWindowEndTime": format_instant(end, settings.zone), "enabled": settings.history_cleanup_enabled}
