"""`/api/deadlines`: open deadlines with their warning level, for the pages officials work from."""
from __future__ import annotations

from typing import Any

from app.deadlines.deadlines import open_deadlines
from app.rest.dependencies import PrincipalDep, ServicesDep
from app.rest.routing import ServiceRouter
from app.rest.variables import format_instant

router = ServiceRouter(prefix="/api/deadlines", tags=["deadlines"])


@router.get("", summary="Open deadlines of an instance, a business key or a candidate group, with their level "
                        "(normal, warning, overdue)")
def list_deadlines(services: ServicesDep, viewer: PrincipalDep,
                   processInstanceId: str | None = None, businessKey: str | None = None,
                   candidateGroup: str | None = None) -> list[dict[str, Any]]:
    zone = services.settings.zone
    return [{"kind": d.kind, "processInstanceId": d.process_instance_id, "businessKey": d.business_key,
             "processDefinitionKey": d.process_definition_key, "activityId": d.activity_id, "name": d.name,
             "taskId": d.task_id, "due": format_instant(d.due, zone), "lastDay": d.last_day.isoformat(),
             "workingDaysLeft": d.working_days_left, "level": d.level, "provisional": d.provisional}
            for d in open_deadlines(services, process_instance_id=processInstanceId, business_key=businessKey,
                                    candidate_group=candidateGroup, viewer=viewer)]
