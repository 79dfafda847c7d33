"""Camunda's historic logs, read from the instances' chained history (app.audit.ledger): nothing is
written beside it, so that what auditors read here is what the verified chain holds.

* The external task log: one row per event of an external task's life — created, failed, completed
  by its worker, deleted (cancelled, its instance deleted, or left by a BPMN error, as Camunda logs
  it). Its id is the history event's.
* The identity link log: the candidate users and groups a task was offered to and no longer, and
  every change of its assignee and owner (a change deletes the one before and adds the new one),
  with who made it. Its rows are read by walking each task's events in order.
* The details: each variable value a command set (starting the case, setting or deleting variables,
  completing a task, a worker's completion or BPMN error, a message, signal or called instance's
  return), numbered per variable as Camunda numbers revisions, and each field of a submitted task
  form. Values that scripts and mappings compute inside a step are not recorded, so they are no
  detail. Confidential variables of cases the reader does not handle are left out, as from the
  variable instances.

An identity link row's and a detail's id is its event's id and its place among the rows the event
gives (`<event>-<n>`): a row read twice has the same id. Only the rows of cases the reader may read
are found.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, false, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.cases.history import USER_OPERATIONS
from app.cases.instances import (
    EXTERNAL_TASK_COMPLETED,
    EXTERNAL_TASK_CREATED,
    EXTERNAL_TASK_DELETED,
    EXTERNAL_TASK_FAILED,
)
from app.cases.listing import Keep
from app.cases.variable_instances import variable_id
from app.engine import revived
from app.errors import NotFoundByQuery
from app.extensions import confidentiality
from app.persistence.models import HistoryEvent, ProcessInstance
from app.persistence.queries import like_matcher

if TYPE_CHECKING:
    from app.context import Services

# --- the external task log -----------------------------------------------------------------------

# history kind → Camunda's state of the log entry
EXTERNAL_TASK_LOGS = {EXTERNAL_TASK_CREATED: "creationLog", EXTERNAL_TASK_FAILED: "failureLog",
                      EXTERNAL_TASK_COMPLETED: "successLog", EXTERNAL_TASK_DELETED: "deletionLog"}


def payload_text(name: str) -> ColumnElement[str]:
    return HistoryEvent.payload[name].as_string()


def payload_number(name: str) -> ColumnElement[int]:
    return HistoryEvent.payload[name].as_integer()


EXTERNAL_TASK_LOG_SORT: dict[str, Any] = {
    "timestamp": HistoryEvent.occurred_at, "externalTaskId": HistoryEvent.task_id,
    "topicName": payload_text("topic"), "workerId": payload_text("worker_id"), "retries": payload_number("retries"),
    "priority": payload_number("priority"), "activityId": HistoryEvent.activity_id,
    "activityInstanceId": HistoryEvent.task_id, "executionId": HistoryEvent.task_id,
    "processInstanceId": HistoryEvent.process_instance_id, "processDefinitionId": ProcessInstance.definition_id,
    "processDefinitionKey": ProcessInstance.definition_key, "tenantId": ProcessInstance.tenant_id}


@dataclass
class ExternalTaskLogFilter:
    log_id: str | None = None
    external_task_id: str | None = None
    topic_name: str | None = None
    worker_id: str | None = None
    error_message: str | None = None
    # An external task is its own activity instance and execution here (as /external-task shows it).
    activity_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    process_instance_id: str | None = None
    process_definition_id: str | None = None
    process_definition_key: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    priority_at_most: int | None = None
    priority_at_least: int | None = None
    # One of EXTERNAL_TASK_LOGS' states, or None for all.
    state: str | None = None
    sort_desc: dict[str, bool] = field(default_factory=dict)
    viewer: Principal | None = None


def _event_id(log_id: str) -> int | None:
    """The history event a row's id names (None: an id no row has)."""
    number = log_id.split("-", 1)[0]
    return int(number) if number.isdigit() and len(number) < 19 else None


def external_task_log_query(c: ExternalTaskLogFilter) -> Select:
    kinds = [kind for kind, state in EXTERNAL_TASK_LOGS.items() if c.state in (None, state)]
    query = (select(HistoryEvent, ProcessInstance)
             .join(ProcessInstance, ProcessInstance.id == HistoryEvent.process_instance_id)
             .where(HistoryEvent.kind.in_(kinds)))
    query = permissions.only_visible(query, HistoryEvent.process_instance_id, c.viewer)
    if c.log_id is not None:
        event_id = _event_id(c.log_id) if "-" not in c.log_id else None
        query = query.where(false() if event_id is None else HistoryEvent.id == event_id)
    for value, column in [(c.external_task_id, HistoryEvent.task_id), (c.topic_name, payload_text("topic")),
                          (c.worker_id, payload_text("worker_id")), (c.error_message, payload_text("error_message")),
                          (c.process_instance_id, HistoryEvent.process_instance_id),
                          (c.process_definition_id, ProcessInstance.definition_id),
                          (c.process_definition_key, ProcessInstance.definition_key)]:
        if value is not None:
            query = query.where(column == value)
    for values, column in [(c.activity_ids, HistoryEvent.activity_id), (c.task_ids, HistoryEvent.task_id),
                           (c.tenant_ids, ProcessInstance.tenant_id)]:
        if values:
            query = query.where(column.in_(values))
    if c.without_tenant_id:
        query = query.where(ProcessInstance.tenant_id.is_(None))
    if c.priority_at_most is not None:
        query = query.where(payload_number("priority") <= c.priority_at_most)
    if c.priority_at_least is not None:
        query = query.where(payload_number("priority") >= c.priority_at_least)
    # Empty values first ascending and last descending on every database (as the other logs sort).
    sorted_by = [(EXTERNAL_TASK_LOG_SORT[key], desc) for key, desc in c.sort_desc.items()]
    order = [column.desc().nulls_last() if desc else column.asc().nulls_first() for column, desc in sorted_by]
    return query.order_by(*order, HistoryEvent.occurred_at, HistoryEvent.id)


def external_task_log(services: Services, log_id: str, viewer: Principal) -> tuple[HistoryEvent, ProcessInstance]:
    """One entry of the external task log, for those who may read its case (others: 404, as if it
    did not exist, since the log lists nothing of their cases)."""
    with services.db.read() as session:
        row = session.execute(external_task_log_query(ExternalTaskLogFilter(log_id=log_id, viewer=viewer))).first()
        if row is None:
            raise NotFoundByQuery(f"Historic external task log with id {log_id} does not exist")
        return row[0], row[1]


def external_task_error_details(services: Services, log_id: str, viewer: Principal) -> str | None:
    with services.db.read() as session:
        row = session.execute(external_task_log_query(ExternalTaskLogFilter(log_id=log_id, viewer=viewer))).first()
        if row is None:
            raise NotFoundByQuery(f"No historic external task log found with id {log_id}")
        details = row[0].payload.get("error_details")
        return None if details is None else str(details)


# --- rows read by walking the events ---------------------------------------------------------------

@dataclass
class LogRow:
    """One row of the identity link log or of the details: its event, the instance, its fields."""

    id: str
    event: HistoryEvent
    instance: ProcessInstance
    fields: dict[str, Any]

    @property
    def time(self) -> datetime:
        return self.event.occurred_at


@dataclass
class Page:
    first: int
    most: int
    sort_desc: dict[str, bool]
    # sort key → the row's value
    keys: Mapping[str, Callable[[LogRow], Any]]


def _sorted(rows: list[LogRow], page: Page) -> list[LogRow]:
    """Stable sorts from the last key to the first: the first key ranks highest. None sorts first
    ascending and last descending, as a database's NULLs do."""
    rows = sorted(rows, key=lambda row: (row.time, row.event.id, row.id))
    for key, desc in reversed(list(page.sort_desc.items())):
        value = page.keys[key]
        rows.sort(key=lambda row: (value(row) is not None, value(row) if value(row) is not None else 0),
                  reverse=desc)
    return rows


def _paged(rows: list[LogRow], page: Page) -> list[LogRow]:
    return _sorted(rows, page)[page.first:page.first + page.most]


def _events(session: Session, query: Select) -> list[tuple[HistoryEvent, ProcessInstance]]:
    """The events in the order they happened in each instance (the walks need the ones before)."""
    ordered = query.order_by(HistoryEvent.process_instance_id, HistoryEvent.sequence)
    return [(event, instance) for event, instance in session.execute(ordered)]


def _events_query(kinds: Iterable[str], viewer: Principal | None) -> Select:
    query = (select(HistoryEvent, ProcessInstance)
             .join(ProcessInstance, ProcessInstance.id == HistoryEvent.process_instance_id)
             .where(HistoryEvent.kind.in_(sorted(kinds))))
    return permissions.only_visible(query, HistoryEvent.process_instance_id, viewer)


def _of_instances(query: Select, *, definition_id: str | None = None, definition_key: str | None = None,
                  tenant_ids: list[str] | None = None, without_tenant_id: bool = False) -> Select:
    for value, column in [(definition_id, ProcessInstance.definition_id),
                          (definition_key, ProcessInstance.definition_key)]:
        if value is not None:
            query = query.where(column == value)
    if tenant_ids:
        query = query.where(ProcessInstance.tenant_id.in_(tenant_ids))
    if without_tenant_id:
        query = query.where(ProcessInstance.tenant_id.is_(None))
    return query


def _in_time(row: LogRow, before: datetime | None, after: datetime | None) -> bool:
    """Camunda's dateBefore/After and occurredBefore/After: both ends included."""
    return (before is None or row.time <= before) and (after is None or row.time >= after)


# --- the identity link log ---------------------------------------------------------------------------

_ASSIGNMENTS = ("task.claimed", "task.unclaimed", "task.assigned", "task.delegated", "task.resolved")
_CANDIDATES = {"task.candidateUserAdded": ("user", "add"), "task.candidateUserRemoved": ("user", "delete"),
               "task.candidateGroupAdded": ("group", "add"), "task.candidateGroupRemoved": ("group", "delete")}
IDENTITY_LINK_KINDS = ("task.created", *_ASSIGNMENTS, "task.ownerSet", *_CANDIDATES)

IDENTITY_LINK_SORT: dict[str, Callable[[LogRow], Any]] = {
    "time": lambda row: row.time, "type": lambda row: row.fields["type"],
    "userId": lambda row: row.fields["userId"], "groupId": lambda row: row.fields["groupId"],
    "taskId": lambda row: row.event.task_id, "processDefinitionId": lambda row: row.instance.definition_id,
    "processDefinitionKey": lambda row: row.instance.definition_key,
    "operationType": lambda row: row.fields["operationType"], "assignerId": lambda row: row.event.user_id,
    "tenantId": lambda row: row.instance.tenant_id}


@dataclass
class IdentityLinkFilter:
    type: str | None = None
    user_id: str | None = None
    group_id: str | None = None
    task_id: str | None = None
    process_definition_id: str | None = None
    process_definition_key: str | None = None
    operation_type: str | None = None
    assigner_id: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    before: datetime | None = None
    after: datetime | None = None
    viewer: Principal | None = None

    def matches(self, row: LogRow) -> bool:
        wanted = [(self.type, "type"), (self.user_id, "userId"), (self.group_id, "groupId"),
                  (self.operation_type, "operationType")]
        return (all(value is None or row.fields[name] == value for value, name in wanted)
                and (self.assigner_id is None or row.event.user_id == self.assigner_id)
                and _in_time(row, self.before, self.after))


def _link(kind: str, identity: str, operation: str) -> dict[str, Any]:
    return {"type": "candidate" if kind in ("user", "group") else kind,
            "userId": None if kind == "group" else identity, "groupId": identity if kind == "group" else None,
            "operationType": operation}


def _changed(kind: str, before: str | None, after: str | None) -> list[dict[str, Any]]:
    """An assignee's or owner's change, as Camunda logs it: the one before deleted, the new one added."""
    if before == after:
        return []
    return ([_link(kind, before, "delete")] if before else []) + ([_link(kind, after, "add")] if after else [])


class _TaskLinks:
    """Who a task's assignee and owner are, event after event."""

    def __init__(self) -> None:
        self.assignee: dict[str, str | None] = {}
        self.owner: dict[str, str | None] = {}

    def links(self, event: HistoryEvent) -> list[dict[str, Any]]:
        task, payload = event.task_id or "", event.payload
        if event.kind == "task.created":
            self.assignee[task] = payload.get("assignee")
            return ([_link("group", group, "add") for group in payload.get("candidate_groups") or []]
                    + [_link("user", user, "add") for user in payload.get("candidate_users") or []]
                    + _changed("assignee", None, payload.get("assignee")))
        if event.kind in _CANDIDATES:
            kind, operation = _CANDIDATES[event.kind]
            return [_link(kind, payload.get(kind) or "", operation)]
        links = []
        if event.kind in ("task.ownerSet", "task.delegated"):
            links += _changed("owner", self.owner.get(task), payload.get("owner"))
            self.owner[task] = payload.get("owner")
        if event.kind in _ASSIGNMENTS:
            links += _changed("assignee", self.assignee.get(task), payload.get("assignee"))
            self.assignee[task] = payload.get("assignee")
        return links


def _identity_link_rows(session: Session, c: IdentityLinkFilter) -> list[LogRow]:
    query = _of_instances(_events_query(IDENTITY_LINK_KINDS, c.viewer), definition_id=c.process_definition_id,
                          definition_key=c.process_definition_key, tenant_ids=c.tenant_ids,
                          without_tenant_id=c.without_tenant_id)
    if c.task_id is not None:
        query = query.where(HistoryEvent.task_id == c.task_id)
    rows, tasks = [], _TaskLinks()
    for event, instance in _events(session, query):
        for index, fields in enumerate(tasks.links(event)):
            row = LogRow(f"{event.id}-{index}", event, instance, fields)
            if c.matches(row):
                rows.append(row)
    return rows


@dataclass(frozen=True)
class OfferFilter:
    """The historic task query's filters on whom a task was offered to or who took part in it, over its
    identity links as the log above shows them (any link ever added or deleted): Camunda's
    taskHadCandidateUser, taskHadCandidateGroup, taskInvolvedUser (a link of any type naming the
    user), taskInvolvedGroup, withCandidateGroups and withoutCandidateGroups. All given must hold,
    or in an or-query (`either`) one."""

    had_candidate_user: str | None = None
    had_candidate_group: str | None = None
    involved_user: str | None = None
    involved_group: str | None = None
    with_candidate_groups: bool = False
    without_candidate_groups: bool = False
    either: bool = False

    def given(self) -> bool:
        return any((self.had_candidate_user, self.had_candidate_group, self.involved_user, self.involved_group,
                    self.with_candidate_groups, self.without_candidate_groups))

    def holds(self, links: list[dict[str, Any]]) -> bool:
        candidates = [link for link in links if link["type"] == "candidate"]
        offered_to_group = any(link["groupId"] is not None for link in candidates)
        wanted = [(self.had_candidate_user, lambda: any(link["userId"] == self.had_candidate_user
                                                        for link in candidates)),
                  (self.had_candidate_group, lambda: any(link["groupId"] == self.had_candidate_group
                                                         for link in candidates)),
                  (self.involved_user, lambda: any(link["userId"] == self.involved_user for link in links)),
                  (self.involved_group, lambda: any(link["groupId"] == self.involved_group for link in links)),
                  (self.with_candidate_groups, lambda: offered_to_group),
                  (self.without_candidate_groups, lambda: not offered_to_group)]
        met = [test() for value, test in wanted if value]
        return any(met) if self.either else all(met)


def offers_kept(c: OfferFilter) -> Keep:
    """A keep of the historic tasks whose identity links meet the filter, each case's read once. A
    standalone task's offers are in the administrative history, not in the log: it has none here."""
    links: dict[str, list[dict[str, Any]]] = {}
    read: set[str] = set()

    def keep(session: Session, task: Any) -> bool:
        instance_id = task.process_instance_id
        if instance_id is not None and instance_id not in read:
            read.add(instance_id)
            walk = _TaskLinks()
            for event in session.scalars(select(HistoryEvent).where(
                    HistoryEvent.process_instance_id == instance_id, HistoryEvent.kind.in_(IDENTITY_LINK_KINDS))
                    .order_by(HistoryEvent.sequence)):
                links.setdefault(event.task_id or "", []).extend(walk.links(event))
        return c.holds(links.get(task.id, []))
    return keep


def identity_links(services: Services, c: IdentityLinkFilter, page: Page) -> list[LogRow]:
    with services.db.read() as session:
        return _paged(_identity_link_rows(session, c), page)


def count_identity_links(services: Services, c: IdentityLinkFilter) -> int:
    with services.db.read() as session:
        return len(_identity_link_rows(session, c))


# --- the details ------------------------------------------------------------------------------------

_VARIABLES_GIVEN = ("process.started", "task.completed", EXTERNAL_TASK_COMPLETED, "externalTask.bpmnError",
                    "task.bpmnError", "task.escalation", "message.received", "signal.received", "trigger.received",
                    "call_activity.returned")
_VARIABLES_CHANGED = ("variables.modified", "task.localVariablesModified")
DETAIL_KINDS = (*_VARIABLES_GIVEN, *_VARIABLES_CHANGED)
VARIABLE_UPDATE, FORM_FIELD = "variableUpdate", "formField"
_TASK_LOCAL_NAMESPACE = uuid.UUID("0c7d52e1-5f0e-4c43-9d0e-6a2b8f4d1e93")


def task_variable_id(task_id: str, name: str) -> str:
    """A task-local variable's id (a case variable's is app.cases.variable_instances.variable_id)."""
    return str(uuid.uuid5(_TASK_LOCAL_NAMESPACE, f"{task_id}\x00{name}"))


@dataclass
class DetailFilter:
    process_instance_id: str | None = None
    process_instance_ids: list[str] = field(default_factory=list)
    # An instance's only execution and activity instance is the instance itself; a task's is the task.
    execution_id: str | None = None
    activity_instance_id: str | None = None
    task_id: str | None = None
    variable_instance_id: str | None = None
    variable_types: list[str] = field(default_factory=list)
    variable_name_like: str | None = None
    form_fields: bool = False
    variable_updates: bool = False
    exclude_task_details: bool = False
    user_operation_id: str | None = None
    initial: bool = False
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant_id: bool = False
    before: datetime | None = None
    after: datetime | None = None
    detail_id: str | None = None
    # Turns a value into the {type, value, valueInfo} the REST layer shows (the variable type filter
    # and sorting read its type); by default the value as it was recorded, untyped.
    typed: Callable[[Any], dict[str, Any]] = field(
        default=lambda value: {"type": None, "value": value, "valueInfo": {}})
    viewer: Principal | None = None

    def __post_init__(self) -> None:
        self._name_like = like_matcher(self.variable_name_like) if self.variable_name_like is not None else None

    def matches(self, row: LogRow) -> bool:
        f, event = row.fields, row.event
        update = f["type"] == VARIABLE_UPDATE
        return ((not self.form_fields or f["type"] == FORM_FIELD)
                and (not self.variable_updates or update)
                and (not self.exclude_task_details or f["taskId"] is None)
                and (self.detail_id is None or row.id == self.detail_id)
                and (self.execution_id is None or self.execution_id in (f["executionId"], event.process_instance_id))
                and (self.activity_instance_id is None or f["activityInstanceId"] == self.activity_instance_id)
                and (self.variable_instance_id is None or f.get("variableInstanceId") == self.variable_instance_id)
                and (not self.variable_types or (update and f["typed"]["type"] in self.variable_types))
                and (self._name_like is None or (update and self._name_like(f["variableName"])))
                and (self.user_operation_id is None or f["userOperationId"] == self.user_operation_id)
                and (not self.initial or (update and f["initial"]))
                and _in_time(row, self.before, self.after))


DETAIL_SORT: dict[str, Callable[[LogRow], Any]] = {
    "processInstanceId": lambda row: row.instance.id, "variableName": lambda row: row.fields.get("variableName"),
    "variableType": lambda row: (row.fields.get("typed") or {}).get("type"),
    "variableRevision": lambda row: row.fields.get("revision"), "formPropertyId": lambda row: row.fields.get("fieldId"),
    "time": lambda row: row.time, "occurrence": lambda row: (row.event.id, row.id),
    "tenantId": lambda row: row.instance.tenant_id}


def user_operation_id(event: HistoryEvent) -> str | None:
    """The operationId of the event's entry in the user operation log, if it is one."""
    if event.kind in USER_OPERATIONS and event.user_id is not None:
        return f"{event.process_instance_id}:{event.sequence}"
    return None


class _Revisions:
    """Each variable's revision, counted over its instance's (or task's) updates in order."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def next(self, variable: str) -> int:
        self.seen[variable] = self.seen.get(variable, -1) + 1
        return self.seen[variable]


def _details(event: HistoryEvent, revisions: _Revisions, typed: Callable[[Any], dict[str, Any]]
             ) -> list[dict[str, Any]]:
    payload = event.payload
    # A task's own variables are the task's; the values a task's completion sets are the case's, and
    # its submitted form fields the task's.
    local = event.kind == "task.localVariablesModified"
    scope = event.task_id if local else event.process_instance_id
    common = {"taskId": event.task_id if local else None, "executionId": scope, "activityInstanceId": scope,
              "userOperationId": user_operation_id(event)}
    if event.kind in _VARIABLES_GIVEN:
        updates = list((payload.get("variables") or {}).items())
    else:
        updates = list((payload.get("modifications") or {}).items())
        updates += [(name, None) for name in payload.get("deletions") or []]
    rows = []
    if event.kind == "task.completed" and payload.get("form"):
        rows += [{**common, "type": FORM_FIELD, "taskId": event.task_id, "fieldId": name, "fieldValue": value}
                 for name, value in updates]
    for name, recorded in updates:
        value = revived(recorded)
        variable = task_variable_id(event.task_id or "", name) if local else variable_id(event.process_instance_id,
                                                                                           name)
        rows.append({**common, "type": VARIABLE_UPDATE, "variableName": name, "variableInstanceId": variable,
                     "value": value, "typed": typed(value), "revision": revisions.next(variable),
                     "initial": event.kind == "process.started"})
    return rows


def _detail_rows(services: Services, session: Session, c: DetailFilter) -> list[LogRow]:
    query = _of_instances(_events_query(DETAIL_KINDS, c.viewer), tenant_ids=c.tenant_ids,
                          without_tenant_id=c.without_tenant_id)
    for value, column in [(c.process_instance_id, HistoryEvent.process_instance_id),
                          (c.task_id, HistoryEvent.task_id)]:
        if value is not None:
            query = query.where(column == value)
    if c.process_instance_ids:
        query = query.where(HistoryEvent.process_instance_id.in_(c.process_instance_ids))
    if c.detail_id is not None:
        event_id = _event_id(c.detail_id)
        if event_id is None:
            return []
        # The revisions count the updates before it: the whole instance is read.
        query = query.where(HistoryEvent.process_instance_id.in_(
            select(HistoryEvent.process_instance_id).where(HistoryEvent.id == event_id).scalar_subquery()))
    rows: list[LogRow] = []
    revisions: dict[str, _Revisions] = {}
    hidden: dict[str, frozenset[str]] = {}
    for event, instance in _events(session, query):
        if instance.id not in hidden:
            hidden[instance.id] = (frozenset() if c.viewer is None else confidentiality.hidden_names(
                session, services.models.get(session, instance.definition_id), instance.id, c.viewer))
        counted = revisions.setdefault(instance.id, _Revisions())
        for index, fields in enumerate(_details(event, counted, c.typed)):
            if fields.get("variableName", fields.get("fieldId")) in hidden[instance.id]:
                continue
            row = LogRow(f"{event.id}-{index}", event, instance, fields)
            if c.matches(row):
                rows.append(row)
    return rows


def details(services: Services, c: DetailFilter, page: Page) -> list[LogRow]:
    with services.db.read() as session:
        return _paged(_detail_rows(services, session, c), page)


def count_details(services: Services, c: DetailFilter) -> int:
    with services.db.read() as session:
        return len(_detail_rows(services, session, c))


def detail(services: Services, c: DetailFilter) -> LogRow:
    """One detail by its id (c.detail_id), for those who may read its case."""
    with services.db.read() as session:
        found = _detail_rows(services, session, c)
    if not found:
        raise NotFoundByQuery(f"Historic detail with Id '{c.detail_id}' does not exist.")
    return found[0]
