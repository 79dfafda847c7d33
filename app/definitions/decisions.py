"""DMN decision definitions: versions by key, deployed with (or apart from) the processes that use
them, resolved when a business rule task runs, and evaluated over REST (CPA-14: a province changes
its grading by deploying a new version of the table, without touching the process)."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from app.audit import ledger
from app.engine import DecisionRequirements, DecisionTable
from app.errors import InvalidRequest, NotFound, ProcessExecutionFailed
from app.persistence.models import (
    DecisionDefinition,
    DecisionRequirementsDefinition,
    Deployment,
    ProcessDefinition,
)
from app.persistence.queries import (
    DefinitionNarrowing,
    definition_sorts,
    latest_versions_only,
    like,
    narrowed_definitions,
    resource_text,
    sorted_by,
)

if TYPE_CHECKING:
    from app.context import Services
    from app.engine.decisions import DecisionEvaluation
    from app.engine.elements import DecisionLookup


def _of_tenant(tenant_id: str | None, column: Any = DecisionDefinition.tenant_id) -> ColumnElement[bool]:
    """Rows of the tenant; without one, those of no tenant."""
    return column.is_(None) if tenant_id is None else column == tenant_id


def latest(session: Session, key: str, tenant_id: str | None = None) -> DecisionDefinition | None:
    return session.scalars(select(DecisionDefinition).where(DecisionDefinition.key == key, _of_tenant(tenant_id))
                           .order_by(DecisionDefinition.version.desc()).limit(1)).first()


def changed(session: Session, tables: list[DecisionTable], tenant_id: str | None) -> list[DecisionTable]:
    """The tables whose content differs from the latest version of their key."""
    result = []
    for table in tables:
        previous = latest(session, table.key, tenant_id)
        if previous is None or previous.checksum != table.checksum:
            result.append(table)
    return result


def add_versions(session: Session, deployment: Deployment, tables: list[DecisionTable],
                 tenant_id: str | None) -> list[DecisionDefinition]:
    definitions = []
    for table in tables:
        previous = latest(session, table.key, tenant_id)
        version = (previous.version if previous else 0) + 1
        definition = DecisionDefinition(
            id=f"{table.key}:{version}:{uuid.uuid4()}", key=table.key, version=version, name=table.name,
            version_tag=table.version_tag, deployment_id=deployment.id, resource_name=table.resource_name,
            checksum=table.checksum, history_time_to_live=table.history_time_to_live, tenant_id=tenant_id,
            category=table.category)
        session.add(definition)
        definitions.append(definition)
    return definitions


def _latest_requirements(session: Session, key: str | None, tenant_id: str | None
                         ) -> DecisionRequirementsDefinition | None:
    table = DecisionRequirementsDefinition
    return session.scalars(select(table).where(table.key == key, _of_tenant(tenant_id, table.tenant_id))
                           .order_by(table.version.desc()).limit(1)).first()


def add_requirements(session: Session, deployment: Deployment, graphs: list[DecisionRequirements],
                     versioned: list[DecisionDefinition], tenant_id: str | None
                     ) -> list[DecisionRequirementsDefinition]:
    """A new version of each DMN file of several decisions whose decisions this deployment versioned,
    linked to those decisions (a decision left at its version keeps the graph it was deployed with)."""
    added = []
    for graph in graphs:
        decisions = [definition for definition in versioned if definition.resource_name == graph.resource_name]
        if not decisions:
            continue
        previous = _latest_requirements(session, graph.key, tenant_id)
        version = (previous.version if previous else 0) + 1
        requirements = DecisionRequirementsDefinition(
            id=f"{graph.key}:{version}:{uuid.uuid4()}", key=graph.key, version=version, name=graph.name,
            category=graph.category, deployment_id=deployment.id, resource_name=graph.resource_name,
            tenant_id=tenant_id)
        session.add(requirements)
        added.append(requirements)
        for definition in decisions:
            definition.decision_requirements_definition_id = requirements.id
            definition.decision_requirements_definition_key = requirements.key
    return added


def resolve(services: Services, session: Session, lookup: DecisionLookup, definition_id: str | None
            ) -> tuple[str, DecisionTable]:
    """The decision a business rule task of the process definition `definition_id` evaluates now, as
    camunda:decisionRefBinding says: the latest version of its key, the one deployed with the process,
    the version it names, or the one version carrying its version tag. A decision that is not deployed
    (or a version tag that several versions carry, as Camunda refuses it) stops the step (nothing of it
    is saved)."""
    query = select(DecisionDefinition).where(DecisionDefinition.key == lookup.key)
    wanted = ""
    if lookup.binding == "deployment":
        caller = session.get(ProcessDefinition, definition_id) if definition_id is not None else None
        query = query.where(DecisionDefinition.deployment_id == (caller.deployment_id if caller else None))
        wanted = " in the process's deployment"
    elif lookup.binding == "version":
        query = query.where(DecisionDefinition.version == lookup.version)
        wanted = f" version {lookup.version}"
    elif lookup.binding == "versionTag":
        query = query.where(DecisionDefinition.version_tag == lookup.version_tag)
        wanted = f" with version tag '{lookup.version_tag}'"
    found = session.scalars(query.order_by(DecisionDefinition.version.desc()).limit(2)).all()
    if not found:
        raise ProcessExecutionFailed(f"the decision '{lookup.key}'{wanted} is not deployed: deploy its DMN file",
                                     details={"decision": lookup.key})
    if lookup.binding == "versionTag" and len(found) > 1:
        raise ProcessExecutionFailed(f"several versions of the decision '{lookup.key}' carry the version tag "
                                     f"'{lookup.version_tag}': give each version its own tag",
                                     details={"decision": lookup.key})
    return found[0].id, services.decision_tables.get(session, found[0].id)


# Camunda's decision definition sort keys.
DECISION_SORTS = {**definition_sorts(DecisionDefinition),
                  "decisionRequirementsDefinitionKey": DecisionDefinition.decision_requirements_definition_key}


def definition_query(*, ids: list[str] | None = None, key: str | None = None, deployment_id: str | None = None,
                     latest_version: bool = False, version: int | None = None, requirements_id: str | None = None,
                     requirements_key: str | None = None, without_requirements: bool = False,
                     narrowing: DefinitionNarrowing | None = None) -> Select:
    query = select(DecisionDefinition)
    if without_requirements:
        query = query.where(DecisionDefinition.decision_requirements_definition_id.is_(None))
    order: list[Any] = []
    if narrowing is not None:
        query = query.where(*narrowed_definitions(DecisionDefinition, narrowing))
        order = [sorted_by(DECISION_SORTS[sort_key], descending)
                 for sort_key, descending in narrowing.sorting]
    if ids:
        query = query.where(DecisionDefinition.id.in_(ids))
    for value, column in [(key, DecisionDefinition.key), (deployment_id, DecisionDefinition.deployment_id),
                          (version, DecisionDefinition.version),
                          (requirements_id, DecisionDefinition.decision_requirements_definition_id),
                          (requirements_key, DecisionDefinition.decision_requirements_definition_key)]:
        if value is not None:
            query = query.where(column == value)
    if latest_version:
        query = latest_versions_only(query, DecisionDefinition)
    return query.order_by(*order, DecisionDefinition.key, DecisionDefinition.version)


def get_definition(session: Session, *, definition_id: str | None = None, key: str | None = None,
                   tenant_id: str | None = None) -> DecisionDefinition:
    """A decision definition by id, or the latest version of a key of a tenant (of none without one)."""
    if definition_id:
        definition = session.get(DecisionDefinition, definition_id)
        if definition is None:
            raise NotFound(f"No matching decision definition with id {definition_id}")
        return definition
    definition = latest(session, key, tenant_id) if key is not None else None
    if definition is None:
        tenant = "no tenant-id" if tenant_id is None else f"tenant-id: {tenant_id}"
        raise NotFound(f"No matching decision definition with key: {key} and {tenant}")
    return definition


# The kind of a stand-alone evaluation in the administrative history (a business rule task's is in
# its case's history, under the same kind).
EVALUATED = "decision.evaluated"


def subject(definition_id: str) -> str:
    return f"decision-definition:{definition_id}"


def evaluate(services: Services, variables: Mapping[str, Any], *, user_id: str | None,
             definition_id: str | None = None, key: str | None = None, tenant_id: str | None = None
             ) -> tuple[DecisionDefinition, DecisionEvaluation]:
    """Evaluate a deployed decision on the given variables, as a business rule task would, and record
    the evaluation, who asked and what it gave in the administrative history (Camunda's historic
    decision instance of a stand-alone evaluation)."""
    with services.db.write() as session:
        definition = get_definition(session, definition_id=definition_id, key=key, tenant_id=tenant_id)
        table = services.decision_tables.get(session, definition.id)
        context = services.run_context(session)
        try:
            evaluation = table.evaluate(variables, context.functions)
        except ProcessExecutionFailed as error:  # here the caller's variables are at fault
            raise InvalidRequest(str(error), details=error.details) from None
        ledger.record_admin(session, EVALUATED, subject(definition.id), services.clock.now(), user_id,
                            decision_key=definition.key, decision_definition_id=definition.id,
                            **ledger.jsonable(evaluation.recorded()))
        return definition, evaluation


def find_definition(services: Services, *, definition_id: str | None = None, key: str | None = None,
                    tenant_id: str | None = None) -> DecisionDefinition:
    with services.db.read() as session:
        return get_definition(session, definition_id=definition_id, key=key, tenant_id=tenant_id)


def definition_with_xml(services: Services, *, definition_id: str | None = None, key: str | None = None,
                        tenant_id: str | None = None) -> tuple[DecisionDefinition, str]:
    """A decision definition and the text of the DMN file it came from."""
    with services.db.read() as session:
        definition = get_definition(session, definition_id=definition_id, key=key, tenant_id=tenant_id)
        return definition, resource_text(session, definition.deployment_id, definition.resource_name)


def set_history_time_to_live(services: Services, days: int | None, *, user_id: str | None,
                             definition_id: str | None = None, key: str | None = None,
                             tenant_id: str | None = None) -> None:
    """Days the history of the decision's evaluations is kept (None: without limit), recorded in the
    administrative history with the value it replaces."""
    with services.db.write() as session:
        definition = get_definition(session, definition_id=definition_id, key=key, tenant_id=tenant_id)
        previous, definition.history_time_to_live = definition.history_time_to_live, days
        ledger.record_admin(session, "definition.history_time_to_live", subject(definition.id),
                            services.clock.now(), user_id, previous=previous, value=days)


# --- decision requirements definitions ------------------------------------------------------------

@dataclass
class RequirementsFilter:
    ids: list[str] = field(default_factory=list)
    category: str | None = None
    category_like: str | None = None
    name: str | None = None
    name_like: str | None = None
    deployment_id: str | None = None
    key: str | None = None
    key_like: str | None = None
    resource_name: str | None = None
    resource_name_like: str | None = None
    version: int | None = None
    latest_version: bool = False
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    include_without_tenant_id: bool = False
    sort_desc: list[tuple[str, bool]] = field(default_factory=list)


REQUIREMENTS_SORT = {"id": DecisionRequirementsDefinition.id, "key": DecisionRequirementsDefinition.key,
                     "name": DecisionRequirementsDefinition.name, "version": DecisionRequirementsDefinition.version,
                     "deploymentId": DecisionRequirementsDefinition.deployment_id,
                     "category": DecisionRequirementsDefinition.category,
                     "tenantId": DecisionRequirementsDefinition.tenant_id}


def requirements_query(c: RequirementsFilter) -> Select:
    table = DecisionRequirementsDefinition
    query = select(table)
    if c.ids:
        query = query.where(table.id.in_(c.ids))
    for value, column in [(c.category, table.category), (c.name, table.name), (c.deployment_id, table.deployment_id),
                          (c.key, table.key), (c.resource_name, table.resource_name), (c.version, table.version)]:
        if value is not None:
            query = query.where(column == value)
    for pattern, column in [(c.category_like, table.category), (c.name_like, table.name), (c.key_like, table.key),
                            (c.resource_name_like, table.resource_name)]:
        if pattern is not None:
            query = query.where(like(column, pattern))
    if c.tenant_ids:
        query = query.where(or_(table.tenant_id.in_(c.tenant_ids), *([table.tenant_id.is_(None)]
                                                                      if c.include_without_tenant_id else [])))
    if c.without_tenant_id:
        query = query.where(table.tenant_id.is_(None))
    if c.latest_version:
        query = latest_versions_only(query, table)
    order = [sorted_by(REQUIREMENTS_SORT[key], desc) for key, desc in c.sort_desc]
    return query.order_by(*order, table.key, table.version, table.id)


def _requirements(session: Session, definition_id: str | None, key: str | None,
                  tenant_id: str | None) -> DecisionRequirementsDefinition:
    if definition_id:
        found = session.get(DecisionRequirementsDefinition, definition_id)
        if found is None:
            raise NotFound(f"No matching decision requirements definition with id {definition_id}")
        return found
    latest_version = _latest_requirements(session, key, tenant_id)
    if latest_version is None:
        tenant = "no tenant-id" if tenant_id is None else f"tenant-id: {tenant_id}"
        raise NotFound(f"No matching decision requirements definition with key: {key} and {tenant}")
    return latest_version


def find_requirements(services: Services, *, definition_id: str | None = None, key: str | None = None,
                      tenant_id: str | None = None) -> DecisionRequirementsDefinition:
    """A decision requirements definition by id, or the latest version of a key of a tenant (of none
    without one)."""
    with services.db.read() as session:
        return _requirements(session, definition_id, key, tenant_id)


def requirements_with_xml(services: Services, *, definition_id: str | None = None, key: str | None = None,
                          tenant_id: str | None = None) -> tuple[DecisionRequirementsDefinition, str]:
    with services.db.read() as session:
        found = _requirements(session, definition_id, key, tenant_id)
        return found, resource_text(session, found.deployment_id, found.resource_name)
