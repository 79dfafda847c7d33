"""Camunda's historic decision instances, read from where the service records each evaluation:

* a business rule task's, in its case's chained history (`decision.evaluated`), read by those who may
  read the case; its id is the history event's;
* a stand-alone evaluation's (`POST /decision-definition/.../evaluate`), in the administrative history
  (app.definitions.decisions.evaluate), with who asked; read by the account that asked and by those who
  read every case (administrators, auditors). Its id is `admin-<event>`.

Nothing is written beside these records. Both are read in one query (a UNION ALL of the two kinds of
events), filtered, sorted and paged by the database. The decisions a decision required are kept in
its record (`required_decisions`) and not listed apart, so every decision instance is its own root.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.definitions.decisions import EVALUATED
from app.engine import ClauseValue, recorded_inputs, recorded_outputs, revived
from app.errors import NotFound
from app.persistence.models import AdminEvent, DecisionDefinition, HistoryEvent, ProcessDefinition, ProcessInstance
from app.persistence.queries import case_root, like, page, sorted_by

if TYPE_CHECKING:
    from app.context import Services

STANDALONE_PREFIX = "admin-"


def _evaluations(viewer: Principal | None) -> Subquery:
    """Every evaluation the viewer may read (None: all), one row each, from both records."""
    of_cases = (select(cast(HistoryEvent.id, String).label("id"), HistoryEvent.occurred_at.label("evaluated_at"),
                       null().label("user_id"), HistoryEvent.activity_id.label("activity_id"),
                       HistoryEvent.task_id.label("activity_instance_id"),
                       HistoryEvent.process_instance_id.label("process_instance_id"),
                       ProcessInstance.definition_id.label("process_definition_id"),
                       ProcessInstance.definition_key.label("process_definition_key"),
                       case_root().label("root_process_instance_id"),
                       ProcessInstance.tenant_id.label("instance_tenant_id"),
                       ProcessInstance.end_time.label("case_ended"),
                       ProcessDefinition.history_time_to_live.label("case_kept_days"),
                       HistoryEvent.payload["decision_definition_id"].as_string().label("decision_definition_id"),
                       HistoryEvent.payload.label("payload"))
                .join(ProcessInstance, ProcessInstance.id == HistoryEvent.process_instance_id)
                .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
                .where(HistoryEvent.kind == EVALUATED))
    of_cases = permissions.only_visible(of_cases, HistoryEvent.process_instance_id, viewer)
    standalone = (select((literal(STANDALONE_PREFIX) + cast(AdminEvent.id, String)).label("id"),
                         AdminEvent.occurred_at, AdminEvent.user_id, *[null()] * 9,
                         AdminEvent.payload["decision_definition_id"].as_string(), AdminEvent.payload)
                  .where(AdminEvent.kind == EVALUATED))
    if viewer is not None and not permissions.sees_every_case(viewer):
        standalone = standalone.where(AdminEvent.user_id == viewer.user_id)
    return union_all(of_cases, standalone).subquery("evaluation")


@dataclass
class DecisionInstanceFilter:
    # Camunda's `x` and `xIn` filters, which both hold when both are given.
    id: str | None = None
    ids: list[str] = field(default_factory=list)
    definition_id: str | None = None
    definition_ids: list[str] = field(default_factory=list)
    definition_key: str | None = None
    definition_keys: list[str] = field(default_factory=list)
    definition_name: str | None = None
    definition_name_like: str | None = None
    process_definition_id: str | None = None
    process_definition_key: str | None = None
    process_instance_id: str | None = None
    activity_ids: list[str] = field(default_factory=list)
    activity_instance_ids: list[str] = field(default_factory=list)
    evaluated_before: datetime | None = None
    evaluated_after: datetime | None = None
    user_id: str | None = None
    root_decision_instance_id: str | None = None
    requirements_id: str | None = None
    requirements_key: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    sort_desc: list[tuple[str, bool]] = field(default_factory=list)
    viewer: Principal | None = None


SORT_KEYS = ("evaluationTime", "tenantId")


def _query(c: DecisionInstanceFilter) -> Select:
    evaluation = _evaluations(c.viewer)
    # A case's evaluation belongs to the case's region (Camunda: the execution's tenant first).
    tenant = func.coalesce(evaluation.c.instance_tenant_id, DecisionDefinition.tenant_id)
    query = (select(evaluation, DecisionDefinition.key.label("definition_key"),
                    DecisionDefinition.name.label("definition_name"),
                    DecisionDefinition.decision_requirements_definition_id.label("requirements_id"),
                    DecisionDefinition.decision_requirements_definition_key.label("requirements_key"),
                    tenant.label("tenant_id"))
             .outerjoin(DecisionDefinition, DecisionDefinition.id == evaluation.c.decision_definition_id))
    if c.ids:
        query = query.where(evaluation.c.id.in_(c.ids))
    for values, column in [(c.definition_ids, evaluation.c.decision_definition_id),
                           (c.definition_keys, DecisionDefinition.key), (c.activity_ids, evaluation.c.activity_id),
                           (c.activity_instance_ids, evaluation.c.activity_instance_id), (c.tenant_ids, tenant)]:
        if values:
            query = query.where(column.in_(values))
    # Every instance is its own root: the root's instances are the root alone.
    for value, column in [(c.id, evaluation.c.id), (c.root_decision_instance_id, evaluation.c.id),
                          (c.definition_id, evaluation.c.decision_definition_id),
                          (c.definition_key, DecisionDefinition.key), (c.definition_name, DecisionDefinition.name),
                          (c.process_definition_id, evaluation.c.process_definition_id),
                          (c.process_definition_key, evaluation.c.process_definition_key),
                          (c.process_instance_id, evaluation.c.process_instance_id),
                          (c.user_id, evaluation.c.user_id),
                          (c.requirements_id, DecisionDefinition.decision_requirements_definition_id),
                          (c.requirements_key, DecisionDefinition.decision_requirements_definition_key)]:
        if value is not None:
            query = query.where(column == value)
    if c.definition_name_like is not None:
        query = query.where(like(DecisionDefinition.name, c.definition_name_like))
    if c.evaluated_before is not None:
        query = query.where(evaluation.c.evaluated_at <= c.evaluated_before)
    if c.evaluated_after is not None:
        query = query.where(evaluation.c.evaluated_at >= c.evaluated_after)
    if c.without_tenant_id:
        query = query.where(tenant.is_(None))
    columns = {"evaluationTime": evaluation.c.evaluated_at, "tenantId": tenant}
    order = [columns[key].desc().nulls_last() if desc else columns[key].asc().nulls_first()
             for key, desc in c.sort_desc]
    return query.order_by(*order, evaluation.c.evaluated_at, evaluation.c.id)


@dataclass(frozen=True)
class DecisionInstance:
    id: str
    decision_definition_id: str | None
    decision_definition_key: str | None
    decision_definition_name: str | None
    evaluated_at: datetime
    process_definition_id: str | None
    process_definition_key: str | None
    process_instance_id: str | None
    root_process_instance_id: str | None
    activity_id: str | None
    activity_instance_id: str | None
    user_id: str | None
    collect_result_value: float | None
    requirements_id: str | None
    requirements_key: str | None
    tenant_id: str | None
    # None unless asked for (Camunda's includeInputs / includeOutputs).
    inputs: list[ClauseValue] | None
    outputs: list[ClauseValue] | None


def _instance(services: Services, session: Session, row: Row, include_inputs: bool,
              include_outputs: bool) -> DecisionInstance:
    payload: dict[str, Any] = row.payload
    # A decision whose deployment was deleted is named as recorded, its values without their clauses.
    deployed = row.definition_key is not None
    table = (services.decision_tables.get(session, row.decision_definition_id)
             if deployed and (include_inputs or include_outputs) else None)
    collected = payload.get("collect_result")
    return DecisionInstance(
        id=row.id, decision_definition_id=row.decision_definition_id,
        decision_definition_key=row.definition_key if deployed else payload.get("decision_key"),
        decision_definition_name=row.definition_name, evaluated_at=row.evaluated_at,
        process_definition_id=row.process_definition_id, process_definition_key=row.process_definition_key,
        process_instance_id=row.process_instance_id, root_process_instance_id=row.root_process_instance_id,
        activity_id=row.activity_id, activity_instance_id=row.activity_instance_id, user_id=row.user_id,
        collect_result_value=float(collected) if isinstance(collected, int | float) and not isinstance(
            collected, bool) else None,
        requirements_id=row.requirements_id, requirements_key=row.requirements_key, tenant_id=row.tenant_id,
        # Recorded Bytes and File values are references again, shown as their type (not as their record).
        inputs=recorded_inputs(table, revived(payload.get("inputs") or {})) if include_inputs else None,
        outputs=recorded_outputs(table, payload.get("matched_rules") or [], revived(payload.get("outputs") or []))
        if include_outputs else None)


def decision_instances(services: Services, c: DecisionInstanceFilter, first: int, most: int, *,
                       include_inputs: bool = False, include_outputs: bool = False) -> list[DecisionInstance]:
    query = _query(c)
    with services.db.read() as session:
        return [_instance(services, session, row, include_inputs, include_outputs)
                for row in session.execute(query.offset(first).limit(most))]


def count_decision_instances(services: Services, c: DecisionInstanceFilter) -> int:
    query = _query(c)
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def decision_instance(services: Services, instance_id: str, viewer: Principal, *, include_inputs: bool = False,
                      include_outputs: bool = False) -> DecisionInstance:
    """One decision instance the viewer may read; 404 as Camunda answers an unknown one."""
    found = decision_instances(services, DecisionInstanceFilter(id=instance_id, viewer=viewer), 0, 1,
                               include_inputs=include_inputs, include_outputs=include_outputs)
    if not found:
        raise NotFound(f"Historic decision instance with id '{instance_id}' does not exist")
    return found[0]


# --- statistics and the cleanable report -----------------------------------------------------------

def requirements_statistics(services: Services, requirements_id: str, viewer: Principal,
                            decision_instance_id: str | None = None) -> list[tuple[str, int]]:
    """Evaluations per decision of a decision requirements definition (those of one decision instance
    when given: itself, every instance being its own root), as Camunda counts them."""
    rows = _query(DecisionInstanceFilter(requirements_id=requirements_id, viewer=viewer,
                                         id=decision_instance_id)
                  ).order_by(None).subquery()
    with services.db.read() as session:
        return [(key, count) for key, count in session.execute(
            select(rows.c.definition_key, func.count()).group_by(rows.c.definition_key)
            .order_by(rows.c.definition_key))]


@dataclass
class CleanableFilter:
    definition_ids: list[str] = field(default_factory=list)
    definition_keys: list[str] = field(default_factory=list)
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    # Only the decisions with evaluations (Camunda's compact).
    compact: bool = False
    sort_desc: list[tuple[str, bool]] = field(default_factory=list)
    viewer: Principal | None = None


def _cleanable(session: Session, evaluation: Subquery, now: datetime) -> ColumnElement[bool]:
    """The evaluations whose history the service would delete now: those of ended cases whose
    process's history time to live has passed since their end (app.audit.removal); a stand-alone
    evaluation stays in the administrative history, which keeps every change."""
    kept = [days for days in session.scalars(select(ProcessDefinition.history_time_to_live).distinct())
            if days is not None]
    return or_(false(), *[and_(evaluation.c.case_kept_days == days,
                               evaluation.c.case_ended <= now - timedelta(days=days)) for days in kept])


def _report(session: Session, c: CleanableFilter, now: datetime) -> Select:
    evaluation = _evaluations(c.viewer)
    counts = (select(evaluation.c.decision_definition_id, func.count().label("finished"),
                     func.sum(case((_cleanable(session, evaluation, now), 1), else_=0)).label("cleanable"))
              .group_by(evaluation.c.decision_definition_id).subquery())
    finished = func.coalesce(counts.c.finished, 0)
    query = (select(DecisionDefinition, finished, func.coalesce(counts.c.cleanable, 0))
             .outerjoin(counts, counts.c.decision_definition_id == DecisionDefinition.id))
    for values, column in [(c.definition_ids, DecisionDefinition.id), (c.definition_keys, DecisionDefinition.key),
                           (c.tenant_ids, DecisionDefinition.tenant_id)]:
        if values:
            query = query.where(column.in_(values))
    if c.without_tenant_id:
        query = query.where(DecisionDefinition.tenant_id.is_(None))
    if c.compact:
        query = query.where(finished > 0)
    order = [sorted_by(finished, desc) for _, desc in c.sort_desc]
    return query.order_by(*order, DecisionDefinition.key, DecisionDefinition.version, DecisionDefinition.id)


@dataclass(frozen=True)
class CleanableDecisions:
    definition: DecisionDefinition
    finished: int
    cleanable: int


def cleanable_report(services: Services, c: CleanableFilter, first: int, most: int) -> list[CleanableDecisions]:
    """Per decision definition, its recorded evaluations the viewer may read and those of them the
    service's history deletion would remove now."""
    with services.db.read() as session:
        return [CleanableDecisions(definition, finished, cleanable) for definition, finished, cleanable
                in page(session, _report(session, c, services.clock.now()), first, most)]


def count_cleanable_report(services: Services, c: CleanableFilter) -> int:
    with services.db.read() as session:
        query = _report(session, c, services.clock.now()).order_by(None)
        return session.scalar(select(func.count()).select_from(query.subquery())) or 0
