"""History queries: instances that ran, activities they went through, and their event record."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    case,
    cast,
    exists,
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
from app.cases.projections import ACTIVE, COMPLETED, RESTARTED_FROM, TERMINATED, waiting_at
from app.errors import NotFound
from app.persistence.models import (
    ActivityInstance,
    AdminEvent,
    HistoryEvent,
    Incident,
    JobLog,
    ProcessDefinition,
    ProcessInstance,
    StandaloneTask,
    UserTask,
)
from app.persistence.queries import (
    IncidentMatch,
    at_or_before,
    case_root,
    definitions_named,
    equal_ignoring_case,
    instant_bounds,
    later_than,
    like,
    related,
    sorted_by,
)

if TYPE_CHECKING:
    from app.context import Services


@dataclass
class InstanceFilter:
    process_instance_id: str | None = None
    process_instance_ids: list[str] = field(default_factory=list)
    business_key: str | None = None
    business_key_like: str | None = None
    definition_id: str | None = None
    definition_key: str | None = None
    definition_key_in: list[str] = field(default_factory=list)
    finished: bool = False
    unfinished: bool = False
    started_before: datetime | None = None
    started_after: datetime | None = None
    state: str | None = None
    # True: running and suspended only; False: running and active only (Camunda's suspended / active).
    suspended: bool | None = None
    sort_desc: dict[str, bool] = field(default_factory=dict)
    tenant_ids: list[str] = field(default_factory=list)
    # The instances one instance called / the instance that called one (call activities).
    super_instance: str | None = None
    sub_instance: str | None = None
    # Who asks: instances they may not read are left out (None: the service itself).
    viewer: Principal | None = None
    further: HistoricNarrowing | None = None


@dataclass(frozen=True)
class HistoricNarrowing:
    """Camunda's further historic process instance filters; each given must hold. An incident here is
    any the case had, open or ended, as in Camunda's history."""

    finished_before: datetime | None = None
    finished_after: datetime | None = None
    completed: bool = False
    externally_terminated: bool = False
    internally_terminated: bool = False
    started_by: str | None = None
    with_incidents: bool = False
    incident_status: str | None = None
    incident: IncidentMatch = IncidentMatch()
    definition_name: str | None = None
    definition_name_like: str | None = None
    business_keys: tuple[str, ...] = ()
    definition_keys_not: tuple[str, ...] = ()
    instance_ids_not: tuple[str, ...] = ()
    root_only: bool = False
    root_instance_id: str | None = None
    without_tenant: bool = False
    active_activity_ids: tuple[str, ...] = ()
    executed_activity_ids: tuple[str, ...] = ()
    with_jobs_retrying: bool = False
    activity_ids: tuple[str, ...] = ()
    # An activity started or ended in the bounds (both inclusive), a timer's job log written in them.
    executed_activity_after: datetime | None = None
    executed_activity_before: datetime | None = None
    executed_job_after: datetime | None = None
    executed_job_before: datetime | None = None


def _historic_narrowing(n: HistoricNarrowing) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if n.finished_before is not None:
        found.append(at_or_before(ProcessInstance.end_time, n.finished_before))
    if n.finished_after is not None:
        found.append(ProcessInstance.end_time >= n.finished_after)
    for wanted, status in ((n.completed, COMPLETED), (n.externally_terminated, TERMINATED)):
        if wanted:
            found.append(ProcessInstance.status == status)
    # No case ends internally terminated here, and no timer retries a failed firing as a job would.
    if n.internally_terminated or n.with_jobs_retrying:
        found.append(false())
    for value, column in ((n.started_by, ProcessInstance.start_user_id), (n.definition_name, ProcessDefinition.name),
                          (n.root_instance_id, case_root())):
        if value is not None:
            found.append(column == value)
    if n.definition_name_like is not None:
        found.append(like(ProcessDefinition.name, n.definition_name_like))
    for values, listed, inside in ((n.business_keys, ProcessInstance.business_key, True),
                                   (n.definition_keys_not, ProcessInstance.definition_key, False),
                                   (n.instance_ids_not, ProcessInstance.id, False)):
        if values:
            found.append(listed.in_(values) if inside else listed.not_in(values))
    if n.root_only:
        found.append(ProcessInstance.super_process_instance_id.is_(None))
    if n.without_tenant:
        found.append(ProcessInstance.tenant_id.is_(None))
    incident = [Incident.process_instance_id == ProcessInstance.id, *n.incident.conditions()]
    if n.incident_status == "open":
        incident.append(Incident.end_time.is_(None))
    elif n.incident_status == "resolved":  # as Camunda: any incident that ended, resolved or deleted
        incident.append(Incident.end_time.is_not(None))
    if n.with_incidents or len(incident) > 1:
        found.append(exists().where(*incident))
    for ids, running in ((n.active_activity_ids, True), (n.executed_activity_ids, False)):
        if ids:
            ended = ActivityInstance.end_time.is_(None) if running else ActivityInstance.end_time.is_not(None)
            found.append(exists().where(ActivityInstance.process_instance_id == ProcessInstance.id,
                                        ActivityInstance.activity_id.in_(ids), ended))
    if n.activity_ids:
        found.append(waiting_at(n.activity_ids))
    a = ActivityInstance
    executed = []
    if n.executed_activity_after is not None:
        executed.append(or_(a.start_time >= n.executed_activity_after, a.end_time >= n.executed_activity_after))
    if n.executed_activity_before is not None:
        executed.append(or_(at_or_before(a.start_time, n.executed_activity_before),
                            at_or_before(a.end_time, n.executed_activity_before)))
    if executed:
        found.append(exists().where(a.process_instance_id == ProcessInstance.id, *executed))
    logged = [JobLog.timestamp >= n.executed_job_after] if n.executed_job_after is not None else []
    if n.executed_job_before is not None:
        logged.append(at_or_before(JobLog.timestamp, n.executed_job_before))
    if logged:
        found.append(exists().where(JobLog.process_instance_id == ProcessInstance.id, *logged))
    return found


# Camunda's state of a running instance that is suspended; the row's status stays ACTIVE.
SUSPENDED_STATE = "SUSPENDED"

INSTANCE_SORT = {"instanceId": ProcessInstance.id, "definitionKey": ProcessInstance.definition_key,
                 "definitionId": ProcessInstance.definition_id, "businessKey": ProcessInstance.business_key,
                 "startTime": ProcessInstance.start_time, "endTime": ProcessInstance.end_time,
                 "definitionName": ProcessDefinition.name, "definitionVersion": ProcessDefinition.version,
                 "tenantId": ProcessInstance.tenant_id}


def _restarted_from() -> Any:
    """The ended case a case restarts, as its start event (its first) names it."""
    return (select(HistoryEvent.payload[RESTARTED_FROM].as_string())
            .where(HistoryEvent.process_instance_id == ProcessInstance.id, HistoryEvent.sequence == 1)
            .correlate(ProcessInstance).scalar_subquery())


def historic_instance_query(c: InstanceFilter) -> Select:
    """Rows of (instance, its definition, the ended case it restarts)."""
    query = permissions.only_visible(select(ProcessInstance, ProcessDefinition, _restarted_from()).join(
        ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id), ProcessInstance.id, c.viewer)
    state, suspended = c.state, c.suspended
    if state in (ACTIVE, SUSPENDED_STATE):
        state, suspended = ACTIVE, state == SUSPENDED_STATE
    if suspended is not None:
        query = query.where(ProcessInstance.status == ACTIVE, ProcessInstance.suspended.is_(suspended))
    for value, column in [(c.process_instance_id, ProcessInstance.id), (c.business_key, ProcessInstance.business_key),
                          (c.definition_id, ProcessInstance.definition_id),
                          (c.definition_key, ProcessInstance.definition_key), (state, ProcessInstance.status)]:
        if value is not None:
            query = query.where(column == value)
    if c.process_instance_ids:
        query = query.where(ProcessInstance.id.in_(c.process_instance_ids))
    query = related(query, super_instance=c.super_instance, sub_instance=c.sub_instance)
    if c.definition_key_in:
        query = query.where(ProcessInstance.definition_key.in_(c.definition_key_in))
    if c.tenant_ids:
        query = query.where(ProcessInstance.tenant_id.in_(c.tenant_ids))
    if c.business_key_like is not None:
        query = query.where(like(ProcessInstance.business_key, c.business_key_like))
    if c.finished:
        query = query.where(ProcessInstance.end_time.is_not(None))
    if c.unfinished:
        query = query.where(ProcessInstance.end_time.is_(None))
    # Camunda's history bounds take the instant given.
    if c.started_before is not None:
        query = query.where(at_or_before(ProcessInstance.start_time, c.started_before))
    if c.started_after is not None:
        query = query.where(ProcessInstance.start_time >= c.started_after)
    if c.further is not None:
        query = query.where(*_historic_narrowing(c.further))
    order = [sorted_by(INSTANCE_SORT[key], desc) for key, desc in c.sort_desc.items()]
    return query.order_by(*order, ProcessInstance.start_time, ProcessInstance.id)


@dataclass
class ActivityFilter:
    process_instance_id: str | None = None
    activity_id: str | None = None
    activity_type: str | None = None
    task_assignee: str | None = None
    finished: bool = False
    unfinished: bool = False
    canceled: bool = False
    sort_desc: dict[str, bool] = field(default_factory=dict)
    # The further criteria of the historic task query (a user task's activity instance is the task).
    activity_instance_id: str | None = None
    activity_ids: list[str] = field(default_factory=list)
    activity_name: str | None = None
    activity_name_like: str | None = None
    task_assignee_like: str | None = None
    assigned: bool = False
    unassigned: bool = False
    process_definition_id: str | None = None
    process_definition_key: str | None = None
    business_key: str | None = None
    process_finished: bool = False
    process_unfinished: bool = False
    tenant_ids: list[str] = field(default_factory=list)
    started_before: datetime | None = None
    started_after: datetime | None = None
    finished_before: datetime | None = None
    finished_after: datetime | None = None
    viewer: Principal | None = None
    # Of the historic task query: the case's business keys and definition name, the task's end.
    business_keys: list[str] = field(default_factory=list)
    business_key_like: str | None = None
    definition_name: str | None = None
    delete_reason: str | None = None
    delete_reason_like: str | None = None
    without_tenant: bool = False
    kept: KeptTaskFilter | None = None
    execution_id: str | None = None
    complete_scope: bool = False
    # Of the historic task query: a case task's activity instance is the task; no task has a parent here.
    activity_instance_ids: list[str] = field(default_factory=list)
    root_instance_id: str | None = None
    parent_task_id: str | None = None


ACTIVITY_SORT = {"activityInstanceId": ActivityInstance.id, "instanceId": ActivityInstance.process_instance_id,
                 "activityId": ActivityInstance.activity_id, "activityName": ActivityInstance.activity_name,
                 "activityType": ActivityInstance.activity_type, "startTime": ActivityInstance.start_time,
                 "endTime": ActivityInstance.end_time, "occurrence": ActivityInstance.sequence}


def activity_query(c: ActivityFilter) -> Select:
    a = ActivityInstance
    query = permissions.only_visible(select(a), a.process_instance_id, c.viewer)
    for value, column in [(c.process_instance_id, a.process_instance_id), (c.activity_id, a.activity_id),
                          (c.activity_type, a.activity_type), (c.task_assignee, a.assignee),
                          (c.activity_instance_id, a.id), (c.activity_name, a.activity_name),
                          (c.process_definition_id, a.process_definition_id),
                          (c.process_definition_key, a.process_definition_key),
                          # A case's one execution is the case (as executionId shows it).
                          (c.execution_id, a.process_instance_id)]:
        if value is not None:
            query = query.where(column == value)
    for values, column in [(c.activity_ids, a.activity_id), (c.tenant_ids, a.tenant_id)]:
        if values:
            query = query.where(column.in_(values))
    for pattern, column in [(c.activity_name_like, a.activity_name), (c.task_assignee_like, a.assignee)]:
        if pattern is not None:
            query = query.where(like(column, pattern))
    for wanted, condition in [(c.finished, a.end_time.is_not(None)), (c.unfinished, a.end_time.is_(None)),
                              (c.canceled, a.canceled.is_(True)), (c.assigned, a.assignee.is_not(None)),
                              (c.unassigned, a.assignee.is_(None)), (c.without_tenant, a.tenant_id.is_(None)),
                              (c.complete_scope, completed_scope(a))]:
        if wanted:
            query = query.where(condition)
    for instant, time_column, before in [(c.started_before, a.start_time, True),
                                         (c.started_after, a.start_time, False),
                                         (c.finished_before, a.end_time, True), (c.finished_after, a.end_time, False)]:
        if instant is not None:
            query = query.where(at_or_before(time_column, instant) if before else time_column >= instant)
    instances = select(ProcessInstance.id)
    for wanted, of_instance in [(c.business_key is not None, ProcessInstance.business_key == c.business_key),
                                (c.process_finished, ProcessInstance.end_time.is_not(None)),
                                (c.process_unfinished, ProcessInstance.end_time.is_(None)),
                                (bool(c.business_keys), ProcessInstance.business_key.in_(c.business_keys)),
                                (c.business_key_like is not None,
                                 like(ProcessInstance.business_key, c.business_key_like or ""))]:
        if wanted:
            query = query.where(a.process_instance_id.in_(instances.where(of_instance)))
    if c.definition_name is not None:
        query = query.where(a.process_definition_id.in_(definitions_named(c.definition_name)))
    order = [sorted_by(ACTIVITY_SORT[key], desc) for key, desc in c.sort_desc.items()]
    return query.order_by(*order, ActivityInstance.start_time, ActivityInstance.sequence)


def completed_scope(a: type[ActivityInstance]) -> ColumnElement[bool]:
    """Camunda's completeScope: an end event that ended its scope (the case or a subprocess)."""
    return a.end_time.is_not(None) & a.canceled.is_(False) & a.activity_type.like("%EndEvent")


# Camunda's historic task sort keys → the columns of historic_task_query's rows.
TASK_SORT = {"taskId": "id", "activityInstanceId": "id", "processDefinitionId": "process_definition_id",
             "processInstanceId": "process_instance_id", "executionId": "process_instance_id",
             "taskName": "activity_name", "taskDefinitionKey": "activity_id", "assignee": "assignee",
             "startTime": "start_time", "endTime": "end_time", "tenantId": "tenant_id",
             "taskDescription": "description", "owner": "owner", "dueDate": "due", "followUpDate": "follow_up",
             "priority": "priority", "deleteReason": "delete_reason"}


def _of_process_only(c: ActivityFilter) -> bool:
    """Whether the historic task query names something only a task of a process has."""
    return any([c.process_instance_id, c.business_key, c.process_definition_id, c.process_definition_key,
                c.activity_id, c.activity_ids, c.process_finished, c.process_unfinished, c.business_keys,
                c.business_key_like is not None, c.definition_name is not None])


def _standalone_history(c: ActivityFilter) -> Select:
    """The standalone tasks, open and ended, as rows of historic_task_query."""
    s = StandaloneTask
    query = select(s.id, null().label("process_instance_id"), null().label("process_definition_id"),
                   null().label("process_definition_key"), null().label("activity_id"), s.name.label("activity_name"),
                   s.assignee, s.owner, s.description, s.priority, s.due, s.follow_up, s.start_time, s.end_time,
                   s.delete_reason, s.tenant_id, literal(0).label("sequence"))
    readable = permissions.standalone_history_readable(c.viewer) if c.viewer is not None else None
    if readable is not None:
        query = query.where(readable)
    for value, column in [(c.activity_instance_id, s.id), (c.activity_name, s.name), (c.task_assignee, s.assignee)]:
        if value is not None:
            query = query.where(column == value)
    if c.tenant_ids:
        query = query.where(s.tenant_id.in_(c.tenant_ids))
    for pattern, column in [(c.activity_name_like, s.name), (c.task_assignee_like, s.assignee)]:
        if pattern is not None:
            query = query.where(like(column, pattern))
    for wanted, condition in [(c.finished, s.end_time.is_not(None)), (c.unfinished, s.end_time.is_(None)),
                              (c.canceled, s.delete_reason.is_not(None) & (s.delete_reason != "completed")),
                              (c.assigned, s.assignee.is_not(None)), (c.unassigned, s.assignee.is_(None))]:
        if wanted:
            query = query.where(condition)
    for instant, time_column, before in [(c.started_before, s.start_time, True), (c.started_after, s.start_time, False),
                                         (c.finished_before, s.end_time, True), (c.finished_after, s.end_time, False)]:
        if instant is not None:
            query = query.where(at_or_before(time_column, instant) if before else time_column >= instant)
    return query


def historic_task_query(c: ActivityFilter) -> Select:
    """Camunda's historic task query: the user tasks of cases (their activity instances) and, unless
    the query names a process, the standalone tasks. Each row has the columns render.historic_task reads."""
    a = ActivityInstance
    reason = case((a.end_time.is_(None), null()), (a.canceled.is_(True), literal("deleted")),
                  else_=literal("completed"))
    # An open task's values are its row's (kept current by each update); an ended one's were copied
    # to its activity instance when it ended.
    u = UserTask
    of_cases = activity_query(replace(c, sort_desc={})).order_by(None).outerjoin(u, u.id == a.id).with_only_columns(
        a.id, a.process_instance_id, a.process_definition_id, a.process_definition_key, a.activity_id,
        a.activity_name, a.assignee, func.coalesce(u.owner, a.owner).label("owner"),
        func.coalesce(u.description, a.description).label("description"),
        func.coalesce(u.priority, a.priority, literal(50, Integer)).label("priority"),
        func.coalesce(u.due, a.due).label("due"), func.coalesce(u.follow_up, a.follow_up).label("follow_up"),
        a.start_time, a.end_time, reason.label("delete_reason"), a.tenant_id, a.sequence)
    if _of_process_only(c):
        rows = of_cases.subquery()
    else:
        rows = union_all(of_cases, _standalone_history(c)).subquery()
    order = [sorted_by(rows.c[TASK_SORT[key]], desc)
             for key, desc in c.sort_desc.items()]
    query = select(rows).order_by(*order, rows.c.start_time, rows.c.sequence, rows.c.id)
    if c.delete_reason is not None:
        query = query.where(rows.c.delete_reason == c.delete_reason)
    if c.delete_reason_like is not None:
        query = query.where(like(rows.c.delete_reason, c.delete_reason_like))
    if c.without_tenant:
        query = query.where(rows.c.tenant_id.is_(None))
    if c.activity_instance_ids:
        query = query.where(rows.c.id.in_(c.activity_instance_ids), rows.c.process_instance_id.is_not(None))
    if c.root_instance_id is not None:
        query = query.where(rows.c.process_instance_id.in_(select(ProcessInstance.id).where(
            case_root() == c.root_instance_id)))
    if c.parent_task_id is not None:
        query = query.where(false())
    return query.where(*c.kept.conditions(rows.c)) if c.kept is not None else query


@dataclass(frozen=True)
class KeptTaskFilter:
    """Camunda's historic task filters on what a task's history keeps of it: owner, description,
    priority, due and follow-up date (dates before and after exclusive, as Camunda compares them)."""
    owner: str | None = None
    owner_like: str | None = None
    description: str | None = None
    description_like: str | None = None
    priority: int | None = None
    due: datetime | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    without_due: bool = False
    follow_up: datetime | None = None
    follow_up_before: datetime | None = None
    follow_up_after: datetime | None = None

    def conditions(self, rows: Any) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.owner is not None:
            found.append(rows.owner == self.owner)
        if self.owner_like is not None:
            found.append(like(rows.owner, self.owner_like))
        # Descriptions compare in upper case, as Camunda's.
        if self.description is not None:
            found.append(equal_ignoring_case(rows.description, self.description))
        if self.description_like is not None:
            found.append(like(rows.description, self.description_like, ignore_case=True))
        if self.priority is not None:
            found.append(rows.priority == self.priority)
        found += instant_bounds(rows.due, self.due, self.due_before, self.due_after)
        found += instant_bounds(rows.follow_up, self.follow_up, self.follow_up_before, self.follow_up_after)
        if self.without_due:
            found.append(rows.due.is_(None))
        return found


def historic_instance(session: Session, instance_id: str) -> tuple[ProcessInstance, ProcessDefinition, str | None]:
    row = session.execute(historic_instance_query(InstanceFilter(process_instance_id=instance_id))).first()
    if row is None:
        raise NotFound(f"Historic process instance with id {instance_id} does not exist")
    return row[0], row[1], row[2]


# Camunda's user operation log, read from the history: the commands people and systems gave.
@dataclass(frozen=True)
class LoggedOperation:
    entity_type: str
    operation_type: str
    category: str
    # The property Camunda names, and the payload fields holding its new and its former value.
    property: str | None = None
    new_value: str | None = None
    org_value: str | None = None


def _operation(entity: str, operation: str, category: str, field: str | None = None) -> LoggedOperation:
    return LoggedOperation(entity, operation, category, field, field)


# history kind → the entry it is in Camunda's log
USER_OPERATIONS = {
    "process.started": _operation("ProcessInstance", "Create", "Operator"),
    "process.deleted": _operation("ProcessInstance", "Delete", "Operator", "reason"),
    "process.modified": _operation("ProcessInstance", "ModifyProcessInstance", "Operator"),
    "instance.migrated": _operation("ProcessInstance", "Migrate", "Operator"),
    "process.suspended": _operation("ProcessInstance", "Suspend", "Operator", "suspensionState"),
    "process.activated": _operation("ProcessInstance", "Activate", "Operator", "suspensionState"),
    "variables.modified": _operation("Variable", "ModifyVariable", "Operator"),
    "task.localVariablesModified": _operation("Variable", "ModifyVariable", "TaskWorker"),
    "task.claimed": _operation("Task", "Claim", "TaskWorker", "assignee"),
    "task.unclaimed": _operation("Task", "Claim", "TaskWorker", "assignee"),
    "task.assigned": _operation("Task", "Assign", "TaskWorker", "assignee"),
    "task.completed": _operation("Task", "Complete", "TaskWorker"),
    # A standalone task's, in the administrative history.
    "task.created": _operation("Task", "Create", "TaskWorker"),
    "task.deleted": _operation("Task", "Delete", "TaskWorker", "reason"),
    "task.delegated": _operation("Task", "Delegate", "TaskWorker", "assignee"),
    "task.resolved": _operation("Task", "Resolve", "TaskWorker", "assignee"),
    "task.updated": _operation("Task", "Update", "TaskWorker"),
    "task.ownerSet": _operation("Task", "SetOwner", "TaskWorker", "owner"),
    "task.candidateUserAdded": _operation("IdentityLink", "AddUserLink", "TaskWorker", "user"),
    "task.candidateUserRemoved": _operation("IdentityLink", "DeleteUserLink", "TaskWorker", "user"),
    "task.candidateGroupAdded": _operation("IdentityLink", "AddGroupLink", "TaskWorker", "group"),
    "task.candidateGroupRemoved": _operation("IdentityLink", "DeleteGroupLink", "TaskWorker", "group"),
    # As Camunda logs them: an edit with the text before and after, a deletion with neither, an
    # attachment by its name. (Writing a comment is no entry of Camunda's log.)
    "task.commentUpdated": LoggedOperation("Comment", "UpdateComment", "TaskWorker", "comment", "message",
                                           "previousMessage"),
    "task.commentDeleted": LoggedOperation("Comment", "DeleteComment", "TaskWorker", "comment"),
    "task.attachmentAdded": LoggedOperation("Attachment", "AddAttachment", "TaskWorker", "name", "fileName"),
    "task.attachmentDeleted": LoggedOperation("Attachment", "DeleteAttachment", "TaskWorker", "name", "fileName"),
}
OPERATION_SORT = {"timestamp": HistoryEvent.occurred_at}


@dataclass
class OperationFilter:
    process_instance_id: str | None = None
    task_id: str | None = None
    user_id: str | None = None
    operation_type: str | None = None
    entity_type: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    viewer: Principal | None = None
    sort_desc: dict[str, bool] = field(default_factory=dict)
    # Camunda's further filters: of the entry (its kind, category, property, id) and of its case.
    entity_types: list[str] = field(default_factory=list)
    category: str | None = None
    categories: list[str] = field(default_factory=list)
    property: str | None = None
    operation_id: str | None = None
    definition_id: str | None = None
    definition_key: str | None = None
    execution_id: str | None = None
    # A deployment, job, job definition or external task named: no entry here names one.
    nothing: bool = False

    def logs(self, logged: LoggedOperation) -> bool:
        """Whether entries of this kind of operation can match."""
        return (self.operation_type in (None, logged.operation_type) and self.entity_type in (None, logged.entity_type)
                and (not self.entity_types or logged.entity_type in self.entity_types)
                and self.category in (None, logged.category)
                and (not self.categories or logged.category in self.categories)
                and self.property in (None, logged.property))


# The administrative event that sets (or, with a null annotation, clears) an entry's annotation: the
# chained entry itself is never changed (app.cases.operation_annotations).
OPERATION_ANNOTATED = "userOperation.annotated"


def operation_subject(operation_id: str) -> str:
    return f"user-operation:{operation_id}"


def _annotation() -> Any:
    """The payload of the entry's latest annotation event, if any."""
    subject = (literal(operation_subject("")) + HistoryEvent.process_instance_id + ":"
               + cast(HistoryEvent.sequence, String))
    return (select(AdminEvent.payload).where(AdminEvent.subject == subject, AdminEvent.kind == OPERATION_ANNOTATED)
            .order_by(AdminEvent.id.desc()).limit(1).scalar_subquery())


def _standalone_operations(c: OperationFilter, kinds: list[str]) -> Select:
    """The commands on standalone tasks, from the administrative history (subject `task:{id}`), as
    rows of user_operation_query."""
    task_id = func.substr(AdminEvent.subject, len("task:") + 1)
    s = StandaloneTask
    query = (select(cast(AdminEvent.id, String).label("id"), AdminEvent.kind, AdminEvent.payload, AdminEvent.user_id,
                    AdminEvent.occurred_at, task_id.label("task_id"), null().label("process_instance_id"),
                    null().label("definition_id"), null().label("definition_key"), s.tenant_id,
                    AdminEvent.id.label("sequence"), literal(1).label("source"), AdminEvent.id.label("written"),
                    null().label("annotated"))
             .join(s, s.id == task_id)
             .where(AdminEvent.subject.startswith("task:"), AdminEvent.kind.in_(kinds)))
    readable = permissions.standalone_history_readable(c.viewer) if c.viewer is not None else None
    if readable is not None:
        query = query.where(readable)
    for value, column in [(c.task_id, s.id), (c.user_id, AdminEvent.user_id)]:
        if value is not None:
            query = query.where(column == value)
    for instant, after in [(c.after, True), (c.before, False)]:
        if instant is not None:
            query = query.where(AdminEvent.occurred_at > instant if after else AdminEvent.occurred_at < instant)
    return query


def user_operation_query(c: OperationFilter) -> Select:
    """Camunda's user operation log: the commands recorded in the cases' histories and, unless the
    query names an instance, those on standalone tasks."""
    kinds = [kind for kind, logged in USER_OPERATIONS.items() if c.logs(logged)]
    e, i = HistoryEvent, ProcessInstance
    query = (select(cast(e.id, String).label("id"), e.kind, e.payload, e.user_id, e.occurred_at, e.task_id,
                    e.process_instance_id, i.definition_id, i.definition_key, i.tenant_id, e.sequence,
                    literal(0).label("source"), e.id.label("written"), _annotation().label("annotated"))
             .join(i, i.id == e.process_instance_id)
             .where(e.kind.in_(kinds), e.user_id.is_not(None)))
    query = permissions.only_visible(query, e.process_instance_id, c.viewer)
    for value, column in [(c.process_instance_id, e.process_instance_id), (c.task_id, e.task_id),
                          (c.user_id, e.user_id)]:
        if value is not None:
            query = query.where(column == value)
    if c.after is not None:
        query = query.where(later_than(e.occurred_at, c.after))
    if c.before is not None:
        query = query.where(e.occurred_at < c.before)
    of_case_only = any(value is not None for value in (c.process_instance_id, c.definition_id, c.definition_key,
                                                          c.execution_id))
    rows = (query if of_case_only else union_all(query, _standalone_operations(c, kinds))).subquery()
    found = select(rows).where(*_operation_conditions(c, rows))
    # Sorted by time (Camunda's only key), events of one instant in the order they were written.
    order = (rows.c.occurred_at, rows.c.source, rows.c.written)
    if c.sort_desc.get("timestamp"):
        return found.order_by(*(column.desc() for column in order))
    return found.order_by(*order)


def _operation_conditions(c: OperationFilter, rows: Any) -> list[ColumnElement[bool]]:
    """The further filters on the entries' rows; an entry's id is its case and its place in the case's
    history (`admin:` and its place in the administrative history for a standalone task's)."""
    found: list[ColumnElement[bool]] = []
    for value, column in ((c.definition_id, rows.c.definition_id), (c.definition_key, rows.c.definition_key),
                          (c.execution_id, rows.c.process_instance_id)):
        if value is not None:
            found.append(column == value)
    if c.operation_id is not None:
        owner, _, place = c.operation_id.rpartition(":")
        if not place.isdigit() or len(place) > 18 or not owner:
            found.append(false())
        elif owner == "admin":
            found.extend([rows.c.source == 1, rows.c.sequence == int(place)])
        else:
            found.extend([rows.c.process_instance_id == owner, rows.c.sequence == int(place)])
    if c.nothing:
        found.append(false())
    return found


def readable_historic_instance(services: Services, instance_id: str, viewer: Principal
                               ) -> tuple[ProcessInstance, ProcessDefinition, str | None]:
    """An instance in any state, its definition and the ended case it restarts, for those who may
    read it (403 for others)."""
    with services.db.read() as session:
        found = historic_instance(session, instance_id)
        permissions.require_instance_read(session, viewer, found[0].id)
        return found


def readable_activity(services: Services, activity_instance_id: str, viewer: Principal) -> ActivityInstance:
    """One activity instance of a case in any state, for those who may read the case (403 for others)."""
    with services.db.read() as session:
        row = session.get(ActivityInstance, activity_instance_id)
        if row is None:
            raise NotFound(f"Historic activity instance with id {activity_instance_id} does not exist")
        permissions.require_instance_read(session, viewer, row.process_instance_id,
                                          "ProcessInstance", row.process_instance_id)
        return row
