"""DMN decision definitions: versions by key, deployed with (or apart from) the processes that use
them, resolved when a business rule task runs, and evaluated over REST (CPA-14: a province changes
its grading by deploying a new version of the table, without touching the process)."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from app.engine import DecisionTable
from app.errors import InvalidRequest, NotFound, ProcessExecutionFailed
from app.persistence.models import DecisionDefinition, Deployment, ProcessDefinition
from app.persistence.queries import latest_versions_only, resource_text

if TYPE_CHECKING:
    from app.context import Services
    from app.engine.decisions import DecisionEvaluation
    from app.engine.elements import DecisionLookup


def _of_tenant(tenant_id: str | None) -> ColumnElement[bool]:
    return DecisionDefinition.tenant_id.is_(None) if tenant_id is None else DecisionDefinition.tenant_id == tenant_id


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
            checksum=table.checksum, history_time_to_live=table.history_time_to_live, tenant_id=tenant_id)
        session.add(definition)
        definitions.append(definition)
    return definitions


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


def definition_query(*, ids: list[str] | None = None, key: str | None = None, deployment_id: str | None = None,
                     latest_version: bool = False, version: int | None = None) -> Select:
    query = select(DecisionDefinition)
    if ids:
        query = query.where(DecisionDefinition.id.in_(ids))
    if key is not None:
        query = query.where(DecisionDefinition.key == key)
    if deployment_id is not None:
        query = query.where(DecisionDefinition.deployment_id == deployment_id)
    if version is not None:
        query = query.where(DecisionDefinition.version == version)
    if latest_version:
        query = latest_versions_only(query, DecisionDefinition)
    return query.order_by(DecisionDefinition.key, DecisionDefinition.version)


def get_definition(session: Session, *, definition_id: str | None = None, key: str | None = None
                   ) -> DecisionDefinition:
    definition = (session.get(DecisionDefinition, definition_id) if definition_id
                  else latest(session, key) if key is not None else None)
    if definition is None:
        raise NotFound(f"No matching decision definition with {'id' if definition_id else 'key'} "
                       f"{definition_id or key}")
    return definition


def evaluate(services: Services, variables: Mapping[str, Any], *, definition_id: str | None = None,
             key: str | None = None) -> tuple[DecisionDefinition, DecisionEvaluation]:
    """Evaluate a deployed decision on the given variables, as a business rule task would."""
    with services.db.read() as session:
        definition = get_definition(session, definition_id=definition_id, key=key)
        table = services.decision_tables.get(session, definition.id)
        context = services.run_context(session)
        try:
            return definition, table.evaluate(variables, context.functions)
        except ProcessExecutionFailed as error:  # here the caller's variables are at fault
            raise InvalidRequest(str(error), details=error.details) from None


def find_definition(services: Services, *, definition_id: str | None = None, key: str | None = None
                    ) -> DecisionDefinition:
    with services.db.read() as session:
        return get_definition(session, definition_id=definition_id, key=key)


def definition_with_xml(services: Services, *, definition_id: str | None = None, key: str | None = None
                        ) -> tuple[DecisionDefinition, str]:
    """A decision definition and the text of the DMN file it came from."""
    with services.db.read() as session:
        definition = get_definition(session, definition_id=definition_id, key=key)
        return definition, resource_text(session, definition.deployment_id, definition.resource_name)
