"""Process instances: start, advance, delete; every change saved as one unit of work."""
from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.audit.ledger import jsonable
from app.cases import job_log
from app.cases.binary_variables import with_bytes
from app.cases.hooks import Step
from app.cases.projections import ACTIVE, COMPLETED, RESTARTED_FROM, TERMINATED, waiting_at
from app.context import Services
from app.definitions.deployments import latest_by_key
from app.engine import (
    ActivityChange,
    EventWait,
    InstanceIdentity,
    Instruction,
    OpenExternalTask,
    OpenUserTask,
    ProcessRun,
    RunContext,
    StepResult,
    binaries_in,
    target_of,
    validate_submission,
)
from app.errors import Conflict, InvalidRequest, NotFound, SuspendedEntityInteraction
from app.extensions import confidentiality
from app.persistence.database import after_commit, announce_new_work, insert_missing, on_commit
from app.persistence.models import (
    ActivityInstance,
    Base,
    EventSubscription,
    ExternalTask,
    HistoryEvent,
    Incident,
    InstanceParticipant,
    ProcessDefinition,
    ProcessInstance,
    TaskCandidate,
    Timer,
    UserTask,
    VariableContent,
)
from app.persistence.queries import IncidentMatch, case_root, like, of_instances, related, sorted_by
from app.telemetry import metrics

# The session's key under which each step's beginning waits for save_run to time it.
_STEPS_STARTED = "steps_started"


# What a thrown BPMN error or escalation may carry: a code as long as a definition's ids, a message as
# long as Camunda's error message columns.
MAX_THROWN_CODE = 255
MAX_THROWN_MESSAGE = 4000


def refuse_long_thrown(name: str, given: object, limit: int) -> None:
    """An error or escalation code (or message) too long to keep is refused, named by a short prefix (what
    is no text is refused where it is read)."""
    if isinstance(given, str) and len(given) > limit:
        raise InvalidRequest(f"{name} has more than {limit} characters ('{given[:40]}…')")


def refuse_reserved_keys(values: Mapping[str, Any]) -> None:
    """Saved state must stay restorable: the state format reserves the key 'typename' in objects."""
    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            if "typename" in value:
                raise InvalidRequest(f"Variable '{path}': the object key 'typename' is reserved")
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise InvalidRequest("Variable names must be non-empty strings")
        walk(value, name)


# The batch whose part the thread runs (app.cases.batches), if any: the events it records name it.
_BATCH: ContextVar[str | None] = ContextVar("batch", default=None)


@contextlib.contextmanager
def for_batch(batch_id: str) -> Iterator[None]:
    """Inside the block, every history event recorded names the batch (`batchId`), as Camunda's user
    operation log names the batch an operation ran in."""
    token = _BATCH.set(batch_id)
    try:
        yield
    finally:
        _BATCH.reset(token)


def record(session: Session, instance: ProcessInstance, kind: str, at: datetime, *, user_id: str | None = None,
           activity_id: str | None = None, task_id: str | None = None, **payload: Any) -> None:
    """Append one history event to the instance's record, in the current unit of work."""
    batch_id = _BATCH.get()
    if batch_id is not None:
        payload["batchId"] = batch_id
    instance.last_sequence += 1
    pending = session.info.get("history")
    if pending is None:
        pending = session.info["history"] = []
        on_commit(session, lambda: _write_rows(session, HistoryEvent, pending))
    event = {"process_instance_id": instance.id, "sequence": instance.last_sequence, "kind": kind,
             "occurred_at": at, "user_id": user_id, "activity_id": activity_id, "task_id": task_id,
             "payload": ledger.normalized(payload)}
    _keep_contents(session, instance, payload)
    ledger.chain(session, instance, event)
    pending.append(event)


def _keep_contents(session: Session, instance: ProcessInstance, payload: Mapping[str, Any]) -> None:
    """The content of the binary variables an event brings, kept by its SHA-256 in this unit of work, and
    that the case refers to it (also for a reference it got from another case, which may lose its own)."""
    binaries = binaries_in(payload)
    if not binaries:
        return
    for binary in binaries:
        content = binary.take_content()
        if content is not None:
            session.info["contents"]().put(session, binary.sha256, content)
    referred = session.info.get("variable_contents")
    if referred is None:
        referred = session.info["variable_contents"] = set()

        def write() -> None:
            session.flush()  # a case started in this unit of work has its row first
            insert_missing(session, VariableContent, [{"process_instance_id": case, "sha256": digest}
                                                      for case, digest in sorted(referred)])
        on_commit(session, write)
    referred.update((instance.id, binary.sha256) for binary in binaries)


def recorded_tasks(session: Session, kind: str) -> set[str]:
    """The tasks that events of a kind, recorded in the current unit of work, name."""
    return {event["task_id"] for event in session.info.get("history") or () if event["kind"] == kind}


def _write_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Many rows of one table in one statement, without the ORM's per-object bookkeeping."""
    if rows:
        session.connection().execute(model.__table__.insert(), rows)


# The history kinds of an external task's life (Camunda's historic external task log).
EXTERNAL_TASK_CREATED, EXTERNAL_TASK_FAILED = "externalTask.created", "externalTask.failed"
EXTERNAL_TASK_COMPLETED, EXTERNAL_TASK_DELETED = "externalTask.completed", "externalTask.deleted"


def save_run(services: Services, session: Session, instance: ProcessInstance, run: ProcessRun,
             result: StepResult, now: datetime, *, user_id: str | None = None) -> None:
    """Write everything one step of an instance did, from its result: state, task rows, activities,
    timers and history, and what the extensions (app.cases.hooks) add to it.

    The projections are written with plain multi-row statements; the instance row itself is updated
    once, at commit, where its revision check refuses a concurrent writer and rolls all of it back.

    The hooks act before and after (app.cases.hooks): the instances the step's call activities ask
    for are started first, in the same unit of work, and a called instance that completes hands its
    end back to its caller (app.cases.call_activities)."""
    for hook in services.hooks:
        result = hook.before_saving(services, session, instance, run, result, now, user_id)
    instance.state = run.serialize()
    started = session.info.get(_STEPS_STARTED, {}).pop(instance.id, None)
    if started is not None:
        metrics.step_timed(started[0], time.perf_counter() - started[1])
    if result.completed and instance.status == ACTIVE:
        instance.status, instance.end_time = COMPLETED, now
    step = _step(services, session, instance, run, result, now, user_id)
    active = instance.status == ACTIVE
    if active:
        # The revision is final once the unit of work has flushed the instance row, at commit.
        after_commit(session, lambda: services.runs.keep(instance.id, instance.revision, run))
    ended_tasks = _sync_user_tasks(services, step, result.user_tasks if active else ())
    _sync_external_tasks(session, instance, run, result.external_tasks if active else (), now)
    _sync_subscriptions(session, instance, run, result.waits if active else (), now)
    _record_activities(session, instance, result.changes, now, user_id, ended_tasks,
                       {task.id: task.assignee for task in result.user_tasks if active})
    _end_raised_incidents(session, instance, result.changes, now)
    for hook in services.hooks:
        hook.after_saving(services, session, instance, run, result, now, user_id)
    for evaluation in result.decisions:
        record(session, instance, "decision.evaluated", now, activity_id=evaluation.activity_id,
               task_id=evaluation.activity_instance_id, decision_key=evaluation.decision_key,
               decision_definition_id=evaluation.decision_id, **jsonable(evaluation.evaluation),
               result=jsonable({"value": evaluation.result})["value"])
    for read in result.register_reads:
        record(session, instance, "register.consulted", now, **read)
    if result.ended:
        for hook in services.hooks:
            hook.on_elements_ended(step, result.ended)
    before: dict[str, Any] = {}
    if run.model.waits_on_timers:  # no timer row can exist otherwise
        # A timer still waiting keeps the instant it was created (its job's createTime).
        before = {row.id: row for row in session.execute(
            delete(Timer).where(Timer.process_instance_id == instance.id).returning(
                Timer.id, Timer.created, Timer.due_at, Timer.priority, Timer.activity_id))}
        job_log.timers_changed(session, instance, run.model.timer_jobs, before, result.timers if active else (), now)
    created = {job_id: row.created for job_id, row in before.items()}
    if active and result.timers:
        _write_rows(session, Timer, [
            {"id": timer.task_id, "process_instance_id": instance.id,
             "process_definition_key": instance.definition_key, "activity_id": timer.activity_id,
             "due_at": timer.due, "created": created.get(timer.task_id, now),
             "suspended": instance.suspended or timer.held, "held": timer.held, "priority": timer.priority}
            for timer in result.timers])
    for deadline in result.deadlines:
        record(session, instance, "deadline.computed", now, start=deadline.start.isoformat(),
               due=deadline.due.isoformat(), rule=deadline.rule, basis=deadline.basis,
               provisional=deadline.provisional, unconfirmed_years=list(deadline.unconfirmed_years),
               calendar_version=deadline.calendar_version)
    if instance.status == COMPLETED:
        record(session, instance, "process.completed", now, user_id=user_id)
    if result.signals:
        for hook in services.hooks:
            hook.on_signals_thrown(step, result.signals)


def _step(services: Services, session: Session, instance: ProcessInstance, run: ProcessRun, result: StepResult,
          now: datetime, user_id: str | None) -> Step:
    def start(process_key: str, variables: Mapping[str, Any], business_key: str | None) -> ProcessInstance:
        # The started process is looked up among the definitions of the starting one's deployment tenant,
        # and the new case belongs to the starting one's region unless its process names another.
        own_tenant = session.get_one(ProcessDefinition, instance.definition_id).tenant_id
        definition = latest_by_key(session, process_key, own_tenant)
        child, _ = start_in_session(services, session, definition, variables, business_key,
                                    starter_region=instance.tenant_id)
        return child

    return Step(services=services, session=session, instance=instance, run=run, result=result, now=now,
                user_id=user_id, record=lambda kind, **fields: record(session, instance, kind, now, **fields),
                add_participants=lambda identities: add_participants(session, instance, set(identities)),
                start=start)


# What the history of a user task keeps of its row when it ends (ActivityInstance has the same columns).
_KEPT_OF_TASK = ("owner", "description", "priority", "due", "follow_up")


def _sync_user_tasks(services: Services, step: Step, open_tasks: Iterable[OpenUserTask]) -> dict[str, dict[str, Any]]:
    """Writes the opened tasks' rows and deletes the ended ones', whose kept values it answers by id."""
    session, instance, now = step.session, step.instance, step.now
    existing = step.result.user_tasks_before
    opened = {task.id: task for task in open_tasks}
    gone = existing - opened.keys()
    kept: dict[str, dict[str, Any]] = {}
    if gone:  # their candidate rows go with them (ON DELETE CASCADE)
        ended = session.execute(delete(UserTask).where(UserTask.id.in_(gone)).returning(
            UserTask.id, *(getattr(UserTask, name) for name in _KEPT_OF_TASK)))
        kept = {row.id: {name: getattr(row, name) for name in _KEPT_OF_TASK} for row in ended}
    new_tasks = [opened[task_id] for task_id in opened.keys() - existing]
    if not new_tasks:
        return kept
    _write_rows(session, UserTask, [
        {"id": task.id, "process_instance_id": instance.id, "process_definition_id": instance.definition_id,
         "process_definition_key": instance.definition_key, "business_key": instance.business_key,
         "task_definition_key": task.task_definition_key, "name": task.name, "description": task.documentation,
         "assignee": task.assignee, "owner": None, "created": now, "last_updated": None, "due": task.due,
         "follow_up": task.follow_up, "priority": task.priority, "form_key": task.form_key,
         "tenant_id": instance.tenant_id, "suspended": instance.suspended} for task in new_tasks])
    users = {task.id: list(task.candidate_users) for task in new_tasks}
    for hook in services.hooks:
        for task_id, extra in hook.on_tasks_opened(step, new_tasks).items():
            users[task_id] += [user for user in extra if user not in users[task_id]]
    candidates = [{"task_id": task.id, "kind": kind, "identity": identity} for task in new_tasks
                  for kind, identities in (("group", task.candidate_groups), ("user", users[task.id]))
                  for identity in identities]
    _write_rows(session, TaskCandidate, candidates)
    add_participants(session, instance, {(row["kind"], row["identity"]) for row in candidates}
                      | {("user", task.assignee) for task in new_tasks if task.assignee})
    for task in new_tasks:
        record(session, instance, "task.created", now, activity_id=task.task_definition_key, task_id=task.id,
               name=task.name, candidate_groups=list(task.candidate_groups), candidate_users=users[task.id],
               assignee=task.assignee, due=task.due.isoformat() if task.due else None)
    return kept


def add_participants(session: Session, instance: ProcessInstance, identities: set[tuple[str, str]]) -> None:
    """CPA-16: whom the instance's tasks were offered to are the departments handling the case."""
    insert_missing(session, InstanceParticipant, [
        {"process_instance_id": instance.id, "kind": kind, "identity": identity}
        for kind, identity in sorted(identities)])


def _sync_external_tasks(session: Session, instance: ProcessInstance, run: ProcessRun,
                         external_tasks: Iterable[OpenExternalTask], now: datetime) -> None:
    if not run.model.external_tasks:
        return  # no row can exist: spare every step of such a process the query
    rows = session.execute(select(ExternalTask.id, ExternalTask.activity_id, ExternalTask.topic_name,
                                  ExternalTask.priority, ExternalTask.worker_id, ExternalTask.retries)
                           .where(ExternalTask.process_instance_id == instance.id)).all()
    existing = {row.id for row in rows}
    open_tasks = {task.id: task for task in external_tasks}
    gone = existing - open_tasks.keys()
    if gone:
        session.execute(delete(ExternalTask).where(ExternalTask.id.in_(gone)))
        # A task that is gone without its worker completing it in this unit of work was deleted
        # (cancelled by an event, its instance deleted or modified, or left by a BPMN error).
        completed = recorded_tasks(session, EXTERNAL_TASK_COMPLETED)
        for row in sorted((row for row in rows if row.id in gone and row.id not in completed), key=lambda r: r.id):
            record(session, instance, EXTERNAL_TASK_DELETED, now, activity_id=row.activity_id, task_id=row.id,
                   topic=row.topic_name, priority=row.priority, worker_id=row.worker_id, retries=row.retries)
        # An incident of a task that is gone (completed, or cancelled by a boundary event) is over.
        session.execute(update(Incident).where(Incident.configuration.in_(gone), Incident.execution_id.is_(None),
                                               Incident.end_time.is_(None)).values(end_time=now))
    new_tasks = [task for task_id, task in open_tasks.items() if task_id not in existing]
    if not new_tasks:
        return
    definition = session.get_one(ProcessDefinition, instance.definition_id)
    announce_new_work(session, "external_task")
    _write_rows(session, ExternalTask, [
        {"id": task.id, "process_instance_id": instance.id, "process_definition_id": instance.definition_id,
         "process_definition_key": instance.definition_key, "process_definition_version_tag": definition.version_tag,
         "activity_id": task.activity_id, "topic_name": task.topic, "business_key": instance.business_key,
         "worker_id": None, "lock_expiration": None, "retries": None, "error_message": None,
         "error_details": None, "priority": task.priority, "tenant_id": instance.tenant_id, "created": now,
         "suspended": instance.suspended} for task in new_tasks])
    for task in new_tasks:
        record(session, instance, EXTERNAL_TASK_CREATED, now, activity_id=task.activity_id, task_id=task.id,
               topic=task.topic, priority=task.priority)


def _sync_subscriptions(session: Session, instance: ProcessInstance, run: ProcessRun, event_waits: Iterable[EventWait],
                        now: datetime) -> None:
    if not run.model.catches_messages_or_signals:
        return  # no row can exist: spare every step of such a process the query
    rows = session.execute(select(EventSubscription.id, EventSubscription.task_id, EventSubscription.kind,
                                  EventSubscription.event_name)
                           .where(EventSubscription.process_instance_id == instance.id)).all()
    existing = {(row.task_id, row.kind, row.event_name): row.id for row in rows}
    waits = {(wait.task_id, wait.kind, wait.event_name): wait for wait in event_waits}
    gone = [subscription_id for key, subscription_id in existing.items() if key not in waits]
    if gone:
        session.execute(delete(EventSubscription).where(EventSubscription.id.in_(gone)))
    _write_rows(session, EventSubscription, [
        {"id": str(uuid.uuid4()), "kind": wait.kind, "event_name": wait.event_name,
         "process_instance_id": instance.id, "process_definition_id": instance.definition_id,
         "activity_id": wait.activity_id, "task_id": wait.task_id, "business_key": instance.business_key,
         "tenant_id": instance.tenant_id, "created": now}
        for key, wait in waits.items() if key not in existing])


def _end_raised_incidents(session: Session, instance: ProcessInstance, changes: Iterable[ActivityChange],
                          now: datetime) -> None:
    """An incident an operator raised on an execution (app.cases.incidents) ends, deleted, when its
    execution leaves the activity it was raised at (a waiting token, or the instance's own execution),
    or when the case ends."""
    ended = [change for change in changes if change.ended]
    if not instance.raised_incidents or (not ended and instance.status == ACTIVE):
        return
    left = or_(Incident.execution_id.in_([change.activity_instance_id for change in ended]),
               and_(Incident.execution_id == instance.id,
                    Incident.activity_id.in_([change.activity_id for change in ended])))
    session.execute(update(Incident).where(
        Incident.process_instance_id == instance.id, Incident.end_time.is_(None),
        Incident.execution_id.is_not(None) if instance.status != ACTIVE else left).values(end_time=now))


def _record_activities(session: Session, instance: ProcessInstance, changes: Iterable[ActivityChange],
                       now: datetime, user_id: str | None, ended_tasks: Mapping[str, Mapping[str, Any]],
                       assignees: Mapping[str, str | None]) -> None:
    """Writes the activity instances the step started and ends those it ended; an opened user task's
    has the assignee it opened with (`assignees`, by id), an ended one's keeps what its row held
    (`ended_tasks`, by id), for its history."""
    started, ended = [], []
    for change in changes:
        if change.started:
            instance.last_sequence += 1
            started.append({
                "id": change.activity_instance_id, "process_instance_id": instance.id,
                "process_definition_id": instance.definition_id, "process_definition_key": instance.definition_key,
                "activity_id": change.activity_id, "activity_name": change.activity_name,
                "activity_type": change.activity_type,
                "task_id": change.activity_instance_id if change.activity_type == "userTask" else None,
                "assignee": assignees.get(change.activity_instance_id), "start_time": now,
                "end_time": now if change.ended else None,
                "canceled": change.canceled, "sequence": instance.last_sequence, "tenant_id": instance.tenant_id})
        elif change.ended:
            ended.append(change)
    _write_rows(session, ActivityInstance, started)
    # After the rows of the unit of work are written: a step that went on after a called instance
    # ended at once (app.cases.call_activities) ends an activity that started in the same unit.
    unkept = dict(ended_tasks)
    for change in ended:
        session.execute(update(ActivityInstance).where(ActivityInstance.id == change.activity_instance_id)
                        .values(end_time=now, canceled=change.canceled,
                                **unkept.pop(change.activity_instance_id, {})))
    for task_id, values in unkept.items():  # a task whose end the step did not report
        session.execute(update(ActivityInstance).where(ActivityInstance.id == task_id).values(**values))
    for change in changes:
        record(session, instance, "activity.canceled" if change.canceled else
               ("activity.completed" if change.ended else "activity.started"), now,
               user_id=user_id if change.ended and change.activity_type == "userTask" else None,
               activity_id=change.activity_id, task_id=change.activity_instance_id)


def start_instance(services: Services, *, key: str | None = None, definition_id: str | None = None,
                   variables: Mapping[str, Any], business_key: str | None, actor: Principal,
                   tenant_id: str | None = None, as_start_form: bool = False,
                   instructions: Sequence[Instruction] = ()) -> tuple[ProcessInstance, dict[str, Any]]:
    """Start an instance; `as_start_form`: the variables are a submitted start form, checked against it;
    `instructions`: where it starts instead of its start event, which only administrators choose (as
    they modify a running case)."""
    refuse_reserved_keys(variables)
    if instructions:
        permissions.require_group(actor, (), "UPDATE", "ProcessInstance")
    for instruction in instructions:
        refuse_reserved_keys(instruction.variables)
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 255
                                     or "\x00" in business_key):
        raise InvalidRequest("'businessKey' must be a text of at most 255 characters")
    with services.db.write() as session:
        if definition_id is not None:
            definition = session.get(ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"No matching definition with id {definition_id}")
        else:
            definition = latest_by_key(session, key, tenant_id)
        model = services.models.get(session, definition.id)
        permissions.require_start(actor, model, definition.id)
        if as_start_form:
            variables = validate_submission(model.start_form, variables, services.settings.zone)
        instance, run = start_in_session(services, session, definition, variables, business_key,
                                         user_id=actor.user_id, starter_region=actor.starting_region,
                                         instructions=instructions)
        return instance, run.variables()


def start_in_session(services: Services, session: Session, definition: ProcessDefinition,
                     variables: Mapping[str, Any], business_key: str | None, *, user_id: str | None = None,
                     start_event: str | None = None, trigger: Mapping[str, Any] | None = None,
                     starter_region: str | None = None, called_by: tuple[ProcessInstance, str] | None = None,
                     instructions: Sequence[Instruction] = (), restarted_from: str | None = None
                     ) -> tuple[ProcessInstance, ProcessRun]:
    """Start an instance within the caller's unit of work, at the plain start event, at the start
    event `start_event` whose message, signal or timer (described by `trigger`) arrived, or at the
    activities the `instructions` name (Camunda's start instructions, recorded with the start, which
    replay applies again); `called_by`: the instance and the call activity's activity instance that
    called it; `restarted_from`: the ended instance this one restarts."""
    if definition.suspended:
        raise SuspendedEntityInteraction(f"ProcessDefinition with id '{definition.id}' is suspended")
    model = services.models.get(session, definition.id)
    if model.initiator_variable:
        # camunda:initiator: who started it (nobody signed in, a timer's start: null), unless given.
        variables = {model.initiator_variable: user_id, **variables}
    region = definition.tenant_id or next(
        (named for hook in services.hooks if (named := hook.region_of(model, variables)) is not None), None)
    identity = InstanceIdentity(str(uuid.uuid4()), definition.id, business_key, region or starter_region)
    now = services.clock.now()
    started = time.perf_counter()
    run, result = ProcessRun.start(model, variables, services.run_context(session, definition.id, identity),
                                   start_event, instructions)
    started_by: dict[str, Any] = {"start_event": start_event, "trigger": dict(trigger or {})} if start_event else {}
    if instructions:
        started_by["instructions"] = [recorded_instruction(instruction) for instruction in instructions]
    if restarted_from is not None:
        started_by[RESTARTED_FROM] = restarted_from
    start_ids = {start.id for start in model.start_events}
    # Started at activities, the case's start activity is the first instruction's, as in Camunda.
    start_activity = target_of(model, instructions[0]) if instructions else next(
        (c.activity_id for c in result.changes if c.activity_id in start_ids), None)
    instance = ProcessInstance(
        id=identity.id, definition_id=definition.id, definition_key=definition.key,
        business_key=business_key, status=ACTIVE, state="", tenant_id=identity.tenant_id,
        start_time=now, start_user_id=user_id, start_activity_id=start_activity, last_sequence=0)
    if called_by is not None:
        caller, activity_instance_id = called_by
        instance.super_process_instance_id, instance.super_activity_instance_id = caller.id, activity_instance_id
        instance.root_process_instance_id = caller.root_process_instance_id or caller.id
        started_by["super_process_instance_id"] = caller.id
    session.add(instance)
    session.flush()  # the instance row first: its events and tasks refer to it
    _step_started(session, instance.id, "start", started)
    step = _step(services, session, instance, run, result, now, user_id)
    for hook in services.hooks:
        hook.on_started(step)
    record(session, instance, "process.started", now, user_id=user_id, definition_id=definition.id,
           business_key=business_key, variables=jsonable(variables), **started_by)
    save_run(services, session, instance, run, result, now, user_id=user_id)
    return instance, run


def recorded_instruction(instruction: Instruction) -> dict[str, Any]:
    """A modification or start instruction as the history records it, for replay to apply again."""
    return {"type": instruction.kind, "activityId": instruction.activity_id,
            "transitionId": instruction.transition_id, "activityInstanceId": instruction.activity_instance_id,
            "variables": jsonable(instruction.variables)}


def get_instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"Process instance with id {instance_id} does not exist")
    return instance


def get_active_instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = get_instance(session, instance_id)
    if instance.status != ACTIVE:
        raise NotFound(f"Process instance with id {instance_id} does not exist (it has ended)")
    return instance


def case_of_task(task: UserTask, what: str) -> str:
    """The instance of a task, for what only the task of a case has (`what` says it); a standalone
    task (POST /task/create) has none."""
    if task.process_instance_id is None:
        raise InvalidRequest(f"Task {task.id} belongs to no process: {what}")
    return task.process_instance_id


def instance_of_open_work(session: Session, instance_id: str) -> ProcessInstance:
    """The instance of a task found open: if it has ended meanwhile, a concurrent request ended it
    between the two reads, which is a conflict (409), not a missing instance."""
    instance = get_instance(session, instance_id)
    if instance.status != ACTIVE:
        raise Conflict(f"Process instance {instance_id} ended while this request ran; nothing was changed")
    return instance


def load_run(services: Services, session: Session, instance: ProcessInstance) -> ProcessRun:
    """The instance's run, to change it: the one this worker kept since the instance's last step if
    nobody has written the instance since, else restored from its saved state."""
    _step_started(session, instance.id, "continue", time.perf_counter())
    run = services.runs.take(instance.id, instance.revision)
    if run is not None:
        run.resume(_run_context(services, session, instance))
        return run
    return read_run(services, session, instance)


def _step_started(session: Session, instance_id: str, kind: str, at: float) -> None:
    """Where a step of the instance began (a start, or a later step restoring its run), so that
    save_run times the step (eco_engine_step_duration_seconds)."""
    session.info.setdefault(_STEPS_STARTED, {})[instance_id] = (kind, at)


def read_run(services: Services, session: Session, instance: ProcessInstance) -> ProcessRun:
    """The instance's run restored from its saved state, to read it (the kept one stays for steps)."""
    model = services.models.get(session, instance.definition_id)
    return ProcessRun.restore(model, instance.state, _run_context(services, session, instance))


def _run_context(services: Services, session: Session, instance: ProcessInstance) -> RunContext:
    return services.run_context(session, instance.definition_id, InstanceIdentity(
        instance.id, instance.definition_id, instance.business_key, instance.tenant_id))


def instance_variables(services: Services, instance_id: str, reader: Principal) -> dict[str, Any]:
    """The variables of a running instance that the reader may see (CPA-16). As in Camunda, the id may
    be an execution's: an open external task's `executionId` names it (Camunda's external-task
    client reads a File's content at /process-instance/{executionId}/variables/{name}/data)."""
    with services.db.read() as session:
        worked_by = None if session.get(ProcessInstance, instance_id) is not None else session.scalar(
            select(ExternalTask.process_instance_id).where(ExternalTask.id == instance_id))
        instance = get_active_instance(session, worked_by or instance_id)
        permissions.require_instance_read(session, reader, instance.id)
        run = read_run(services, session, instance)
        return with_bytes(session, confidentiality.visible(session, run.model, instance.id, reader, run.variables()))


def modify_variables(services: Services, instance_id: str, *, modifications: Mapping[str, Any],
                     deletions: Iterable[str], actor: Principal) -> None:
    refuse_reserved_keys(modifications)
    user_id = actor.user_id
    with services.db.write() as session:
        instance = get_active_instance(session, instance_id)
        run = load_run(services, session, instance)
        deletions = tuple(deletions)
        run.set_variables(modifications, deletions)
        now = services.clock.now()
        record(session, instance, "variables.modified", now, user_id=user_id,
               modifications=jsonable(modifications), deletions=list(deletions))
        # A suspended instance's tokens stay where they are (app.cases.suspension).
        result = run.snapshot() if instance.suspended else run.variables_changed()
        save_run(services, session, instance, run, result, now, user_id=user_id)


def delete_instance(services: Services, instance_id: str, *, reason: str | None = None, actor: Principal,
                    skip_subprocesses: bool = False) -> None:
    """Delete a running instance with the instances it called (unless `skip_subprocesses`); an
    instance that a call activity started is deleted as Camunda does: its caller's call activity is
    cancelled (app.cases.call_activities, a hook)."""
    with services.db.write() as session:
        instance = get_active_instance(session, instance_id)
        now = services.clock.now()
        end_instance(services, session, instance, reason, now, actor.user_id, skip_called=skip_subprocesses,
                     by_command=True)


def end_instance(services: Services, session: Session, instance: ProcessInstance, reason: str | None,
                 now: datetime, user_id: str | None, *, skip_called: bool = False, by_command: bool = False,
                 step: tuple[ProcessRun, StepResult] | None = None) -> None:
    """Delete a running instance in the caller's unit of work, with the instances it called; `step`:
    the run and the step that already took its last token away."""
    if step is None:
        run = load_run(services, session, instance)
        final = run.variables()
        result = run.cancel()
        # Cancelling drops the tokens that carried the values: keep them, for the instance's history.
        run.set_variables(final)
    else:
        run, result = step
    instance.status, instance.end_time, instance.delete_reason = TERMINATED, now, reason
    record(session, instance, "process.deleted", now, user_id=user_id, reason=reason)
    save_run(services, session, instance, run, result, now, user_id=user_id)
    for hook in services.hooks:
        hook.on_deleted(services, session, instance, reason, now, user_id, by_command=by_command,
                        skip_called=skip_called)


@dataclass(frozen=True)
class InstanceNarrowing:
    """Camunda's further process instance filters; each given must hold."""

    business_key_like: str | None = None
    definition_keys: tuple[str, ...] = ()
    definition_keys_not: tuple[str, ...] = ()
    deployment_id: str | None = None
    activity_ids: tuple[str, ...] = ()
    with_incident: bool = False
    incident: IncidentMatch = IncidentMatch()
    without_tenant: bool = False
    definition_without_tenant: bool = False
    root_only: bool = False
    leaf_only: bool = False
    root_instance_id: str | None = None
    sorting: tuple[tuple[str, bool], ...] = ()


# Camunda's process instance sort keys.
INSTANCE_SORTS = {"instanceId": ProcessInstance.id, "definitionKey": ProcessInstance.definition_key,
                  "definitionId": ProcessInstance.definition_id, "tenantId": ProcessInstance.tenant_id,
                  "businessKey": ProcessInstance.business_key}


def _narrowed(n: InstanceNarrowing) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if n.business_key_like is not None:
        found.append(like(ProcessInstance.business_key, n.business_key_like))
    if n.definition_keys:
        found.append(ProcessInstance.definition_key.in_(n.definition_keys))
    if n.definition_keys_not:
        found.append(ProcessInstance.definition_key.not_in(n.definition_keys_not))
    if n.deployment_id is not None:
        found.append(ProcessInstance.definition_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.deployment_id == n.deployment_id)))
    if n.definition_without_tenant:
        found.append(ProcessInstance.definition_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.tenant_id.is_(None))))
    if n.activity_ids:
        found.append(waiting_at(n.activity_ids))
    if n.with_incident or n.incident.given():  # an open incident of the case that is so
        found.append(exists().where(Incident.process_instance_id == ProcessInstance.id, Incident.end_time.is_(None),
                                    *n.incident.conditions()))
    if n.without_tenant:
        found.append(ProcessInstance.tenant_id.is_(None))
    if n.root_only:
        found.append(ProcessInstance.super_process_instance_id.is_(None))
    if n.leaf_only:
        called = aliased(ProcessInstance)
        found.append(~exists().where(called.super_process_instance_id == ProcessInstance.id,
                                     called.status == ACTIVE))
    if n.root_instance_id is not None:
        found.append(case_root() == n.root_instance_id)
    return found


def instance_query(*, instance_ids: list[str] | None = None, business_key: str | None = None,
                   definition_id: str | None = None, definition_key: str | None = None,
                   active_only: bool = True, viewer: Principal | None = None, tenant_ids: list[str] | None = None,
                   super_instance: str | None = None, sub_instance: str | None = None,
                   suspended: bool | None = None, narrowing: InstanceNarrowing | None = None) -> Select:
    query = permissions.only_visible(select(ProcessInstance), ProcessInstance.id, viewer)
    query = related(query, super_instance=super_instance, sub_instance=sub_instance)
    query = of_instances(query, business_key=business_key, definition_id=definition_id,
                         definition_key=definition_key, tenant_ids=tenant_ids)
    if active_only:
        query = query.where(ProcessInstance.status == ACTIVE)
    if instance_ids:
        query = query.where(ProcessInstance.id.in_(instance_ids))
    if suspended is not None:
        query = query.where(ProcessInstance.suspended.is_(suspended))
    order = []
    if narrowing is not None:
        query = query.where(*_narrowed(narrowing))
        order = [sorted_by(INSTANCE_SORTS[key], descending)
                 for key, descending in narrowing.sorting]
    # By id after the order asked, as Camunda's default: pages and a batch's targets come the same each time.
    return query.order_by(*order, ProcessInstance.id)


def readable_instance(services: Services, instance_id: str, viewer: Principal) -> ProcessInstance:
    """A running instance, for those who may read it (403 for others)."""
    with services.db.read() as session:
        instance = get_active_instance(session, instance_id)
        permissions.require_instance_read(session, viewer, instance.id)
        return instance
