"""Camunda's /migration: generate, validate and execute a plan that moves running instances to
another process definition (administrators only): at once, all or none (execute), or later, one
instance to a unit of work (executeAsync: a batch)."""
from __future__ import annotations

from typing import Any

from fastapi import Response

from app.access.accounts import Principal
from app.cases import batches, migration
from app.context import Services
from app.engine.migration import MigrationInstruction
from app.errors import InvalidRequest
from app.rest.camunda import queries, render
from app.rest.dependencies import JsonBody, PrincipalDep, ServicesDep, role
from app.rest.params import text
from app.rest.routing import ServiceRouter
from app.rest.variables import decode_variables, encode_variables

router = ServiceRouter(prefix="/engine-rest/migration", tags=["migration"])
_MIGRATE = role(permission="MIGRATE_INSTANCE", resource_type="ProcessDefinition")


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidRequest(f"'{name}' must be a boolean")
    return value


def _activity(raw: dict[str, Any], name: str) -> str:
    ids = raw.get(name)
    if ids is None:
        return ""
    if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], str) or len(ids[0]) > 255:
        raise InvalidRequest(f"'{name}' must list one activity id")
    return ids[0]


def _instruction(raw: Any) -> MigrationInstruction:
    if not isinstance(raw, dict):
        raise InvalidRequest("each instruction must be an object")
    update = raw.get("updateEventTrigger")
    if update is not None and not isinstance(update, bool):
        raise InvalidRequest("'updateEventTrigger' must be a boolean")
    return MigrationInstruction(_activity(raw, "sourceActivityIds"), _activity(raw, "targetActivityIds"),
                                bool(update))


def _plan(raw: Any, services: Services) -> migration.MigrationPlan:
    if not isinstance(raw, dict):
        raise InvalidRequest("'migrationPlan' must be an object")
    instructions = raw.get("instructions") or []
    if not isinstance(instructions, list):
        raise InvalidRequest("'instructions' must be a list of instructions")
    if len(instructions) > migration.MAX_INSTRUCTIONS:
        raise InvalidRequest(f"A migration plan holds at most {migration.MAX_INSTRUCTIONS} instructions")
    return migration.MigrationPlan(text(raw, "sourceProcessDefinitionId") or "",
                                   text(raw, "targetProcessDefinitionId") or "",
                                   tuple(_instruction(item) for item in instructions),
                                   decode_variables(raw.get("variables"), services.settings))


def _plan_json(plan: migration.MigrationPlan, services: Services) -> dict[str, Any]:
    return {"sourceProcessDefinitionId": plan.source_definition_id,
            "targetProcessDefinitionId": plan.target_definition_id,
            "instructions": [migration.instruction_json(instruction) for instruction in plan.instructions],
            "variables": encode_variables(plan.variables, services.settings.zone) if plan.variables else None}


@router.post("/generate", dependencies=[_MIGRATE],
             summary="The migration plan for the activities of equal ids in both definitions, as Camunda generates it")
def generate_plan(services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    body = body or {}
    plan = migration.generate_plan(services, text(body, "sourceProcessDefinitionId"),
                                   text(body, "targetProcessDefinitionId"),
                                   update_event_triggers=_flag(body, "updateEventTriggers"),
                                   variables=decode_variables(body.get("variables"), services.settings))
    return _plan_json(plan, services)


@router.post("/validate", dependencies=[_MIGRATE],
             summary="What of a migration plan cannot be migrated (empty reports: it is valid)")
def validate_plan(services: ServicesDep, body: JsonBody = None) -> dict[str, Any]:
    return migration.validate_plan(services, _plan(body or {}, services))


def _execution(body: dict[str, Any], services: Services,
               actor: Principal) -> tuple[migration.MigrationPlan, list[str]]:
    _flag(body, "skipCustomListeners")
    _flag(body, "skipIoMappings")
    plan = _plan(body.get("migrationPlan"), services)
    return plan, queries.instance_targets(body, services, actor)


@router.post("/execute", status_code=204, dependencies=[_MIGRATE],
             summary="Migrate the instances of processInstanceIds and processInstanceQuery by the plan, all or none "
                     "(skipCustomListeners and skipIoMappings change nothing here)")
def execute_plan(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> Response:
    plan, instance_ids = _execution(body or {}, services, actor)
    migration.execute(services, plan, instance_ids, actor=actor)
    return Response(status_code=204)


@router.post("/executeAsync", dependencies=[_MIGRATE],
             summary="Migrate the instances by the plan later, each in its own unit of work (a batch)")
def execute_plan_async(services: ServicesDep, actor: PrincipalDep, body: JsonBody = None) -> dict[str, Any]:
    plan, instance_ids = _execution(body or {}, services, actor)
    migration.refuse_invalid_plan(services, plan)
    batch = batches.create(services, batches.MIGRATION, instance_ids, {"plan": batches.stored_plan(plan)}, actor=actor,
                           empty_message="Process instance ids cannot empty: process instance ids is empty")
    return render.batch(batch, services.settings.zone)
