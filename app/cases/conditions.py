"""Conditional start events, as Camunda's POST /condition evaluates them: every conditional start event
of the newest version of each process (or of one definition) whose condition holds for the variables
given starts an instance there, in one unit of work; none holding starts nothing."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.instances import refuse_reserved_keys, start_in_session
from app.context import Services
from app.engine.expressions import ExpressionError, PropertyNotFound, compile_template, truthy_condition
from app.errors import InvalidRequest, ProcessExecutionFailed
from app.persistence.models import EventSubscription, ProcessDefinition, ProcessInstance


def evaluate_start_conditions(services: Services, *, variables: Mapping[str, Any], business_key: str | None,
                              definition_id: str | None, tenant_id: str | None, without_tenant: bool,
                              actor: Principal) -> list[ProcessInstance]:
    refuse_reserved_keys(variables)
    if tenant_id is not None and without_tenant:
        raise InvalidRequest("Parameter 'tenantId' cannot be used together with parameter 'withoutTenantId'.")
    with services.db.write() as session:
        query = (select(EventSubscription, ProcessDefinition)
                 .join(ProcessDefinition, ProcessDefinition.id == EventSubscription.process_definition_id)
                 .where(EventSubscription.kind == "conditional", EventSubscription.process_instance_id.is_(None)))
        if definition_id is not None:
            query = query.where(ProcessDefinition.id == definition_id)
        if tenant_id is not None:
            query = query.where(ProcessDefinition.tenant_id == tenant_id)
        elif without_tenant:
            query = query.where(ProcessDefinition.tenant_id.is_(None))
        found = session.execute(query.order_by(EventSubscription.created, EventSubscription.id)).all()
        if not found:
            raise ProcessExecutionFailed("No subscriptions were found during evaluation of the conditional start "
                                         "events.")
        functions = services.run_context(session).functions
        started = []
        for subscription, definition in found:
            if definition.suspended:
                continue  # a suspended process starts nothing
            model = services.models.get(session, definition.id)
            start = next(start for start in model.start_events if start.id == subscription.activity_id)
            text = start.condition or ""
            if start.condition_variable is not None and start.condition_variable not in variables:
                continue  # as Camunda: a start narrowed to a variable is evaluated only when it is given
            try:
                holds = truthy_condition(compile_template(text).evaluate(variables, functions), text)
            except PropertyNotFound:
                continue  # as Camunda tries a start condition: one reading a variable not given holds not
            except ExpressionError as error:
                raise ProcessExecutionFailed(f"conditional start event '{start.id}': {error}",
                                             details={"activityId": start.id}) from None
            if not holds:
                continue
            permissions.require_start(actor, model, definition.id)
            instance, _ = start_in_session(services, session, definition, variables, business_key,
                                           user_id=actor.user_id, start_event=start.id,
                                           trigger={"condition": text}, starter_region=actor.starting_region)
            started.append(instance)
        return started
