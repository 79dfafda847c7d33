"""Suspension (挂起) and activation of process instances and definitions, as Camunda 7 does them.

A suspended instance keeps its tokens where they are: its user tasks are not claimed, handed on or
completed, its external tasks are not fetched or reported on, its timers wait (and fire once it is
activated, if they fell due meanwhile), messages and signals pass it by. Its variables may still be
set (its conditional events see them once it is activated) and it may still be deleted. A suspended
definition starts no instance (by request, message, signal or timer); its running instances go on
unless the command includes them.

The suspension state is kept on the instance and copied onto its task, external task and timer rows
in the same unit of work, so that the lists, fetchAndLock and the timer claim filter on their own rows.
Every change is recorded in the instance's chained history with who made it; a definition's also in
the administrative chain.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.audit import ledger
from app.cases.instances import get_active_instance, load_run, record, save_run
from app.cases.projections import ACTIVATED, ACTIVE, SUSPENDED
from app.context import Services
from app.definitions.deployments import get_definition, latest_by_key
from app.errors import InvalidRequest, NotFound, SuspendedEntityInteraction
from app.persistence.models import ExternalTask, ProcessDefinition, ProcessInstance, Timer, UserTask


def refuse_if_suspended(instance: ProcessInstance) -> None:
    """Commands that would move the instance's tokens refuse while it is suspended."""
    if instance.suspended:
        raise SuspendedEntityInteraction(f"ProcessInstance with id '{instance.id}' is suspended; activate it "
                                         "first (PUT /process-instance/{id}/suspended)")


def suspend_instance(services: Services, instance_id: str, *, suspended: bool, actor: Principal) -> None:
    with services.db.write() as session:
        _set_state(services, session, [get_active_instance(session, instance_id)], suspended, services.clock.now(),
                   actor.user_id)


def suspend_instances(services: Services, *, suspended: bool, actor: Principal, instance_ids: Sequence[str] = (),
                      definition_id: str | None = None, definition_key: str | None = None,
                      tenant_id: str | None = None, without_tenant: bool = False) -> int:
    """The running instances named by id, or all of a definition (of every version of a key, of a
    tenant or of none), in one unit of work; returns how many changed."""
    with services.db.write() as session:
        if instance_ids:
            instances = [get_active_instance(session, instance_id) for instance_id in dict.fromkeys(instance_ids)]
        else:
            query = select(ProcessInstance).where(ProcessInstance.status == ACTIVE)
            if definition_id is not None:
                get_definition(session, definition_id)
                query = query.where(ProcessInstance.definition_id == definition_id)
            else:
                definitions = select(ProcessDefinition.id).where(ProcessDefinition.key == definition_key)
                if tenant_id is not None:
                    definitions = definitions.where(ProcessDefinition.tenant_id == tenant_id)
                elif without_tenant:
                    definitions = definitions.where(ProcessDefinition.tenant_id.is_(None))
                if session.scalars(definitions.limit(1)).first() is None:
                    raise NotFound(f"No matching process definition with key: {definition_key}")
                query = query.where(ProcessInstance.definition_id.in_(definitions))
            instances = list(session.scalars(query.order_by(ProcessInstance.start_time, ProcessInstance.id)))
        return _set_state(services, session, instances, suspended, services.clock.now(), actor.user_id)


def suspend_definitions(services: Services, *, suspended: bool, include_instances: bool, actor: Principal,
                        execution_date: datetime | None = None, definition_id: str | None = None,
                        key: str | None = None, latest_only: bool = True, tenant_id: str | None = None,
                        without_tenant: bool = False) -> None:
    """A definition by id, the latest version of a key (of a tenant), or every version of a key;
    with `include_instances`, their running instances too."""
    now = services.clock.now()
    if execution_date is not None and execution_date > now:
        raise InvalidRequest("A future executionDate (a scheduled suspension or activation) is not supported: "
                             "leave executionDate out to change the suspension state now")
    with services.db.write() as session:
        if definition_id is not None:
            definitions = [get_definition(session, definition_id)]
        elif latest_only:
            definitions = [latest_by_key(session, key, tenant_id)]
        else:
            query = select(ProcessDefinition).where(ProcessDefinition.key == key)
            if tenant_id is not None:
                query = query.where(ProcessDefinition.tenant_id == tenant_id)
            elif without_tenant:
                query = query.where(ProcessDefinition.tenant_id.is_(None))
            definitions = list(session.scalars(query.order_by(ProcessDefinition.version)))
            if not definitions:
                raise NotFound(f"No matching process definition with key: {key}")
        for definition in definitions:
            instances: list[ProcessInstance] = []
            if include_instances:
                instances = list(session.scalars(
                    select(ProcessInstance).where(ProcessInstance.definition_id == definition.id,
                                                  ProcessInstance.status == ACTIVE)
                    .order_by(ProcessInstance.start_time, ProcessInstance.id)))
            changed = definition.suspended != suspended
            definition.suspended = suspended
            count = _set_state(services, session, instances, suspended, now, actor.user_id,
                               definition_id=definition.id)
            if changed or count:
                ledger.record_admin(session, "definition.suspended" if suspended else "definition.activated",
                                    f"process-definition:{definition.id}", now, actor.user_id,
                                    key=definition.key, version=definition.version,
                                    include_process_instances=include_instances, instances=count)


def _set_state(services: Services, session: Session, instances: Sequence[ProcessInstance], suspended: bool,
               now: datetime, user_id: str | None, **cause: str) -> int:
    """Change the instances not already in that state, with their rows; returns how many changed."""
    changing = [instance for instance in instances if instance.suspended != suspended]
    ids = [instance.id for instance in changing]
    if not ids:
        return 0
    for row in (UserTask, ExternalTask):
        session.execute(update(row).where(row.process_instance_id.in_(ids)).values(suspended=suspended))
    # A timer suspended on its own stays so when its instance is activated.
    session.execute(update(Timer).where(Timer.process_instance_id.in_(ids))
                    .values(suspended=True if suspended else Timer.held))
    for instance in changing:
        instance.suspended = suspended
        # Named as Camunda's user operation log names the property it changes.
        record(session, instance, SUSPENDED if suspended else ACTIVATED, now, user_id=user_id,
               suspensionState="suspended" if suspended else "active", **cause)
        if not suspended and services.models.get(session, instance.definition_id).has_conditional_events:
            # Variables set while it was suspended moved no token: its conditional events see them now.
            run = load_run(services, session, instance)
            save_run(services, session, instance, run, run.variables_changed(), now, user_id=user_id)
    return len(changing)
