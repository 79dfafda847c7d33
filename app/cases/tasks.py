"""User tasks: queries on the projected task rows, and the commands officials use.

A task of a case changes in its case's unit of work and history. A standalone task (POST
/task/create, of no process) has no case: its row is locked for each command, its own record
(StandaloneTask) keeps its creator, region, variables and history, and its commands are recorded
in the administrative history."""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Exists, Select, and_, delete, exists, false, func, not_, or_, select, update
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.cases.binary_variables import with_bytes
from app.cases.instances import (
    MAX_THROWN_CODE,
    MAX_THROWN_MESSAGE,
    add_participants,
    get_active_instance,
    instance_of_open_work,
    jsonable,
    load_run,
    read_run,
    record,
    refuse_long_thrown,
    refuse_reserved_keys,
    save_run,
)
from app.cases.listing import Keep
from app.cases.suspension import refuse_if_suspended
from app.cases.variable_instances import VariableConditions
from app.context import Services
from app.definitions.deployments import get_definition, refuse_deployed_form
from app.engine import FormField, ProcessRun, StepResult, validate_submission
from app.errors import Conflict, Forbidden, InvalidRequest, NotFound, TaskAlreadyClaimed
from app.extensions import confidentiality
from app.persistence.models import (
    ActivityInstance,
    Membership,
    ProcessInstance,
    StandaloneTask,
    TaskCandidate,
    UserTask,
)
from app.persistence.queries import (
    definitions_named,
    equal_ignoring_case,
    instant_bounds,
    later_than,
    like,
    sorted_by,
)

PENDING, RESOLVED = "PENDING", "RESOLVED"
SORTABLE = {
    "id": UserTask.id, "name": UserTask.name, "assignee": UserTask.assignee, "created": UserTask.created,
    "dueDate": UserTask.due, "followUpDate": UserTask.follow_up, "priority": UserTask.priority,
    "processInstanceId": UserTask.process_instance_id, "processDefinitionId": UserTask.process_definition_id,
    "taskDefinitionKey": UserTask.task_definition_key, "lastUpdated": UserTask.last_updated,
    "instanceId": UserTask.process_instance_id, "executionId": UserTask.process_instance_id,
    "description": UserTask.description, "tenantId": UserTask.tenant_id,
    "nameCaseInsensitive": func.lower(UserTask.name),
}


@dataclass
class TaskFilter:
    """The task query, as Camunda's `GET/POST /task` takes it."""

    task_id: str | None = None
    task_id_in: list[str] = field(default_factory=list)
    # A task of a case is its own activity instance (a standalone task has none).
    activity_instance_id_in: list[str] = field(default_factory=list)
    process_instance_id: str | None = None
    process_instance_id_in: list[str] = field(default_factory=list)
    process_definition_id: str | None = None
    process_definition_key: str | None = None
    process_definition_key_in: list[str] = field(default_factory=list)
    business_key: str | None = None
    business_key_like: str | None = None
    task_definition_key: str | None = None
    task_definition_key_in: list[str] = field(default_factory=list)
    name: str | None = None
    name_like: str | None = None
    assignee: str | None = None
    owner: str | None = None
    delegation_state: str | None = None
    assignee_in: list[str] = field(default_factory=list)
    assigned: bool = False
    unassigned: bool = False
    candidate_group: str | None = None
    candidate_groups: list[str] = field(default_factory=list)
    candidate_user: str | None = None
    include_assigned_tasks: bool = False
    due_before: datetime | None = None
    due_after: datetime | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    tenant_id_in: list[str] = field(default_factory=list)
    # Camunda's further filters; a task's executionId is its case's id, as the service shows it.
    execution_id: str | None = None
    business_key_in: list[str] = field(default_factory=list)
    definition_name: str | None = None
    definition_name_like: str | None = None
    task_definition_key_like: str | None = None
    task_definition_key_not_in: list[str] = field(default_factory=list)
    name_not_equal: str | None = None
    name_not_like: str | None = None
    description: str | None = None
    description_like: str | None = None
    assignee_like: str | None = None
    assignee_not_in: list[str] = field(default_factory=list)
    involved_user: str | None = None
    candidate_group_like: str | None = None
    with_candidate_groups: bool = False
    without_candidate_groups: bool = False
    with_candidate_users: bool = False
    without_candidate_users: bool = False
    priority: int | None = None
    min_priority: int | None = None
    max_priority: int | None = None
    due_date: datetime | None = None
    without_due_date: bool = False
    follow_up_date: datetime | None = None
    follow_up_before: datetime | None = None
    follow_up_after: datetime | None = None
    follow_up_before_or_none: datetime | None = None
    created_on: datetime | None = None
    updated_after: datetime | None = None
    without_tenant_id: bool = False
    # A parent task named: the service's tasks have none.
    parent_task_id: str | None = None
    # True: tasks of suspended instances only; False: of active ones only; None: both.
    suspended: bool | None = None
    sorting: list[tuple[str, str]] = field(default_factory=list)
    # Who asks: tasks of instances they may not read are left out (None: the service itself).
    viewer: Principal | None = None


def _candidate(kind: str, identities: list[str]) -> Exists:
    return exists().where(TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == kind,
                          TaskCandidate.identity.in_(identities))


def _offered_to_viewer(viewer: Principal | None, groups: list[str], user: str | None, group_like: str | None) -> bool:
    """Whether the candidate filter keeps only tasks offered to the viewer: as the viewer's candidate
    user, or to groups all of which the viewer is a member of (and no pattern that may name others)."""
    if viewer is None or group_like is not None or (user is not None and user != viewer.user_id):
        return False
    if groups and not set(groups) <= viewer.groups:
        return False
    return user is not None or bool(groups)


def _candidate_groups(c: TaskFilter, either: bool) -> list[str]:
    """The groups a candidate query names: candidateGroup and candidateGroups together narrow to the
    groups in both, as in Camunda; in an or-query, either counts."""
    if c.candidate_group and c.candidate_groups:
        if either:
            return list(dict.fromkeys([*c.candidate_groups, c.candidate_group]))
        return [group for group in c.candidate_groups if group == c.candidate_group]
    return [c.candidate_group] if c.candidate_group else list(c.candidate_groups)


def _offered(c: TaskFilter, groups: list[str]) -> ColumnElement[bool]:
    """As Camunda's candidate filter: one candidate row of the task is the user, one of the groups the
    user is a member of, one of the groups named, or a group like the pattern."""
    identities: list[ColumnElement[bool]] = []
    if c.candidate_user is not None:
        identities.append(and_(TaskCandidate.kind == "user", TaskCandidate.identity == c.candidate_user))
        own: Any = (sorted(c.viewer.groups) if c.viewer is not None and c.viewer.user_id == c.candidate_user
                    else select(Membership.group_id).where(Membership.account_id == c.candidate_user))
        identities.append(and_(TaskCandidate.kind == "group", TaskCandidate.identity.in_(own)))
    if groups:
        identities.append(and_(TaskCandidate.kind == "group", TaskCandidate.identity.in_(groups)))
    if c.candidate_group_like is not None:
        identities.append(and_(TaskCandidate.kind == "group", like(TaskCandidate.identity, c.candidate_group_like)))
    if not identities:  # candidateGroup and candidateGroups name no group in common
        return false()
    return exists().where(TaskCandidate.task_id == UserTask.id, or_(*identities))


def task_query(criteria: TaskFilter) -> Select:
    c = criteria
    # A task offered to the viewer is of a case the viewer takes part in: its candidates are among its
    # instance's participants (app.cases.instances writes them together; revision 0014 added those of
    # tasks opened before). The candidate rows alone then decide, and the case-reading filter, which
    # would check every one of them again, is left out.
    offered = _offered_to_viewer(c.viewer, _candidate_groups(c, False), c.candidate_user, c.candidate_group_like)
    query = permissions.only_visible_tasks(select(UserTask), None if offered else c.viewer)
    query = query.where(*_predicates(c, either=False))
    order = [sorted_by(SORTABLE[key], direction == "desc") for key, direction in c.sorting]
    return query.order_by(*order, UserTask.created, UserTask.id)


def meeting_any(criteria: TaskFilter) -> list[Select]:
    """One of Camunda's or-queries: the query of the tasks meeting at least one of the filters it gives,
    as its task query writes them in an or-query (none, when it gives none; app.cases.listing)."""
    found = _predicates(criteria, either=True)
    return [select(UserTask.id).where(or_(*found))] if found else []


def _any_candidate(kind: str) -> Exists:
    return exists().where(TaskCandidate.task_id == UserTask.id, TaskCandidate.kind == kind)


def _predicates(c: TaskFilter, either: bool) -> list[ColumnElement[bool]]:
    """The conditions of the task filters given, one for each, as Camunda's task query writes them:
    all must hold, or in an or-query (`either`) one."""
    found: list[ColumnElement[bool]] = []
    equal = [(c.task_id, UserTask.id), (c.process_instance_id, UserTask.process_instance_id),
             (c.process_definition_id, UserTask.process_definition_id),
             (c.process_definition_key, UserTask.process_definition_key), (c.business_key, UserTask.business_key),
             (c.task_definition_key, UserTask.task_definition_key),
             (c.assignee, UserTask.assignee), (c.owner, UserTask.owner),
             (c.delegation_state, UserTask.delegation_state), (c.suspended, UserTask.suspended),
             (c.execution_id, UserTask.process_instance_id), (c.priority, UserTask.priority)]
    found += [column == value for value, column in equal if value is not None]
    within = [(c.task_id_in, UserTask.id), (c.process_instance_id_in, UserTask.process_instance_id),
              (c.process_definition_key_in, UserTask.process_definition_key),
              (c.task_definition_key_in, UserTask.task_definition_key), (c.assignee_in, UserTask.assignee),
              (c.tenant_id_in, UserTask.tenant_id), (c.business_key_in, UserTask.business_key)]
    found += [column.in_(values) for values, column in within if values]
    if c.activity_instance_id_in:
        found.append(and_(UserTask.id.in_(c.activity_instance_id_in), UserTask.process_instance_id.is_not(None)))
    # Camunda compares a task's name and description in upper case.
    for value, column in ((c.name, UserTask.name), (c.description, UserTask.description)):
        if value is not None:
            found.append(equal_ignoring_case(column, value))
    for pattern, column in ((c.name_like, UserTask.name), (c.description_like, UserTask.description)):
        if pattern is not None:
            found.append(like(column, pattern, ignore_case=True))
    for pattern, column in ((c.business_key_like, UserTask.business_key),
                            (c.task_definition_key_like, UserTask.task_definition_key),
                            (c.assignee_like, UserTask.assignee)):
        if pattern is not None:
            found.append(like(column, pattern))
    if c.assigned:
        found.append(UserTask.assignee.is_not(None))
    if c.unassigned:
        found.append(UserTask.assignee.is_(None))
    found += _candidate_predicates(c, either)
    # One condition for each instant's bounds, whose parts an or-query joins with `or` too.
    for instant, at, before, after in ((UserTask.due, c.due_date, c.due_before, c.due_after),
                                       (UserTask.follow_up, c.follow_up_date, c.follow_up_before, c.follow_up_after),
                                       (UserTask.created, c.created_on, c.created_before, c.created_after)):
        bounds = instant_bounds(instant, at, before, after)
        if bounds:
            found.append(or_(*bounds) if either else and_(*bounds))
    found += _further(c)
    return found


def _candidate_predicates(c: TaskFilter, either: bool) -> list[ColumnElement[bool]]:
    """The candidate filters: as in Camunda, a candidate query shows the tasks still to be claimed
    unless includeAssignedTasks."""
    found: list[ColumnElement[bool]] = []
    unclaimed = [] if c.include_assigned_tasks else [UserTask.assignee.is_(None)]
    groups = _candidate_groups(c, either)
    if c.candidate_group or c.candidate_groups or c.candidate_user is not None or c.candidate_group_like is not None:
        found.append(and_(*unclaimed, _offered(c, groups)))
    elif c.with_candidate_groups or c.with_candidate_users or c.without_candidate_groups or c.without_candidate_users:
        found += unclaimed
    if c.involved_user is not None:
        found.append(or_(UserTask.assignee == c.involved_user, UserTask.owner == c.involved_user,
                         _candidate("user", [c.involved_user])))
    for wanted, kind in ((c.with_candidate_groups, "group"), (c.with_candidate_users, "user")):
        if wanted:
            found.append(_any_candidate(kind))
    for unwanted, kind in ((c.without_candidate_groups, "group"), (c.without_candidate_users, "user")):
        if unwanted:
            found.append(not_(_any_candidate(kind)))
    return found


def _further(c: TaskFilter) -> list[ColumnElement[bool]]:
    """The conditions of Camunda's further task filters, as its task query applies them."""
    found: list[ColumnElement[bool]] = []
    if c.name_not_equal is not None:
        found.append(not_(equal_ignoring_case(UserTask.name, c.name_not_equal)))
    if c.name_not_like is not None:
        found.append(not_(like(UserTask.name, c.name_not_like, ignore_case=True)))
    if c.task_definition_key_not_in:
        found.append(UserTask.task_definition_key.not_in(c.task_definition_key_not_in))
    if c.assignee_not_in:
        found.append(UserTask.assignee.not_in(c.assignee_not_in))
    if c.definition_name is not None or c.definition_name_like is not None:
        found.append(UserTask.process_definition_id.in_(definitions_named(c.definition_name, c.definition_name_like)))
    if c.min_priority is not None:
        found.append(UserTask.priority >= c.min_priority)
    if c.max_priority is not None:
        found.append(UserTask.priority <= c.max_priority)
    if c.without_due_date:
        found.append(UserTask.due.is_(None))
    if c.follow_up_before_or_none is not None:
        found.append(or_(UserTask.follow_up.is_(None), UserTask.follow_up < c.follow_up_before_or_none))
    if c.updated_after is not None:
        # As Camunda: a task never updated counts from its creation.
        found.append(or_(later_than(UserTask.last_updated, c.updated_after),
                         and_(UserTask.last_updated.is_(None), later_than(UserTask.created, c.updated_after))))
    if c.without_tenant_id:
        found.append(UserTask.tenant_id.is_(None))
    if c.parent_task_id is not None:
        found.append(false())
    return found


def candidates(session: Session, task_ids: list[str]) -> dict[str, list[TaskCandidate]]:
    result: dict[str, list[TaskCandidate]] = {task_id: [] for task_id in task_ids}
    if task_ids:
        for row in session.scalars(select(TaskCandidate).where(TaskCandidate.task_id.in_(task_ids))):
            result[row.task_id].append(row)
    return result


def _missing_task(session: Session, task_id: str) -> Exception:
    ended = session.scalars(select(ActivityInstance).where(ActivityInstance.task_id == task_id)).first() \
        or session.get(StandaloneTask, task_id)
    if ended is not None and ended.end_time is not None:
        return Conflict(f"Task '{task_id}' was already completed or canceled; nothing was changed")
    return NotFound(f"No task found with id '{task_id}'")


def get_task(session: Session, task_id: str) -> UserTask:
    task = session.get(UserTask, task_id)
    if task is None:
        raise _missing_task(session, task_id)
    return task


def open_task(session: Session, task_id: str) -> UserTask:
    """An open task; a completed one is gone from the runtime, as in Camunda (404, which clients read
    as "done"), while commands on it answer 409 (see get_task)."""
    task = session.get(UserTask, task_id)
    if task is None:
        raise NotFound(f"No matching task with id {task_id}")
    return task


def _locked_standalone(session: Session, task_id: str) -> UserTask:
    """A standalone task's row, locked for the command: with no case revision to guard it, two
    commands on it (two claims, a completion and a deletion) take their turns instead of both
    passing their checks."""
    task = session.scalar(select(UserTask).where(UserTask.id == task_id).with_for_update()
                          .execution_options(populate_existing=True))
    if task is None:
        raise _missing_task(session, task_id)
    return task


def _commanded_task(session: Session, task_id: str, actor: Principal, *, while_suspended: bool = False
                    ) -> tuple[UserTask, ProcessInstance | None]:
    """An open task and its instance, for a command by whoever may work the task. A suspended
    instance's tasks are not handed on (Camunda's SuspendedEntityInteractionException) unless the
    command is `while_suspended` (their data and variables may still change).

    The instance's revision guards the command, as it guards a completion: it is read before the
    task's row, so that a command committed in between fails the revision check (409) at commit
    instead of being overwritten."""
    task = get_task(session, task_id)
    if task.process_instance_id is None:  # a standalone task: no case, nothing suspends it
        task = _locked_standalone(session, task_id)
        permissions.require_task_work(session, actor, task)
        return task, None
    instance = session.get_one(ProcessInstance, task.process_instance_id)
    session.refresh(task)
    permissions.require_task_work(session, actor, task)
    if not while_suspended:
        refuse_if_suspended(instance)
    return task, instance


def optional_text(value: Any, what: str, longest: int = 4000) -> str | None:
    """A free text a command may carry (a reason, a note, a message): bounded, empty as none."""
    if value is not None and (not isinstance(value, str) or len(value) > longest):
        raise InvalidRequest(f"'{what}' must be a text of at most {longest} characters")
    return value or None


# What a standalone task's record keeps of its row, for its history.
_KEPT = frozenset({"name", "description", "assignee", "owner", "priority", "due", "follow_up"})


def _change(session: Session, task: UserTask, now: datetime, **values: Any) -> None:
    session.execute(update(UserTask).where(UserTask.id == task.id).values(last_updated=now, **values))
    if task.process_instance_id is None:
        kept = {key: value for key, value in values.items() if key in _KEPT}
        if kept:
            session.execute(update(StandaloneTask).where(StandaloneTask.id == task.id).values(**kept))
    elif "assignee" in values:
        session.execute(update(ActivityInstance).where(ActivityInstance.id == task.id)
                        .values(assignee=values["assignee"]))


def standalone_subject(task_id: str) -> str:
    """The administrative history's subject of a standalone task's events."""
    return f"task:{task_id}"


def _record(session: Session, task: UserTask, instance: ProcessInstance | None, kind: str, at: datetime,
            actor: Principal, **payload: Any) -> None:
    """A command on a task, in its case's history, or, for a standalone task (no case), in the
    administrative history."""
    if instance is None:
        ledger.record_admin(session, kind, standalone_subject(task.id), at, actor.user_id, task_id=task.id, **payload)
    else:
        record(session, instance, kind, at, user_id=actor.user_id, activity_id=task.task_definition_key,
               task_id=task.id, **payload)


def _join(session: Session, instance: ProcessInstance | None, identities: set[tuple[str, str]]) -> None:
    """Those a task is handed or offered to read its case (a standalone task: the task itself)."""
    if instance is not None:
        add_participants(session, instance, identities)


def _set_assignee(services: Services, task_id: str, assignee: str | None, *, actor: Principal,
                  kind: str, only_if_free: bool, reason: str | None = None) -> None:
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor)
        if only_if_free and task.assignee not in (None, assignee):
            raise TaskAlreadyClaimed(f"Task '{task_id}' is already claimed by someone else.")
        now = services.clock.now()
        _change(session, task, now, assignee=assignee)
        if assignee:  # whoever works a task reads its case
            _join(session, instance, {("user", assignee)})
        extra = {"reason": reason} if reason else {}
        _record(session, task, instance, kind, now, actor, assignee=assignee, groups=sorted(actor.groups), **extra)


def claim(services: Services, task_id: str, user_id: str, *, actor: Principal) -> None:
    _set_assignee(services, task_id, user_id, actor=actor, kind="task.claimed", only_if_free=True)


def unclaim(services: Services, task_id: str, *, actor: Principal) -> None:
    _set_assignee(services, task_id, None, actor=actor, kind="task.unclaimed", only_if_free=False)


def set_assignee(services: Services, task_id: str, user_id: str | None, *, actor: Principal,
                 reason: Any = None) -> None:
    """Hand the task to someone else (转办), with the reason recorded if one is given."""
    _set_assignee(services, task_id, user_id, actor=actor, kind="task.assigned", only_if_free=False,
                  reason=optional_text(reason, "reason"))


def delegate(services: Services, task_id: str, user_id: str, *, actor: Principal, reason: Any = None) -> None:
    """委派, as Camunda delegates: the delegate becomes the assignee and the task waits (PENDING) for
    them to resolve it, when it goes back to its owner (the assignee before, unless an owner was set)."""
    why = optional_text(reason, "reason")
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor)
        owner = task.owner or task.assignee
        now = services.clock.now()
        _change(session, task, now, assignee=user_id, owner=owner, delegation_state=PENDING)
        _join(session, instance, {("user", user_id)})
        _record(session, task, instance, "task.delegated", now, actor, assignee=user_id, owner=owner, reason=why)


def resolve(services: Services, task_id: str, variables: Mapping[str, Any], *, actor: Principal) -> None:
    """The delegate gives the task back to its owner, with the variables they set."""
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor)
        if task.delegation_state != PENDING:
            raise InvalidRequest(f"Task '{task_id}' is not delegated: only a delegated task is resolved")
        now = services.clock.now()
        _change(session, task, now, assignee=task.owner, delegation_state=RESOLVED)
        _record(session, task, instance, "task.resolved", now, actor, assignee=task.owner)
        if variables and instance is None:
            _set_own_variables(services, session, task, variables, (), now, actor)
        elif variables and instance is not None:
            _set_variables(services, session, instance, variables, (), actor)


def modify_task_variables(services: Services, task_id: str, *, modifications: Mapping[str, Any],
                          deletions: Iterable[str], actor: Principal) -> None:
    """Whoever works a task sets the case's variables through it, as Camunda sets a task's variables
    on the scope of its execution: here, the case."""
    refuse_reserved_keys(modifications)
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor, while_suspended=True)
        if instance is None:
            _set_own_variables(services, session, task, modifications, tuple(deletions), services.clock.now(), actor)
            return
        _set_variables(services, session, instance_of_open_work(session, instance.id), modifications,
                       tuple(deletions), actor)


LOCAL_VARIABLES_MODIFIED = "task.localVariablesModified"
_TASK_ID = re.compile(r"[A-Za-z0-9._:-]+")


def modify_task_local_variables(services: Services, task_id: str, *, modifications: Mapping[str, Any],
                                deletions: Iterable[str], actor: Principal) -> None:
    """Camunda's task-local variables: set on the open task alone, seen by its form and its
    completion, hiding a case variable of the same name meanwhile, and gone when it completes."""
    refuse_reserved_keys(modifications)
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor, while_suspended=True)
        if instance is None:  # a standalone task's variables are all its own
            _set_own_variables(services, session, task, modifications, tuple(deletions), services.clock.now(), actor,
                               LOCAL_VARIABLES_MODIFIED)
            return
        instance = instance_of_open_work(session, instance.id)
        run = load_run(services, session, instance)
        run.set_task_local_variables(task_id, modifications, tuple(deletions))
        now = services.clock.now()
        record(session, instance, LOCAL_VARIABLES_MODIFIED, now, user_id=actor.user_id,
               activity_id=task.task_definition_key, task_id=task_id, modifications=jsonable(modifications),
               deletions=list(deletions))
        # A task's own variables are no case variables: no conditional event looks at them.
        save_run(services, session, instance, run, run.snapshot(), now, user_id=actor.user_id)


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    return isinstance(value, dict) and all(isinstance(key, str) and _is_json(item) for key, item in value.items())


def _set_own_variables(services: Services, session: Session, task: UserTask, modifications: Mapping[str, Any],
                       deletions: tuple[str, ...], now: datetime, actor: Principal,
                       kind: str = "variables.modified") -> None:
    """A standalone task keeps its variables with its record. They are JSON values: a date or a binary
    variable, which a case keeps in its workflow and content store, is refused; all of them together
    within STANDALONE_TASK_VARIABLES_BYTES (as JSON), since no case bounds them."""
    for name, value in modifications.items():
        if not _is_json(value):
            raise InvalidRequest(f"Variable '{name}': a standalone task keeps variables of JSON types only "
                                 "(String, Boolean, numbers, Json, Null)")
    record_row = session.get_one(StandaloneTask, task.id)
    kept = {name: value for name, value in (record_row.variables or {}).items() if name not in deletions}
    variables = {**kept, **modifications}
    size = len(json.dumps(variables, ensure_ascii=False).encode())
    if size > services.settings.standalone_task_variables_bytes:
        raise InvalidRequest(f"Task '{task.id}' would keep {size} bytes of variables; a task of no process keeps at "
                             f"most {services.settings.standalone_task_variables_bytes} bytes of them (as JSON)")
    record_row.variables = variables
    _change(session, task, now)
    _record(session, task, None, kind, now, actor, modifications=dict(modifications), deletions=list(deletions))


def _set_variables(services: Services, session: Session, instance: ProcessInstance, modifications: Mapping[str, Any],
                   deletions: tuple[str, ...], actor: Principal) -> None:
    run = load_run(services, session, instance)
    run.set_variables(modifications, deletions)
    now = services.clock.now()
    record(session, instance, "variables.modified", now, user_id=actor.user_id,
           modifications=jsonable(modifications), deletions=list(deletions))
    save_run(services, session, instance, run, run.snapshot(), now, user_id=actor.user_id)


# What PUT /task/{id} changes (the keys present in its body), and what it only accepts unchanged.
_UPDATABLE = {"name": "name", "description": "description", "priority": "priority", "followUp": "follow_up",
              "due": "due"}
_UNCHANGEABLE = {"assignee": "assignee", "owner": "owner", "delegationState": "delegation_state",
                 "tenantId": "tenant_id"}


def update_task(services: Services, task_id: str, changes: Mapping[str, Any], *, actor: Principal) -> None:
    """Camunda's PUT /task/{id}, for the keys the body has (Camunda's own clients send them all).

    A task's due date is a statutory deadline: only an administrator moves it. Its assignee, owner
    and delegation go through their own commands, which say why in the history."""
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor, while_suspended=True)
        for key, column in _UNCHANGEABLE.items():
            if key in changes and changes[key] != getattr(task, column):
                raise InvalidRequest(f"'{key}' is changed by its own call (claim, assignee, delegate, resolve), "
                                     "not by updating the task")
        values = {column: changes[key] for key, column in _UPDATABLE.items() if key in changes}
        if "due" in values and values["due"] != task.due and not permissions.is_administrator(actor):
            raise permissions.denied(actor, "UPDATE", "Task", task_id)
        now = services.clock.now()
        _change(session, task, now, **values)
        _record(session, task, instance, "task.updated", now, actor,
                **jsonable({key: changes[key] for key in _UPDATABLE if key in changes}))


def set_owner(services: Services, task_id: str, owner: str | None, *, actor: Principal) -> None:
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor)
        now = services.clock.now()
        _change(session, task, now, owner=owner)
        _record(session, task, instance, "task.ownerSet", now, actor, owner=owner)


def change_candidate(services: Services, task_id: str, kind: str, identity: str, *, add: bool,
                     actor: Principal) -> None:
    """加签 and its reverse: offer the task to one more group or user, or no longer to one."""
    with services.db.write() as session:
        task, instance = _commanded_task(session, task_id, actor)
        now = services.clock.now()
        offered = session.get(TaskCandidate, (task_id, kind, identity)) is not None
        if add and not offered:
            session.add(TaskCandidate(task_id=task_id, kind=kind, identity=identity))
            _join(session, instance, {(kind, identity)})
        elif not add and offered:
            session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task_id, TaskCandidate.kind == kind,
                                                        TaskCandidate.identity == identity))
        else:
            return  # nothing changes, nothing is recorded
        _change(session, task, now)
        kind_name = "User" if kind == "user" else "Group"
        _record(session, task, instance, f"task.candidate{kind_name}{'Added' if add else 'Removed'}", now, actor,
                **{kind: identity})


def complete(services: Services, task_id: str, variables: Mapping[str, Any], *, actor: Principal,
             as_form: bool = False) -> dict[str, Any]:
    """Complete a user task with the submitted values, checked against its form first; `as_form`: the
    values were submitted as the task's form (Camunda's submit-form), which the history says."""
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        # The task and its instance in one query (both then come from the session's identity map).
        found = session.execute(select(UserTask, ProcessInstance)
                                .outerjoin(ProcessInstance, ProcessInstance.id == UserTask.process_instance_id)
                                .where(UserTask.id == task_id)).first()
        if found is None:
            raise _missing_task(session, task_id)
        task = found.UserTask if found.UserTask.process_instance_id is not None \
            else _locked_standalone(session, task_id)
        permissions.require_task_work(session, actor, task)
        if task.delegation_state == PENDING:
            raise InvalidRequest(f"Task '{task_id}' is delegated: its delegate resolves it, then its owner "
                                 "completes it")
        if task.process_instance_id is None:  # no process moves: the task ends, its history stays
            now = services.clock.now()
            if variables:
                _set_own_variables(services, session, task, variables, (), now, actor)
            kept = dict(session.get_one(StandaloneTask, task_id).variables or {})
            _end_standalone(session, task, now, actor, "completed", "task.completed",
                            groups=sorted(actor.groups), **({"form": True} if as_form else {}))
            return kept
        instance = instance_of_open_work(session, task.process_instance_id)
        refuse_if_suspended(instance)
        run = load_run(services, session, instance)
        definition = run.model.user_tasks[task.task_definition_key or ""]
        values = validate_submission(definition.form_fields, variables, services.settings.zone)
        result = run.complete_user_task(task_id, values)
        now = services.clock.now()
        record(session, instance, "task.completed", now, user_id=actor.user_id,
               activity_id=task.task_definition_key, task_id=task_id, assignee=task.assignee,
               groups=sorted(actor.groups), variables=jsonable(values), **({"form": True} if as_form else {}))
        save_run(services, session, instance, run, result, now, user_id=actor.user_id)
        return run.variables()


def bpmn_error(services: Services, task_id: str, *, error_code: str | None, error_message: str | None,
               variables: Mapping[str, Any], actor: Principal) -> None:
    """The user task throws a BPMN error (Camunda's handleBpmnError): whoever may complete the task may
    throw it; the error boundary event or event subprocess catching its code takes over."""
    refuse_long_thrown("errorCode", error_code, MAX_THROWN_CODE)
    refuse_long_thrown("errorMessage", error_message, MAX_THROWN_MESSAGE)
    if not error_code:
        raise InvalidRequest("errorCode is required")
    _throw(services, task_id, "task.bpmnError", variables, actor,
           lambda run: run.throw_user_task_error(task_id, error_code, error_message, variables),
           error_code=error_code, error_message=error_message)


def escalation(services: Services, task_id: str, *, escalation_code: str | None, variables: Mapping[str, Any],
               actor: Principal) -> None:
    """The user task escalates (Camunda's handleEscalation): whoever may complete the task may; the
    escalation boundary event or event subprocess catching its code takes over, interrupting the task
    or beside it as drawn."""
    refuse_long_thrown("escalationCode", escalation_code, MAX_THROWN_CODE)
    if escalation_code is None or not escalation_code.strip():
        raise InvalidRequest(f"escalationCode is {'null' if escalation_code is None else 'empty'}")
    _throw(services, task_id, "task.escalation", variables, actor,
           lambda run: run.throw_user_task_escalation(task_id, escalation_code, variables),
           escalation_code=escalation_code)


def _throw(services: Services, task_id: str, kind: str, variables: Mapping[str, Any], actor: Principal,
           throw: Callable[[ProcessRun], StepResult], **recorded: Any) -> None:
    """The open task throws (an error or an escalation), in one unit of work recorded as `kind`."""
    refuse_reserved_keys(variables)
    with services.db.write() as session:
        task = get_task(session, task_id)
        permissions.require_task_work(session, actor, task)
        if task.process_instance_id is None:
            raise InvalidRequest(f"Task '{task_id}' belongs to no process: nothing catches what it throws")
        instance = instance_of_open_work(session, task.process_instance_id)
        refuse_if_suspended(instance)
        run = load_run(services, session, instance)
        result = throw(run)
        now = services.clock.now()
        record(session, instance, kind, now, user_id=actor.user_id,
               activity_id=task.task_definition_key, task_id=task_id, assignee=task.assignee,
               variables=jsonable(variables), **recorded)
        save_run(services, session, instance, run, result, now, user_id=actor.user_id)


def create_task(services: Services, task_id: str | None, fields: Mapping[str, Any], *, actor: Principal) -> str:
    """Camunda's TaskService.newTask and saveTask: a task of no process, an official's own to-do,
    created by any signed-in account. It takes its creator's region (the `tenantId` given must be one
    of the creator's), and stays unassigned unless an assignee is given, as in Camunda."""
    task_id = task_id or str(uuid.uuid4())
    if len(task_id) > 36:
        raise InvalidRequest("Could not save task: a task's id has at most 36 characters")
    # The id is a segment of the task's paths (/task/{id}): no '/', no control character, no '.' or '..'.
    if not _TASK_ID.fullmatch(task_id) or task_id in (".", ".."):
        raise InvalidRequest("Could not save task: a task's id is made of letters, digits, '-', '_', '.' and ':' "
                             "(and is not '.' or '..')")
    region = fields.get("tenantId", actor.starting_region)
    if region is not None and region not in actor.regions and not permissions.is_administrator(actor):
        raise permissions.denied(actor, "CREATE", "Task", task_id)
    now = services.clock.now()
    values = {"name": fields.get("name"), "description": fields.get("description"),
              "assignee": fields.get("assignee"), "owner": fields.get("owner"),
              "priority": fields.get("priority", 50), "due": fields.get("due"), "follow_up": fields.get("followUp")}
    with services.db.write() as session:
        if session.get(UserTask, task_id) is not None or session.get(StandaloneTask, task_id) is not None:
            raise InvalidRequest(f"Could not save task: a task with id '{task_id}' exists")
        session.add(StandaloneTask(id=task_id, tenant_id=region, created_by=actor.user_id, start_time=now,
                                   variables={}, **values))
        task = UserTask(id=task_id, created=now, last_updated=now, tenant_id=region, suspended=False,
                        delegation_state=fields.get("delegationState"), **values)
        session.add(task)
        session.flush()
        _record(session, task, None, "task.created", now, actor, tenant_id=region,
                delegation_state=task.delegation_state, **jsonable(values))
    return task_id


def _end_standalone(session: Session, task: UserTask, now: datetime, actor: Principal, reason: str, kind: str,
                    **recorded: Any) -> None:
    """A standalone task ends (completed or deleted): it leaves the task lists, its record keeps its
    history with the reason it ended."""
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task.id))
    session.execute(delete(UserTask).where(UserTask.id == task.id))
    session.execute(update(StandaloneTask).where(StandaloneTask.id == task.id)
                    .values(end_time=now, delete_reason=reason))
    _record(session, task, None, kind, now, actor, assignee=task.assignee, reason=reason, **recorded)


def delete_task(services: Services, task_id: str, actor: Principal) -> None:
    """Camunda's deleteTask: a standalone task is deleted by its creator or owner (or an
    administrator), its history kept with deleteReason "deleted"; a task of a process is refused."""
    with services.db.write() as session:
        task = get_task(session, task_id)
        if task.process_instance_id is not None:
            permissions.require_task_work(session, actor, task)
            raise InvalidRequest("The task cannot be deleted because is part of a running process")
        task = _locked_standalone(session, task_id)
        if not may_read(session, actor, task):
            raise NotFound(f"No matching task with id {task_id}")
        created_by = session.get_one(StandaloneTask, task_id).created_by
        if not permissions.is_administrator(actor) and actor.user_id not in (created_by, task.owner):
            raise permissions.denied(actor, "DELETE", "Task", task_id)
        _end_standalone(session, task, services.clock.now(), actor, "deleted", "task.deleted")


def may_read(session: Session, reader: Principal, task: UserTask) -> bool:
    if task.process_instance_id is None:
        return permissions.may_read_standalone(session, reader, task.id)
    return permissions.may_read_instance(session, reader, task.process_instance_id)


def require_read(session: Session, reader: Principal, task: UserTask) -> None:
    """Those who may not read a task's case are refused (403); a standalone task is hidden from those
    who have no part in it, as Camunda's task query hides it (404)."""
    if task.process_instance_id is None:
        if not permissions.may_read_standalone(session, reader, task.id):
            raise NotFound(f"No matching task with id {task.id}")
        return
    permissions.require_instance_read(session, reader, task.process_instance_id, "Task", task.id)


def form(services: Services, task_id: str, reader: Principal) -> tuple[tuple[FormField, ...], dict[str, Any]]:
    """The task's form fields and the current values of the instance's variables the reader may see
    (a standalone task has no form: none)."""
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, reader, task)
        if task.process_instance_id is None:
            return (), {}
        instance = get_active_instance(session, task.process_instance_id)
        run = read_run(services, session, instance)
        return (run.model.user_tasks[task.task_definition_key or ""].form_fields,
                confidentiality.visible(session, run.model, instance.id, reader, run.task_variables(task_id)))


def _own_variables(session: Session, task: UserTask) -> dict[str, Any]:
    return dict(session.get_one(StandaloneTask, task.id).variables or {})


def task_variables(services: Services, task_id: str, reader: Principal) -> dict[str, Any]:
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, reader, task)
        if task.process_instance_id is None:
            return _own_variables(session, task)
        instance = get_active_instance(session, task.process_instance_id)
        run = read_run(services, session, instance)
        return with_bytes(session, confidentiality.visible(session, run.model, instance.id, reader,
                                                           run.task_variables(task_id)))


def task_local_variables(services: Services, task_id: str, reader: Principal) -> dict[str, Any]:
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, reader, task)
        own = _visible_own_variables(services, session, task, reader)
        return own if task.process_instance_id is None else with_bytes(session, own)


def _visible_own_variables(services: Services, session: Session, task: UserTask, reader: Principal
                           ) -> dict[str, Any]:
    if task.process_instance_id is None:
        return _own_variables(session, task)
    instance = get_active_instance(session, task.process_instance_id)
    run = read_run(services, session, instance)
    return confidentiality.visible(session, run.model, instance.id, reader, run.task_local_variables(task.id))


def own_variables_holding(services: Services, conditions: VariableConditions, reader: Principal) -> Keep:
    """Camunda's taskVariables filter: whether an open task's own variables meet the conditions, as the
    reader sees them (a confidential variable of a case they do not handle meets none)."""
    def keep(session: Session, task: UserTask) -> bool:
        try:
            return conditions.hold_among(_visible_own_variables(services, session, task, reader))
        except (NotFound, Conflict):  # its case ended or the task closed while the list was read
            return False
    return keep


def readable_task(services: Services, task_id: str, viewer: Principal) -> UserTask:
    """An open task, for those who may read its case (a completed one is gone: 404, as in Camunda)."""
    with services.db.read() as session:
        task = open_task(session, task_id)
        require_read(session, viewer, task)
        return task


def may_work(services: Services, task_id: str, viewer: Principal) -> bool:
    """Whether the viewer may claim, complete or hand on the open task (its assignee or a candidate)."""
    with services.db.read() as session:
        task = open_task(session, task_id)
        try:
            permissions.require_task_work(session, viewer, task)
        except Forbidden:
            return False
        return True


def form_key(services: Services, task_id: str, viewer: Principal) -> str | None:
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, viewer, task)
        return task.form_key


def deployed_form(services: Services, task_id: str, viewer: Principal) -> NoReturn:
    """The task's form deployed with its process: none ever is (app.definitions.deployments)."""
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, viewer, task)
        if task.process_definition_id is None:
            raise NotFound(f"No deployed form for task with the id {task_id}: it belongs to no process")
        definition = get_definition(session, task.process_definition_id)
    refuse_deployed_form(task.form_key, definition.deployment_id)


def identity_links(services: Services, task_id: str, viewer: Principal) -> tuple[list[TaskCandidate], str | None]:
    """The task's candidates and its assignee, for those who may read its case."""
    with services.db.read() as session:
        task = get_task(session, task_id)
        require_read(session, viewer, task)
        return candidates(session, [task_id])[task_id], task.assignee
