"""Moving running cases to another version of their procedure: Camunda 7's process instance
migration (administrators only, as the routes guard it).

A plan (source and target definition, instructions, variables) is generated for equal activities,
validated, and executed for named instances. Executing it migrates every instance or none: the plan
and each instance are validated first, and all instances move in one unit of work (as Camunda's
synchronous execution is one transaction); each instance's state, task rows, external tasks, timers,
event subscriptions and history change together. A migrated case keeps its id, business key,
variables and history; its waiting activities keep their activity instance ids (a user task its id,
name, assignee and candidates, as in Camunda, which changes only its definition and key); the event
`instance.migrated` records the actor, both definitions, the instructions and the plan's variables,
and replay follows it (app.audit.replay).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases.instances import jsonable, load_run, record, refuse_reserved_keys, save_run
from app.cases.projections import ACTIVE, MIGRATED
from app.cases.suspension import refuse_if_suspended
from app.context import Services
from app.engine import ProcessModel
from app.engine.migration import MigrationInstruction, generate, instance_failures, validate
from app.errors import InvalidRequest, MigratingInstanceInvalid, MigrationPlanInvalid
from app.persistence.models import (
    ActivityInstance,
    EventSubscription,
    ExternalTask,
    Incident,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    UserTask,
)

MAX_INSTRUCTIONS = 1000
MAX_INSTANCES = 500


@dataclass(frozen=True)
class MigrationPlan:
    source_definition_id: str
    target_definition_id: str
    instructions: tuple[MigrationInstruction, ...]
    variables: Mapping[str, Any] = field(default_factory=dict)


def instruction_json(instruction: MigrationInstruction | None) -> dict[str, Any] | None:
    """An instruction in Camunda's shape (its REST lists one source and one target)."""
    if instruction is None:
        return None
    return {"sourceActivityIds": [instruction.source], "targetActivityIds": [instruction.target],
            "updateEventTrigger": instruction.update_event_trigger}


def _definition(session: Session, definition_id: str | None, role: str) -> ProcessDefinition:
    if not definition_id:
        raise InvalidRequest(f"{role} process definition id is null")
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise InvalidRequest(f"{role} process definition with id '{definition_id}' does not exist")
    return definition


def _models(services: Services, session: Session, plan: MigrationPlan) -> tuple[ProcessModel, ProcessModel]:
    source = _definition(session, plan.source_definition_id, "Source")
    target = _definition(session, plan.target_definition_id, "Target")
    if source.tenant_id != target.tenant_id:
        raise InvalidRequest("Cannot migrate process instances between processes of different tenants "
                             f"('{source.tenant_id}' != '{target.tenant_id}')")
    return services.models.get(session, source.id), services.models.get(session, target.id)


def _plan_report(source: ProcessModel, target: ProcessModel, plan: MigrationPlan) -> dict[str, Any]:
    if len(plan.instructions) > MAX_INSTRUCTIONS:
        raise InvalidRequest(f"A migration plan holds at most {MAX_INSTRUCTIONS} instructions")
    refuse_reserved_keys(plan.variables)
    return {"instructionReports": [{"instruction": instruction_json(instruction), "failures": failures}
                                   for instruction, failures in validate(source, target, plan.instructions)],
            "variableReports": {}}


def _refuse_invalid(plan: MigrationPlan, report: dict[str, Any]) -> None:
    if not report["instructionReports"]:
        return
    lines = [f"Migration plan for process definition '{plan.source_definition_id}' to "
             f"'{plan.target_definition_id}' is not valid:"]
    for instruction_report in report["instructionReports"]:
        instruction = instruction_report["instruction"]
        described = MigrationInstruction(instruction["sourceActivityIds"][0] or "",
                                         instruction["targetActivityIds"][0] or "",
                                         instruction["updateEventTrigger"]).describe()
        lines.append(f"\t Migration instruction {described} is not valid:")
        lines += [f"\t\t{failure}" for failure in instruction_report["failures"]]
    raise MigrationPlanInvalid("\n".join(lines) + "\n", details=report)


def generate_plan(services: Services, source_definition_id: str | None, target_definition_id: str | None, *,
                  update_event_triggers: bool, variables: Mapping[str, Any]) -> MigrationPlan:
    """Camunda's POST /migration/generate: the instructions for the activities of equal ids."""
    with services.db.read() as session:
        plan = MigrationPlan(source_definition_id or "", target_definition_id or "", (), variables)
        source, target = _models(services, session, plan)
        plan = MigrationPlan(plan.source_definition_id, plan.target_definition_id,
                             tuple(generate(source, target, update_event_triggers)), variables)
        _refuse_invalid(plan, _plan_report(source, target, plan))
        return plan


def validate_plan(services: Services, plan: MigrationPlan) -> dict[str, Any]:
    """Camunda's POST /migration/validate: the plan's report (empty lists: valid)."""
    with services.db.read() as session:
        source, target = _models(services, session, plan)
        return _plan_report(source, target, plan)


def refuse_invalid_plan(services: Services, plan: MigrationPlan) -> None:
    """A plan that fails validation is refused (400, with the report) before a batch takes it."""
    _refuse_invalid(plan, validate_plan(services, plan))


def execute(services: Services, plan: MigrationPlan, instance_ids: Sequence[str], *, actor: Principal) -> None:
    """Camunda's POST /migration/execute: every instance moves, or none (refused with the first
    instance that cannot, as Camunda refuses it)."""
    if not instance_ids:
        raise InvalidRequest("Process instance ids cannot empty: processInstanceIds is empty")
    if len(instance_ids) > MAX_INSTANCES:
        raise InvalidRequest(f"At most {MAX_INSTANCES} process instances are migrated at once")
    with services.db.write() as session:
        source, target = _models(services, session, plan)
        _refuse_invalid(plan, _plan_report(source, target, plan))
        target_definition = session.get_one(ProcessDefinition, plan.target_definition_id)
        for instance_id in dict.fromkeys(instance_ids):
            _migrate(services, session, instance_id, plan, target, target_definition, actor)


def _migrate(services: Services, session: Session, instance_id: str, plan: MigrationPlan, target: ProcessModel,
             target_definition: ProcessDefinition, actor: Principal) -> None:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.status != ACTIVE:
        raise InvalidRequest(f"Process instance '{instance_id}' cannot be migrated. The process instance does not "
                             "exist")
    if instance.definition_id != plan.source_definition_id:
        raise InvalidRequest(f"Process instance '{instance_id}' cannot be migrated. Its process definition "
                             f"'{instance.definition_id}' does not match the source process definition of the "
                             f"migration plan '{plan.source_definition_id}'")
    refuse_if_suspended(instance)
    run = load_run(services, session, instance)
    own, reports = instance_failures(run.model, run.workflow, plan.instructions)
    if own or reports:
        _refuse_instance(instance_id, own, reports)
    moved, result = run.migrate(target, plan.target_definition_id, plan.instructions, plan.variables)
    now = services.clock.now()
    changed = {change.activity_instance_id for change in result.changes}
    source_id = instance.definition_id
    record(session, instance, MIGRATED, now, user_id=actor.user_id, source_definition_id=source_id,
           target_definition_id=target_definition.id,
           instructions=[instruction_json(instruction) for instruction in plan.instructions],
           variables=jsonable(plan.variables))
    instance.definition_id, instance.definition_key = target_definition.id, target_definition.key
    _move_rows(session, instance, run.activity_instances(), target, target_definition, plan, changed)
    save_run(services, session, instance, moved, result, now, user_id=actor.user_id)


def _refuse_instance(instance_id: str, own: list[str], reports: Sequence[Any]) -> None:
    lines = [f"Cannot migrate process instance '{instance_id}':", *(f"\t{failure}" for failure in own)]
    for report in reports:
        lines.append(f"\tCannot migrate activity instance '{report.activity_instance_id}':")
        lines += [f"\t\t{failure}" for failure in report.failures]
    raise MigratingInstanceInvalid("\n".join(lines) + "\n", details={
        "processInstanceId": instance_id, "failures": own,
        "activityInstanceValidationReports": [
            {"migrationInstruction": instruction_json(report.instruction),
             "activityInstanceId": report.activity_instance_id, "sourceScopeId": report.source_scope_id,
             "failures": list(report.failures)} for report in reports],
        "transitionInstanceValidationReports": []})


def _move_rows(session: Session, instance: ProcessInstance, nodes: Sequence[Any], target: ProcessModel,
               definition: ProcessDefinition, plan: MigrationPlan, changed: set[str]) -> None:
    """The rows of the activity instances kept follow them to their target activities; timers and
    event subscriptions are written again from the migrated run (save_run)."""
    by_source = {instruction.source: instruction.target for instruction in plan.instructions}
    pending = list(nodes)
    while pending:
        node = pending.pop()
        pending.extend(node.children)
        target_id = by_source.get(node.activity_id)
        if target_id is None or node.id in changed:
            continue
        element = target.elements[target_id.removesuffix("#multiInstanceBody")]
        keys = {"process_definition_id": definition.id, "process_definition_key": definition.key}
        session.execute(update(ActivityInstance).where(ActivityInstance.id == node.id).values(
            activity_id=target_id, activity_name=element.name, **keys))
        session.execute(update(UserTask).where(UserTask.id == node.id).values(task_definition_key=target_id, **keys))
        session.execute(update(ExternalTask).where(ExternalTask.id == node.id).values(
            activity_id=target_id, process_definition_version_tag=definition.version_tag, **keys))
        # A failed external task's incidents, and those an operator raised on the token.
        of_token = or_((Incident.configuration == node.id) & Incident.execution_id.is_(None),
                       Incident.execution_id == node.id)
        session.execute(update(Incident).where(of_token).values(activity_id=target_id,
                                                                process_definition_id=definition.id))
    session.execute(delete(Timer).where(Timer.process_instance_id == instance.id))
    session.execute(delete(EventSubscription).where(EventSubscription.process_instance_id == instance.id))
