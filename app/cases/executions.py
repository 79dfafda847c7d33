"""Executions as Camunda's REST API lists them: each running instance (its root execution, whose id is
the instance's) and each token waiting for something from outside (a message, a signal, or a receive
task without a message, which POST /execution/{id}/signal moves on; see app.cases.events)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, String, and_, cast, exists, literal, null, select, union_all
from sqlalchemy.orm import aliased

from app.access import permissions
from app.access.accounts import Principal
from app.cases import instances
from app.cases.projections import ACTIVE
from app.errors import InvalidRequest, NotFound
from app.persistence.models import EventSubscription, ProcessInstance
from app.persistence.queries import of_instances, sorted_by

if TYPE_CHECKING:
    from app.context import Services

# The subscription kind of a receive task without a message (app.engine: AwaitsTrigger).
TRIGGER = "trigger"


def execution_query(*, execution_id: str | None = None, instance_id: str | None = None,
                    business_key: str | None = None, definition_id: str | None = None,
                    definition_key: str | None = None, activity_id: str | None = None,
                    signal_name: str | None = None, message_name: str | None = None,
                    tenant_ids: list[str] | None = None, viewer: Principal | None = None,
                    suspended: bool | None = None, sorting: Sequence[tuple[str, bool]] = ()) -> Select:
    """Rows of (id, process_instance_id, tenant_id), ordered (by `sorting`'s keys of EXECUTION_SORTS
    first, each descending when true), for the executions that match; an execution is suspended
    with its case."""
    roots = select(ProcessInstance.id.label("id"), ProcessInstance.id.label("process_instance_id"),
                   ProcessInstance.tenant_id.label("tenant_id"), cast(null(), String).label("activity_id"),
                   cast(null(), String).label("kind"), cast(null(), String).label("event_name"),
                   literal(0).label("depth"), ProcessInstance.definition_key, ProcessInstance.definition_id,
                   ).where(ProcessInstance.status == ACTIVE)
    # An event-based gateway waits for several events in one token: the token is one execution.
    earlier = aliased(EventSubscription)
    tokens = (select(EventSubscription.task_id.label("id"), EventSubscription.process_instance_id,
                     ProcessInstance.tenant_id, EventSubscription.activity_id, EventSubscription.kind,
                     EventSubscription.event_name, literal(1).label("depth"), ProcessInstance.definition_key,
                     ProcessInstance.definition_id)
              .join(ProcessInstance, ProcessInstance.id == EventSubscription.process_instance_id)
              .where(ProcessInstance.status == ACTIVE,
                     ~exists().where(and_(earlier.task_id == EventSubscription.task_id,
                                          earlier.id < EventSubscription.id))))

    def narrowed(query: Select) -> Select:
        query = of_instances(query, business_key=business_key, definition_id=definition_id,
                             definition_key=definition_key, tenant_ids=tenant_ids)
        if suspended is not None:
            query = query.where(ProcessInstance.suspended.is_(suspended))
        return permissions.only_visible(query, ProcessInstance.id, viewer)

    every = union_all(narrowed(roots), narrowed(tokens)).subquery()
    query = select(every.c.id, every.c.process_instance_id, every.c.tenant_id)
    if execution_id is not None:
        query = query.where(every.c.id == execution_id)
    if instance_id is not None:
        query = query.where(every.c.process_instance_id == instance_id)
    if activity_id is not None:
        query = query.where(every.c.activity_id == activity_id)
    for kind, name in (("signal", signal_name), ("message", message_name)):
        if name is not None:
            query = query.where(every.c.kind == kind, every.c.event_name == name)
    order = [sorted_by(every.c[EXECUTION_SORTS[key]], descending) for key, descending in sorting]
    return query.order_by(*order, every.c.process_instance_id, every.c.depth, every.c.id)


# Camunda's execution sort keys → the columns of execution_query's rows.
EXECUTION_SORTS = {"instanceId": "process_instance_id", "definitionKey": "definition_key",
                   "definitionId": "definition_id", "tenantId": "tenant_id"}


def _instance_execution(services: Services, execution_id: str) -> str:
    """The service keeps a case's variables on its instance's execution (whose id is the instance's,
    as in Camunda); a token waiting in it has no variables of its own to read or set."""
    with services.db.read() as session:
        instance = session.get(ProcessInstance, execution_id)
        if instance is not None and instance.status == ACTIVE:
            return instance.id
        if session.scalar(select(EventSubscription.id).where(EventSubscription.task_id == execution_id).limit(1)):
            raise InvalidRequest(f"Execution {execution_id} is a token waiting in its instance; its variables are "
                                 "those of the instance's execution (its id is the process instance's)")
        raise NotFound(f"Execution with id {execution_id} does not exist")


def execution_variables(services: Services, execution_id: str, reader: Principal) -> dict[str, Any]:
    """Camunda's local variables of the instance's execution: the case's variables."""
    return instances.instance_variables(services, _instance_execution(services, execution_id), reader)


def modify_execution_variables(services: Services, execution_id: str, *, modifications: Mapping[str, Any],
                               deletions: Iterable[str], actor: Principal) -> None:
    instances.modify_variables(services, _instance_execution(services, execution_id), modifications=modifications,
                               deletions=deletions, actor=actor)
