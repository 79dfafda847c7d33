"""Camunda's event subscriptions: the messages and signals that running cases wait for at their catch
events (and boundary events, event-based gateways, event subprocesses), and the message, signal and
conditional start events of the newest versions (no case), read from the subscription rows the
service routes events by (app.cases.events).

Where the service keeps no row, nothing is listed: a receive task without a message waits for
`POST /execution/{id}/signal` (Camunda keeps no subscription for it either); a case's conditional
catch events and its compensation handlers are kept in the case's saved state, so that
`eventType=compensate` matches nothing and `conditional` only the start events."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Select, or_, select

from app.access import permissions
from app.access.accounts import Principal
from app.errors import InvalidRequest, NotFound
from app.persistence.models import EventSubscription
from app.persistence.queries import sorted_by

if TYPE_CHECKING:
    from app.context import Services

EVENT_TYPES = ("message", "signal", "conditional")
SORT = {"created": EventSubscription.created, "tenantId": EventSubscription.tenant_id}


@dataclass
class SubscriptionFilter:
    viewer: Principal
    subscription_id: str | None = None
    event_name: str | None = None
    event_type: str | None = None
    execution_id: str | None = None
    process_instance_id: str | None = None
    activity_id: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    with_tenant_or_none: bool = False
    sort_desc: dict[str, bool] = field(default_factory=dict)


def subscription_query(c: SubscriptionFilter) -> Select:
    s = EventSubscription
    query = select(s).where(s.kind.in_(EVENT_TYPES))
    # A start event's subscription belongs to no case: every signed-in caller may read definitions.
    readable = permissions.readable(c.viewer, s.process_instance_id)
    if readable is not None:
        query = query.where(or_(s.process_instance_id.is_(None), readable))
    for value, column in ((c.subscription_id, s.id), (c.event_name, s.event_name), (c.event_type, s.kind),
                          (c.execution_id, s.task_id), (c.process_instance_id, s.process_instance_id),
                          (c.activity_id, s.activity_id)):
        if value is not None:
            query = query.where(column == value)
    if c.without_tenant and c.tenant_ids:
        raise InvalidRequest("Parameter 'tenantIdIn' cannot be used together with parameter 'withoutTenantId'.")
    if c.without_tenant:
        query = query.where(s.tenant_id.is_(None))
    elif c.tenant_ids:
        query = query.where(or_(s.tenant_id.in_(c.tenant_ids), s.tenant_id.is_(None)) if c.with_tenant_or_none
                            else s.tenant_id.in_(c.tenant_ids))
    order = [sorted_by(SORT[key], desc) for key, desc in c.sort_desc.items()]
    return query.order_by(*order, s.created, s.id)


def message_subscription(services: Services, execution_id: str, message_name: str,
                         viewer: Principal) -> EventSubscription:
    """The message a waiting token waits for by that name (Camunda's execution message subscription),
    of a case the viewer may read."""
    query = subscription_query(SubscriptionFilter(viewer=viewer, execution_id=execution_id, event_type="message",
                                                  event_name=message_name))
    with services.db.read() as session:
        row = session.scalars(query.limit(1)).first()
    if row is None:
        raise NotFound(f"Message event subscription for execution {execution_id} named {message_name} does not exist")
    return row
