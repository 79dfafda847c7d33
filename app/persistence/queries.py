"""Paging, counting, LIKE patterns and the filters several lists share, the same for every list endpoint."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, and_, func, literal, or_, select
from sqlalchemy.orm import Session

from app.errors import InvalidRequest
from app.persistence.models import (
    DecisionDefinition,
    DecisionRequirementsDefinition,
    Deployment,
    DeploymentResource,
    Incident,
    ProcessDefinition,
    ProcessInstance,
)

# Camunda's `*Like` filters are SQL LIKE patterns with `\` escaping a wildcard.
LIKE_ESCAPE = "\\"
MAX_LIKE_PATTERN = 512
_ANY, _ONE = object(), object()


def page(session: Session, query: Select, first_result: int = 0, max_results: int | None = None) -> list[Any]:
    """Rows of the query from `first_result`, at most `max_results`; one entity per row is unwrapped."""
    query = query.offset(first_result)
    if max_results is not None:
        query = query.limit(max_results)
    rows = session.execute(query).all()
    return [row[0] for row in rows] if rows and len(rows[0]) == 1 else list(rows)


@dataclass(frozen=True)
class IncidentMatch:
    """Camunda's incident filters of the instance and definition queries: an incident of the row that
    is so (its ids, type, message, or message pattern)."""

    ids: tuple[str, ...] = ()
    incident_type: str | None = None
    message: str | None = None
    message_like: str | None = None

    def given(self) -> bool:
        return bool(self.ids) or any(value is not None for value in (self.incident_type, self.message,
                                                                      self.message_like))

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = [Incident.id.in_(self.ids)] if self.ids else []
        for value, column in ((self.incident_type, Incident.incident_type), (self.message, Incident.message)):
            if value is not None:
                found.append(column == value)
        if self.message_like is not None:
            found.append(like(Incident.message, self.message_like))
        return found


@dataclass(frozen=True)
class DefinitionNarrowing:
    """Camunda's further filters of a process or decision definition query; each given must hold."""

    key_like: str | None = None
    category: str | None = None
    category_like: str | None = None
    name: str | None = None
    name_like: str | None = None
    version_tag: str | None = None
    version_tag_like: str | None = None
    without_version_tag: bool = False
    resource_name: str | None = None
    resource_name_like: str | None = None
    tenant_ids: tuple[str, ...] = ()
    with_untenanted: bool = False
    without_tenant: bool = False
    deployed_after: datetime | None = None
    deployed_at: datetime | None = None
    sorting: tuple[tuple[str, bool], ...] = ()


def _deployed(definition: type[ProcessDefinition] | type[DecisionDefinition]) -> Any:
    return select(Deployment.deployment_time).where(Deployment.id == definition.deployment_id).scalar_subquery()


def definition_sorts(definition: type[ProcessDefinition] | type[DecisionDefinition]) -> dict[str, Any]:
    """Camunda's sort keys both definition queries share, by the column each orders."""
    return {"key": definition.key, "id": definition.id, "name": definition.name, "version": definition.version,
            "category": definition.category,
            "deploymentId": definition.deployment_id, "tenantId": definition.tenant_id,
            "versionTag": definition.version_tag, "deployTime": _deployed(definition)}


def narrowed_definitions(definition: type[ProcessDefinition] | type[DecisionDefinition],
                         n: DefinitionNarrowing) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    for value, column in ((n.category, definition.category), (n.name, definition.name),
                          (n.version_tag, definition.version_tag), (n.resource_name, definition.resource_name)):
        if value is not None:
            found.append(column == value)
    for pattern, column in ((n.category_like, definition.category), (n.key_like, definition.key),
                            (n.version_tag_like, definition.version_tag),
                            (n.resource_name_like, definition.resource_name)):
        if pattern is not None:
            found.append(like(column, pattern))
    if n.name_like is not None:
        # Camunda compares a process definition's name in upper case, a decision's as it is.
        found.append(like(definition.name, n.name_like, ignore_case=definition is ProcessDefinition))
    if n.without_version_tag:
        found.append(definition.version_tag.is_(None))
    if n.without_tenant:  # as Camunda: it replaces a list of tenants given with it
        found.append(definition.tenant_id.is_(None))
    elif n.tenant_ids:
        tenanted = definition.tenant_id.in_(n.tenant_ids)
        found.append(or_(tenanted, definition.tenant_id.is_(None)) if n.with_untenanted else tenanted)
    if n.deployed_after is not None:
        found.append(later_than(_deployed(definition), n.deployed_after))
    if n.deployed_at is not None:
        found.append(same_millisecond(_deployed(definition), n.deployed_at))
    return found


def definitions_named(name: str | None, name_like: str | None = None) -> Select:
    """The ids of the process definitions of that name and with a name like the pattern (each given),
    for the lists of what they run (tasks, external tasks, the history of tasks)."""
    named = select(ProcessDefinition.id)
    if name is not None:
        named = named.where(ProcessDefinition.name == name)
    if name_like is not None:
        named = named.where(like(ProcessDefinition.name, name_like))
    return named


def latest_versions_only(query: Select, definition: type[ProcessDefinition] | type[DecisionDefinition]
                         | type[DecisionRequirementsDefinition]) -> Select:
    """Keep only the newest version of each key of a definition table (process or decision), per tenant,
    as each tenant numbers its versions of a key."""
    newest = (select(definition.key, definition.tenant_id, func.max(definition.version).label("version"))
              .group_by(definition.key, definition.tenant_id).subquery())
    same_tenant = or_(newest.c.tenant_id == definition.tenant_id,
                      and_(newest.c.tenant_id.is_(None), definition.tenant_id.is_(None)))
    return query.join(newest, (newest.c.key == definition.key) & (newest.c.version == definition.version)
                      & same_tenant)


def _like_tokens(pattern: str) -> list[Any]:
    if len(pattern) > MAX_LIKE_PATTERN:
        raise InvalidRequest(f"A LIKE pattern may have at most {MAX_LIKE_PATTERN} characters")
    tokens: list[Any] = []
    escaped = False
    for char in pattern:
        if escaped:
            tokens.append(char)
            escaped = False
        elif char == LIKE_ESCAPE:
            escaped = True
        elif char == "%":
            if not tokens or tokens[-1] is not _ANY:  # a run of % is one
                tokens.append(_ANY)
        else:
            tokens.append(_ONE if char == "_" else char)
    if escaped:
        tokens.append(LIKE_ESCAPE)
    return tokens


def like(column: SQLColumnExpression[str | None], pattern: str, *, ignore_case: bool = False) -> ColumnElement[bool]:
    """`column LIKE pattern` in SQL, with Camunda's escape character and a bounded pattern; with
    `ignore_case`, both in upper case as the database writes them (Camunda's UPPER(...) LIKE UPPER(...))."""
    _like_tokens(pattern)
    if ignore_case:
        return func.upper(column).like(func.upper(literal(pattern)), escape=LIKE_ESCAPE)
    return column.like(pattern, escape=LIKE_ESCAPE)


def case_root() -> ColumnElement[str]:
    """A case's root process instance: the one its chain of callers began with, itself if none called it."""
    return func.coalesce(ProcessInstance.root_process_instance_id, ProcessInstance.id)


def same_millisecond(column: SQLColumnExpression[datetime | None], instant: datetime) -> ColumnElement[bool]:
    """An instant given as the REST API shows it, to the millisecond, matching a stored one that keeps
    the microseconds the clock gave."""
    return and_(column >= instant, column < instant + timedelta(milliseconds=1))


def at_or_before(column: SQLColumnExpression[datetime | None], instant: datetime) -> ColumnElement[bool]:
    """Camunda's inclusive upper bound, the instant given to the millisecond: stored instants keep the
    microseconds the clock gave, Camunda's the millisecond."""
    return column < instant + timedelta(milliseconds=1)


def later_than(column: SQLColumnExpression[datetime | None], instant: datetime) -> ColumnElement[bool]:
    """Camunda's strict lower bound: a stored instant counts as Camunda would store it, to the
    millisecond, so one later within the given millisecond is not after it."""
    return column >= instant.replace(microsecond=instant.microsecond // 1000 * 1000) + timedelta(milliseconds=1)


def instant_bounds(column: SQLColumnExpression[datetime | None], at: datetime | None = None,
                   before: datetime | None = None, after: datetime | None = None) -> list[ColumnElement[bool]]:
    """Camunda's filters on one instant of a task: at it (to the millisecond), strictly before, strictly
    after; those given."""
    found = [same_millisecond(column, at)] if at is not None else []
    if before is not None:
        found.append(column < before)
    if after is not None:
        found.append(later_than(column, after))
    return found


def sorted_by(column: Any, descending: bool) -> Any:
    """One sort term of a list: a row without the value first going up, last going down, on every
    database (PostgreSQL on its own would put it the other way round from SQLite)."""
    return column.desc().nulls_last() if descending else column.asc().nulls_first()


def equal_ignoring_case(column: SQLColumnExpression[str | None], value: str) -> ColumnElement[bool]:
    return func.upper(column) == func.upper(literal(value))


def like_matcher(pattern: str) -> Callable[[str], bool]:
    """The same LIKE in Python, for values that live outside SQL rows (variables in saved states): the
    pattern is read once, and the matcher is applied to each value.

    The pieces between `%` are found in turn, each at its first place after the one before (which is
    where a LIKE can take it): a piece without `_` by the string search, one with `_` by a regular
    expression without repetition. No backtracking: a long value costs a scan, not value × pattern."""
    tokens = _like_tokens(pattern)
    pieces: list[list[Any]] = [[]]
    for token in tokens:
        if token is _ANY:
            pieces.append([])
        else:
            pieces[-1].append(token)
    finders = [_Piece(piece) for piece in pieces]
    if len(finders) == 1:
        return lambda value: len(value) == finders[0].length and finders[0].at(value, 0)
    first, middle, last = finders[0], finders[1:-1], finders[-1]

    def matches(value: str) -> bool:
        if not first.at(value, 0):
            return False
        position = first.length
        for piece in middle:
            found = piece.find(value, position)
            if found < 0:
                return False
            position = found + piece.length
        end = len(value) - last.length
        return end >= position and last.at(value, end)
    return matches


class _Piece:
    """The part of a LIKE pattern between two `%`: characters and `_`."""

    def __init__(self, tokens: list[Any]) -> None:
        self.length = len(tokens)
        self.text = None if any(token is _ONE for token in tokens) else "".join(tokens)
        self.expression = re.compile("".join("." if token is _ONE else re.escape(token) for token in tokens),
                                     re.DOTALL)

    def at(self, value: str, position: int) -> bool:
        if self.text is not None:
            return value.startswith(self.text, position)
        return self.expression.match(value, position) is not None

    def find(self, value: str, position: int) -> int:
        if self.text is not None:
            return value.find(self.text, position)
        found = self.expression.search(value, position)
        return -1 if found is None else found.start()


def resource_text(session: Session, deployment_id: str, name: str) -> str:
    """The text of a file of a deployment (the BPMN or DMN a definition came from)."""
    content = session.scalars(select(DeploymentResource.content).where(
        DeploymentResource.deployment_id == deployment_id, DeploymentResource.name == name)).one()
    return content.decode("utf-8")


def related(query: Select, *, super_instance: str | None, sub_instance: str | None) -> Select:
    """Camunda's superProcessInstance / subProcessInstance filters: the instances a given instance
    called, or the one that called it."""
    if super_instance is not None:
        query = query.where(ProcessInstance.super_process_instance_id == super_instance)
    if sub_instance is not None:
        caller = (select(ProcessInstance.super_process_instance_id).where(ProcessInstance.id == sub_instance)
                  .scalar_subquery())
        query = query.where(ProcessInstance.id == caller)
    return query


def of_instances(query: Select, *, business_key: str | None = None, definition_id: str | None = None,
                 definition_key: str | None = None, tenant_ids: list[str] | None = None) -> Select:
    """The filters on a process instance's own columns that the instance and execution lists share."""
    if tenant_ids:
        query = query.where(ProcessInstance.tenant_id.in_(tenant_ids))
    for value, column in ((business_key, ProcessInstance.business_key), (definition_id, ProcessInstance.definition_id),
                          (definition_key, ProcessInstance.definition_key)):
        if value is not None:
            query = query.where(column == value)
    return query
