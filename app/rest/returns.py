"""驳回 and 撤回: returning a case to an earlier step and taking back a completed task (app.cases.modification)."""
from __future__ import annotations

from typing import Any

from app.cases import modification
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/api", tags=["case work"])


@router.post("/tasks/{task_id}/return",
             summary="Return (驳回) the case of an open task to an earlier step its diagram allows (returnTargets): "
                     "{\"targetActivityId\", \"opinion\"}; answers the task opened there")
def return_task(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    opened = modification.return_task(services, task_id, body or {}, actor=actor)
    return {"taskId": task_id, "openedTaskId": opened}


@router.post("/tasks/{task_id}/withdraw",
             summary="Withdraw (撤回) the completion of a task, by the one who completed it, while the case has not "
                     "moved since: {\"reason\"}; answers the task opened again, assigned to them")
def withdraw(task_id: str, services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    reopened = modification.withdraw(services, task_id, body or {}, actor=actor)
    return {"taskId": task_id, "openedTaskId": reopened}
