"""Messages and signals from the outside world, routed by the service's own subscription records.

A message goes to exactly one waiting token (or starts one instance) unless the caller asks for all
of them; the candidates are narrowed by business key, instance id and correlation keys (equality
with the instance's variables) before anything is delivered, so that a message for one applicant
never reaches another's instance. A signal goes to every token and start event waiting for it.
Each call is one unit of work: every instance it touches changes, or none does.

A signal thrown by a process (a signal throw or end event) is broadcast the same way, in the unit of
work of the step that threw it, as Camunda delivers it synchronously; the instances it wakes or starts
record the actor of the command that set it off. A woken instance may throw in turn: the chain is
bounded, and a chain that does not end refuses the whole command.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from app.access.accounts import Principal
from app.cases.binary_variables import with_bytes
from app.cases.executions import TRIGGER
from app.cases.hooks import Step, StepHook
from app.cases.instances import (
    get_active_instance,
    jsonable,
    load_run,
    record,
    refuse_reserved_keys,
    save_run,
    start_in_session,
)
from app.cases.projections import ACTIVE
from app.cases.suspension import refuse_if_suspended
from app.context import Services
from app.engine import ProcessModel, ProcessRun, ThrownSignal
from app.errors import InvalidRequest, MismatchingCorrelation, NotFound, ProcessExecutionFailed
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
            delivery.variables = with_bytes(session, confidentiality.visible(
                session, delivery.model, delivery.instance.id, actor, delivery.variables))
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


def trigger_execution(services: Services, *, execution_id: str, variables: Mapping[str, Any] | None = None,
                      actor: Principal) -> None:
    """POST /execution/{id}/signal: the receive task (without a message) waiting in that execution goes
    on, with the variables. An instance's own id names its root execution, as in Camunda, which is
    where a receive task waits when it is the instance's only one."""
    variables = dict(variables or {})
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        rows = _subscriptions_of(session, execution_id)
        token = [row for row in rows if row.task_id == execution_id]
        triggers = [row for row in token or rows if row.kind == TRIGGER]
        if token and not triggers:
            raise InvalidRequest(f"Cannot signal execution {execution_id}: it waits for the {token[0].kind} "
                                 f"'{token[0].event_name}', not at a receive task; send the {token[0].kind} instead")
        if not triggers:
            instance = session.get(ProcessInstance, execution_id)
            if instance is None or instance.status != ACTIVE:
                raise NotFound(f"Execution with id {execution_id} does not exist")
            raise InvalidRequest(f"Cannot signal execution {execution_id}: no receive task of the instance waits")
        if len(triggers) > 1:
            raise InvalidRequest(f"Cannot signal execution {execution_id}: {len(triggers)} receive tasks of the "
                                 "instance wait; signal the execution of one (GET /execution?activityId=...)")
        [subscription] = triggers
        _deliver_to(services, session, subscription, variables, actor)


def trigger_message(services: Services, *, execution_id: str, message_name: str,
                    variables: Mapping[str, Any] | None = None, actor: Principal) -> None:
    """POST /execution/{id}/messageSubscriptions/{messageName}/trigger: exactly the token of that
    execution (or of the instance, named by its own id) waiting for the message receives it, with the
    variables, whatever the message's correlation would choose."""
    variables = dict(variables or {})
    refuse_reserved_keys(variables)
    refused = f"Cannot trigger message {message_name} for execution {execution_id}: "
    with services.db.write() as session:
        rows = [row for row in _subscriptions_of(session, execution_id)
                if row.kind == "message" and row.event_name == message_name]
        token = [row for row in rows if row.task_id == execution_id] or rows
        if not token:
            raise InvalidRequest(f"{refused}Execution with id '{execution_id}' does not have a subscription to a "
                                 f"message event with name '{message_name}'")
        if len(token) > 1:
            raise InvalidRequest(f"{refused}More than one matching message subscription found for execution "
                                 f"{execution_id}")
        _deliver_to(services, session, token[0], variables, actor)


def _subscriptions_of(session: Session, execution_id: str) -> list[EventSubscription]:
    """What a waiting token of that id, or the instance of that id, waits for."""
    return list(session.scalars(select(EventSubscription).where(
        EventSubscription.process_instance_id.is_not(None),
        or_(EventSubscription.task_id == execution_id, EventSubscription.process_instance_id == execution_id))
        .order_by(EventSubscription.created, EventSubscription.id)))


def _deliver_to(services: Services, session: Session, subscription: EventSubscription, variables: dict[str, Any],
                actor: Principal) -> None:
    """Deliver to the one token that waits on the subscription."""
    refuse_if_suspended(session.get_one(ProcessInstance, subscription.process_instance_id))
    [target] = [found for found in _waiting_tokens(services, session, subscription.kind, subscription.event_name,
                                                   instance_id=subscription.process_instance_id)
                if found.subscription.id == subscription.id]
    _deliver(services, session, target, subscription.kind, subscription.event_name, variables, actor.user_id)


# How far signals thrown by processes may set each other off within one command: a process that wakes
# or starts another that throws again nests one level; past these bounds the processes throw to each
# other in a loop (Camunda would recurse until its stack runs out).
MAX_SIGNAL_NESTING = 10
MAX_SIGNAL_DELIVERIES = 1000


class SignalBroadcast(StepHook):
    """Delivers the signals a step threw (registered in app.main: the delivery saves the instances it
    wakes through app.cases.instances, which calls the hooks)."""

    def on_signals_thrown(self, step: Step, signals: Sequence[ThrownSignal]) -> None:
        _broadcast(step.services, step.session, step.instance, step.run, signals, step.user_id)


def _broadcast(services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
               signals: Iterable[ThrownSignal], user_id: str | None) -> None:
    info = session.info
    nesting = info.get("signal_nesting", 0)
    _runs_in_unit(session)[instance.id] = (instance, run)
    now = services.clock.now()
    info["signal_nesting"] = nesting + 1
    try:
        for signal in signals:
            if nesting >= MAX_SIGNAL_NESTING:
                raise ProcessExecutionFailed(
                    f"the signal '{signal.name}' thrown at '{signal.activity_id}' is the {nesting + 1}th signal "
                    f"in a chain of instances that wake each other (at most {MAX_SIGNAL_NESTING}): the processes "
                    "throw signals to each other in a loop; nothing was changed",
                    details={"activityId": signal.activity_id})
            record(session, instance, "signal.thrown", now, user_id=user_id, activity_id=signal.activity_id,
                   name=signal.name)
            # Camunda: a signal thrown in a tenant's instance reaches that tenant's subscriptions and
            # those of no tenant.
            waiting = [target for target in _waiting_tokens(services, session, "signal", signal.name,
                                                            tenant_id=instance.tenant_id, or_without_tenant=True)
                       if target.instance.id != instance.id or target.subscription.task_id in signal.waiting]
            starts = _start_events(session, "signal", signal.name, instance.tenant_id, or_without_tenant=True)
            info["signal_deliveries"] = info.get("signal_deliveries", 0) + len(waiting) + len(starts)
            if info["signal_deliveries"] > MAX_SIGNAL_DELIVERIES:
                raise ProcessExecutionFailed(
                    f"the signal '{signal.name}' thrown at '{signal.activity_id}' takes the signals thrown in this "
                    f"command past {MAX_SIGNAL_DELIVERIES} deliveries: the processes throw signals to each other "
                    "in a loop; nothing was changed", details={"activityId": signal.activity_id})
            _deliver_each(services, session, waiting, "signal", signal.name, dict(signal.variables), user_id)
            business_key = signal.business_key
            for subscription in starts:
                _start(services, session, subscription, "signal", signal.name, dict(signal.variables),
                       business_key, user_id)
    finally:
        info["signal_nesting"] = nesting


def _runs_in_unit(session: Session) -> dict[str, tuple[ProcessInstance, ProcessRun]]:
    """The instances this unit of work has loaded, by id: a signal that wakes an instance twice (or the
    one that threw it) changes the one run, never a second copy of it."""
    runs: dict[str, tuple[ProcessInstance, ProcessRun]] = session.info.setdefault("runs_in_unit", {})
    return runs


def _tenant_filter(query: Select, tenant_id: str | None, or_without_tenant: bool = False) -> Select:
    if tenant_id is None:
        return query
    if or_without_tenant:
        return query.where(or_(EventSubscription.tenant_id == tenant_id, EventSubscription.tenant_id.is_(None)))
    return query.where(EventSubscription.tenant_id == tenant_id)


def _waiting_tokens(services: Services, session: Session, kind: str, name: str, *, business_key: str | None = None,
                    instance_id: str | None = None, correlation_keys: Mapping[str, Any] | None = None,
                    tenant_id: str | None = None, or_without_tenant: bool = False) -> list[_Target]:
    # A suspended instance's tokens are passed by, as if they did not wait (Camunda: its event
    # subscriptions are suspended with it).
    query = (select(EventSubscription)
             .join(ProcessInstance, ProcessInstance.id == EventSubscription.process_instance_id)
             .where(EventSubscription.kind == kind, EventSubscription.event_name == name,
                    ProcessInstance.suspended.is_(False)))
    if business_key is not None:
        query = query.where(EventSubscription.business_key == business_key)
    if instance_id is not None:
        query = query.where(EventSubscription.process_instance_id == instance_id)
    subscriptions = session.scalars(_tenant_filter(query, tenant_id, or_without_tenant)
                                    .order_by(EventSubscription.created, EventSubscription.id)).all()
    targets: list[_Target] = []
    runs: dict[str, tuple[ProcessInstance, ProcessRun] | None] = {}
    for subscription in subscriptions:
        key = subscription.process_instance_id
        if key not in runs:
            loaded = _runs_in_unit(session).get(key)
            if loaded is None:
                instance = get_active_instance(session, key)
                run = load_run(services, session, instance)
                _runs_in_unit(session)[key] = (instance, run)
            else:
                instance, run = loaded
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


def _start_events(session: Session, kind: str, name: str, tenant_id: str | None,
                  or_without_tenant: bool = False) -> list[EventSubscription]:
    query = (select(EventSubscription)
             .join(ProcessDefinition, ProcessDefinition.id == EventSubscription.process_definition_id)
             .where(EventSubscription.kind == kind, EventSubscription.event_name == name,
                    EventSubscription.process_instance_id.is_(None), ProcessDefinition.suspended.is_(False)))
    return list(session.scalars(_tenant_filter(query, tenant_id, or_without_tenant)
                                .order_by(EventSubscription.process_definition_id)))


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
