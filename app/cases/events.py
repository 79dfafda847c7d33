"""Messages and signals from the outside world, routed by the service's own subscription records.

A message goes to exactly one waiting token (or starts one instance) unless the caller asks for all
of them; the candidates are narrowed by business key, instance id and correlation keys (equality
with the instance's variables) before anything is delivered, so that a message for one applicant
never reaches another's instance. A signal goes to every token and start event waiting for it.
Each call is one unit of work: every instance it touches changes, or none does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases.instances import (
    get_active_instance,
    jsonable,
    load_run,
    record,
    refuse_reserved_keys,
    save_run,
    start_in_session,
)
from app.context import Services
from app.engine import ProcessModel, ProcessRun
from app.errors import InvalidRequest, MismatchingCorrelation
from app.extensions import confidentiality
from app.persistence.models import EventSubscription, ProcessDefinition, ProcessInstance


@dataclass
class Delivery:
    """Where an event went: a waiting token of an instance, or a new instance at a start event."""

    result_type: str  # "Execution" or "ProcessDefinition", as Camunda names them
    instance: ProcessInstance
    model: ProcessModel
    execution_id: str
    ended: bool
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Target:
    subscription: EventSubscription
    instance: ProcessInstance
    run: ProcessRun


def correlate_message(services: Services, *, name: str | None, business_key: str | None = None,
                      instance_id: str | None = None, correlation_keys: Mapping[str, Any] | None = None,
                      variables: Mapping[str, Any] | None = None, all_matches: bool = False,
                      tenant_id: str | None = None, actor: Principal) -> list[Delivery]:
    """Deliver a message; the deliveries carry the variables the sender may read (CPA-16)."""
    if not name:
        raise InvalidRequest("messageName is required")
    variables = dict(variables or {})
    refuse_reserved_keys(variables)
    user_id = actor.user_id
    with services.db.write() as session:
        waiting = _waiting_tokens(services, session, "message", name, business_key=business_key,
                                  instance_id=instance_id, correlation_keys=correlation_keys or {},
                                  tenant_id=tenant_id)
        # Start events take part only when the message is not addressed to an existing instance.
        starts = [] if instance_id or correlation_keys else _start_events(session, "message", name, tenant_id)
        if not all_matches:
            found = len(waiting) + len(starts)
            if found == 0:
                raise MismatchingCorrelation(f"Cannot correlate message '{name}': No process definition or "
                                             "execution matches the parameters")
            if found > 1:
                raise MismatchingCorrelation(f"Cannot correlate message '{name}': {found} executions match the "
                                             "correlation keys. Should be one or none")
        deliveries = _deliver_each(services, session, waiting, "message", name, variables, user_id)
        deliveries += [_start(services, session, subscription, "message", name, variables, business_key, user_id)
                       for subscription in starts]
        for delivery in deliveries:
            delivery.variables = confidentiality.visible(session, delivery.model, delivery.instance.id, actor,
                                                         delivery.variables)
        return deliveries


def throw_signal(services: Services, *, name: str | None, variables: Mapping[str, Any] | None = None,
                 execution_id: str | None = None, tenant_id: str | None = None,
                 actor: Principal) -> list[Delivery]:
    if not name:
        raise InvalidRequest("name is required")
    user_id = actor.user_id
    variables = dict(variables or {})
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        waiting = _waiting_tokens(services, session, "signal", name, tenant_id=tenant_id)
        if execution_id is not None:
            waiting = [target for target in waiting if target.subscription.task_id == execution_id]
            if not waiting:
                raise InvalidRequest(f"Cannot signal '{name}': execution {execution_id} does not wait for it")
        starts = [] if execution_id else _start_events(session, "signal", name, tenant_id)
        deliveries = _deliver_each(services, session, waiting, "signal", name, variables, user_id)
        deliveries += [_start(services, session, subscription, "signal", name, variables, None, user_id)
                       for subscription in starts]
        return deliveries


def _tenant_filter(query: Select, tenant_id: str | None) -> Select:
    return query if tenant_id is None else query.where(EventSubscription.tenant_id == tenant_id)


def _waiting_tokens(services: Services, session: Session, kind: str, name: str, *, business_key: str | None = None,
                    instance_id: str | None = None, correlation_keys: Mapping[str, Any] | None = None,
                    tenant_id: str | None = None) -> list[_Target]:
    query = select(EventSubscription).where(EventSubscription.kind == kind, EventSubscription.event_name == name,
                                            EventSubscription.process_instance_id.is_not(None))
    if business_key is not None:
        query = query.where(EventSubscription.business_key == business_key)
    if instance_id is not None:
        query = query.where(EventSubscription.process_instance_id == instance_id)
    subscriptions = session.scalars(_tenant_filter(query, tenant_id)
                                    .order_by(EventSubscription.created, EventSubscription.id)).all()
    targets: list[_Target] = []
    runs: dict[str, tuple[ProcessInstance, ProcessRun] | None] = {}
    for subscription in subscriptions:
        key = subscription.process_instance_id
        if key not in runs:
            instance = get_active_instance(session, key)
            run = load_run(services, session, instance)
            # A key on a confidential variable would confirm a guessed value by whether it matches.
            confidential = confidentiality.confidential_names(run.model) & set(correlation_keys or {})
            if confidential:
                raise InvalidRequest(f"Cannot correlate on the confidential variable '{min(confidential)}': "
                                     "correlate by business key or another key")
            current = run.variables() if correlation_keys else {}
            matches = all(current.get(variable) == value for variable, value in (correlation_keys or {}).items())
            runs[key] = (instance, run) if matches else None
        found = runs[key]
        if found is not None:
            targets.append(_Target(subscription, *found))
    return targets


def _start_events(session: Session, kind: str, name: str, tenant_id: str | None) -> list[EventSubscription]:
    query = (select(EventSubscription)
             .join(ProcessDefinition, ProcessDefinition.id == EventSubscription.process_definition_id)
             .where(EventSubscription.kind == kind, EventSubscription.event_name == name,
                    EventSubscription.process_instance_id.is_(None), ProcessDefinition.suspended.is_(False)))
    return list(session.scalars(_tenant_filter(query, tenant_id).order_by(EventSubscription.process_definition_id)))


def _deliver_each(services: Services, session: Session, targets: list[_Target], kind: str, name: str,
                  variables: dict[str, Any], user_id: str | None) -> list[Delivery]:
    deliveries = []
    for target in targets:
        # An earlier delivery to the same instance may have moved its other waiting token on (an
        # interrupting boundary event cancels the task another boundary event waited on).
        if any(wait.task_id == target.subscription.task_id for wait in target.run.event_waits()):
            deliveries.append(_deliver(services, session, target, kind, name, variables, user_id))
    return deliveries


def _deliver(services: Services, session: Session, target: _Target, kind: str, name: str,
             variables: dict[str, Any], user_id: str | None) -> Delivery:
    instance, run, subscription = target.instance, target.run, target.subscription
    task_id = subscription.task_id
    if task_id is None:  # only a process definition's start event waits in no task
        raise ValueError(f"event subscription {subscription.id} of a running instance names no task")
    now = services.clock.now()
    result = run.deliver_event(task_id, kind, name, variables)
    record(session, instance, f"{kind}.received", now, user_id=user_id, activity_id=subscription.activity_id,
           task_id=task_id, name=name, variables=jsonable(variables))
    save_run(services, session, instance, run, result, now, user_id=user_id)
    return Delivery("Execution", instance, run.model, task_id, run.completed, run.variables())


def _start(services: Services, session: Session, subscription: EventSubscription, kind: str, name: str,
           variables: dict[str, Any], business_key: str | None, user_id: str | None) -> Delivery:
    definition = session.get_one(ProcessDefinition, subscription.process_definition_id)
    instance, run = start_in_session(services, session, definition, variables, business_key, user_id=user_id,
                                     start_event=subscription.activity_id, trigger={kind: name})
    return Delivery("ProcessDefinition", instance, run.model, instance.id, run.completed, run.variables())
