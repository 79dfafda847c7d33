"""`/event-subscription`: what running cases wait for at their message, signal and conditional catch
events, and the start events that wait for one (see app.cases.event_subscriptions)."""
from __future__ import annotations

from typing import Any

from fastapi import Request

from app.access.accounts import Principal
from app.cases import event_subscriptions
from app.rest.camunda import render
from app.rest.dependencies import PrincipalDep, ServicesDep
from app.rest.listing import counted, listed
from app.rest.params import flag, query_dict, sort_order, text, text_list
from app.rest.routing import ServiceRouter

router = ServiceRouter(prefix="/engine-rest/event-subscription", tags=["event-subscription"])
_LISTS = frozenset({"tenantIdIn"})


def _filter(p: dict[str, Any], viewer: Principal) -> event_subscriptions.SubscriptionFilter:
    return event_subscriptions.SubscriptionFilter(
        viewer=viewer, subscription_id=text(p, "eventSubscriptionId"), event_name=text(p, "eventName"),
        event_type=text(p, "eventType"), execution_id=text(p, "executionId"),
        process_instance_id=text(p, "processInstanceId"), activity_id=text(p, "activityId"),
        tenant_ids=text_list(p.get("tenantIdIn"), "tenantIdIn"),
        without_tenant=flag(p.get("withoutTenantId"), "withoutTenantId"),
        with_tenant_or_none=flag(p.get("includeEventSubscriptionsWithoutTenantId"),
                                 "includeEventSubscriptionsWithoutTenantId"),
        sort_desc={key: direction == "desc" for key, direction in sort_order(p, event_subscriptions.SORT)})


@router.get("", summary="Messages, signals and conditions running cases wait for, and the start events that "
                        "wait for one")
def list_subscriptions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> list[dict[str, Any]]:
    params = query_dict(request, _LISTS)
    zone = services.settings.zone
    return listed(services, event_subscriptions.subscription_query(_filter(params, viewer)), params,
                  lambda row: render.event_subscription(row, zone))


@router.get("/count")
def count_subscriptions(request: Request, services: ServicesDep, viewer: PrincipalDep) -> dict[str, int]:
    return counted(services, event_subscriptions.subscription_query(_filter(query_dict(request, _LISTS), viewer)))
