"""Camunda's /modification: the same instructions applied to several cases of one process
definition, at once (execute: all or none) or later, one case at a time (executeAsync: a batch)."""
from __future__ import annotations

from typing import Any

from fastapi import Response

from app.access.accounts import Principal
from app.cases import batches, modification
from app.context import Services
from app.engine import Instruction
from app.errors import InvalidRequest
from app.rest.camunda import queries, render
from app.rest.camunda.process_instance import modification_request
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.params import text
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/modification", tags=["modification"])
_ADMINISTER = role(permission="UPDATE", resource_type="ProcessInstance")
_NO_INSTANCES = "Process instance ids cannot be empty: Process instance ids is empty"


def _request(body: dict[str, Any], services: Services,
             actor: Principal) -> tuple[str, list[Instruction], str | None, list[str]]:
    definition_id = text(body, "processDefinitionId")
    if not definition_id:
        raise InvalidRequest("Process definition id cannot be null")
    instructions, annotation = modification_request(body, services)
    if not instructions:
        raise InvalidRequest("'instructions' must name at least one instruction")
    return definition_id, instructions, annotation, queries.instance_targets(body, services, actor)


@router.post("/execute", status_code=204, dependencies=[_ADMINISTER],
             summary="Modify the named cases of a definition by the same instructions, all in one unit of work")
def execute(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    definition_id, instructions, annotation, targets = _request(body or {}, services, actor)
    if not targets:
        raise InvalidRequest(_NO_INSTANCES)
    if len(targets) > services.settings.page_size_max:
        raise InvalidRequest(f"At most {services.settings.page_size_max} process instances are modified at once; "
                             "use /modification/executeAsync for more")
    modification.modify_many(services, targets, definition_id, instructions, annotation=annotation, actor=actor)
    return Response(status_code=204)


@router.post("/executeAsync", dependencies=[_ADMINISTER],
             summary="Modify the named cases of a definition later, each in its own unit of work (a batch)")
def execute_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    definition_id, instructions, annotation, targets = _request(body or {}, services, actor)
    batch = batches.create(services, batches.MODIFICATION, targets, {
        "processDefinitionId": definition_id, "annotation": annotation,
        "instructions": [batches.stored_instruction(item) for item in instructions]},
        actor=actor, empty_message=_NO_INSTANCES)
    return render.batch(batch, services.settings.zone)
