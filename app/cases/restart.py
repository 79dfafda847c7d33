"""Camunda's restart of ended process instances (POST /process-definition/{id}/restart): each ended
case (completed or terminated) of the definition starts again as a new case of the same definition,
with the ended one's variables (its last ones, or those it started with) and business key, at the
activities the instructions name (start instructions: no start event runs). The new case's start
records who restarted it and from which case; replay applies its instructions again. All the cases
named restart in one unit of work, or none, as Camunda's synchronous restart runs in one command.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases.instances import read_run, refuse_reserved_keys, start_in_session
from app.context import Services
from app.engine import Instruction, revived
from app.errors import InvalidRequest
from app.persistence.models import HistoryEvent, ProcessDefinition, ProcessInstance

NO_INSTRUCTIONS = "Restart instructions cannot be empty: instructions is empty"
NO_INSTANCES = "processInstanceIds is empty"


def restartable_definition(session: Session, definition_id: str) -> ProcessDefinition:
    definition = session.get(ProcessDefinition, definition_id)
    if definition is None:
        raise InvalidRequest("Process definition cannot be found: processDefinition is null")
    return definition


def check_request(instance_ids: Sequence[str], instructions: Sequence[Instruction]) -> None:
    """Camunda's refusals of a restart before any case is looked at."""
    if not instructions:
        raise InvalidRequest(NO_INSTRUCTIONS)
    if not instance_ids:
        raise InvalidRequest(NO_INSTANCES)
    for instruction in instructions:
        refuse_reserved_keys(instruction.variables)


def restart(services: Services, definition_id: str, instance_ids: Sequence[str], instructions: Sequence[Instruction],
            *, initial_variables: bool, without_business_key: bool, actor: Principal) -> list[str]:
    """Restart the ended cases, all in one unit of work; answers the new cases' ids."""
    check_request(instance_ids, instructions)
    most = services.settings.page_size_max
    if len(set(instance_ids)) > most:
        raise InvalidRequest(f"At most {most} process instances are restarted at once; use "
                             "/process-definition/{id}/restart-async for more")
    with services.db.write() as session:
        definition = restartable_definition(session, definition_id)
        started = []
        for instance_id in dict.fromkeys(instance_ids):
            ended = _ended_instance(session, instance_id, definition_id)
            variables = _initial_variables(session, ended) if initial_variables else (
                read_run(services, session, ended).variables())
            # The new case stays in the ended one's region unless its process belongs to one.
            instance, _ = start_in_session(
                services, session, definition, variables, None if without_business_key else ended.business_key,
                user_id=actor.user_id, starter_region=ended.tenant_id, instructions=instructions,
                restarted_from=ended.id)
            started.append(instance.id)
        return started


def _ended_instance(session: Session, instance_id: str, definition_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise InvalidRequest("Historic process instance cannot be found: historicProcessInstanceId is null")
    if instance.end_time is None:
        raise InvalidRequest(f"ENGINE-13040 Historic process instance '{instance_id}' cannot be restarted. It is not "
                             "completed or terminated.")
    if instance.definition_id != definition_id:
        raise InvalidRequest(f"ENGINE-13039 Historic process instance '{instance_id}' cannot be restarted. Its process "
                             f"definition '{instance.definition_id}' does not match given process definition "
                             f"'{definition_id}'")
    return instance


def _initial_variables(session: Session, instance: ProcessInstance) -> Mapping[str, Any]:
    """The variables the case started with, as its start event records them."""
    payload = session.scalar(select(HistoryEvent.payload).where(
        HistoryEvent.process_instance_id == instance.id, HistoryEvent.kind == "process.started"))
    return revived(payload or {}).get("variables") or {}
