"""Batches: Camunda's bulk operations, created at once and run later by the timer worker.

A batch names its targets (cases, external tasks) when it is created, one part each, and keeps the
operation's parameters. Each pass of the timer worker runs up to `batch_jobs_per_pass` pending parts
of every active batch, each target in its own unit of work through the use case its synchronous
command calls, with the rights the batch's creator has when the part runs (the account read again
at each pass, so that a creator who lost the right, or whose account is gone, runs nothing more: the
parts fail, saying so), and the target's history records who started the batch. A part is marked
done in the unit of work that changed its target (so that it runs once, even with several workers);
a target whose command is refused marks its part failed with
the refusal, and the batch goes on. A batch whose parts are all done ends: it stays as history
(/history/batch) with its end time. Suspended batches wait; a deleted batch runs nothing more.
Creating, suspending, activating, ending and deleting a batch are recorded in the administrative
history.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, delete, exists, func, select, update
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import ADMINISTRATORS, Principal, stored_principal
from app.audit import ledger, removal
from app.cases import events, external_tasks, instances, listing, migration, modification, restart, suspension
from app.context import Services
from app.engine import Instruction
from app.engine.binaries import BinaryValue
from app.engine.migration import MigrationInstruction
from app.errors import Conflict, InvalidRequest, NotFoundByQuery, ServiceError
from app.persistence.database import joined_to_next_unit
from app.persistence.models import Account, Batch, BatchPart
from app.persistence.queries import sorted_by

log = logging.getLogger(__name__)

# Camunda's batch types (org.camunda.bpm.engine.batch.Batch).
INSTANCE_DELETION = "instance-deletion"
HISTORIC_INSTANCE_DELETION = "historic-instance-deletion"
SUSPENSION = "instance-update-suspension-state"
SET_VARIABLES = "set-variables"
CORRELATE_MESSAGE = "correlate-message"
MODIFICATION = "instance-modification"
MIGRATION = "instance-migration"
RESTART = "instance-restart"
EXTERNAL_TASK_RETRIES = "set-external-task-retries"

PENDING, DONE, FAILED = "pending", "done", "failed"
# Who may start (and so keep running) a batch of each kind besides the administrators: the groups of
# the routes that create it.
_ALSO_ALLOWED: dict[str, tuple[str, ...]] = {CORRELATE_MESSAGE: (permissions.SYSTEMS,),
                                             EXTERNAL_TASK_RETRIES: (permissions.SYSTEMS,)}
# How many failures an administrative event names when a batch with failures is deleted.
_FAILURES_SHOWN = 100


# --- What a part does to its target -----------------------------------------------------------

def stored_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Variable values as a batch keeps them in JSON: an instant (a Date variable) stays one. A Bytes or
    File variable is refused: its content is kept with the case it belongs to, which a batch's variables
    have none of until its parts run."""
    binary = sorted(name for name, value in values.items() if isinstance(value, BinaryValue))
    if binary:
        raise InvalidRequest(f"Variable '{binary[0]}' is a {values[binary[0]].kind} variable: a batch keeps its "
                             "variables as JSON until it runs; set Bytes and File variables per case through "
                             "PUT /process-instance/{id}/variables/{name}/data")
    return {name: {"instant": value.isoformat()} if isinstance(value, datetime) else {"value": value}
            for name, value in values.items()}


def _restored(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {name: datetime.fromisoformat(item["instant"]) if "instant" in item else item["value"]
            for name, item in stored.items()}


def stored_instruction(instruction: Instruction) -> dict[str, Any]:
    return {"kind": instruction.kind, "activityId": instruction.activity_id,
            "transitionId": instruction.transition_id, "activityInstanceId": instruction.activity_instance_id,
            "variables": stored_values(instruction.variables)}


def stored_plan(plan: migration.MigrationPlan) -> dict[str, Any]:
    return {"source": plan.source_definition_id, "target": plan.target_definition_id,
            "instructions": [[item.source, item.target, item.update_event_trigger] for item in plan.instructions],
            "variables": stored_values(plan.variables)}


def _delete(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    instances.delete_instance(services, target, reason=config.get("deleteReason"), actor=actor,
                              skip_subprocesses=bool(config.get("skipSubprocesses")))


def _delete_history(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    removal.delete_history(services, target, actor=actor, fail_if_not_exists=config.get("failIfNotExists", True))


def _suspend(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    suspension.suspend_instance(services, target, suspended=bool(config["suspended"]), actor=actor)


def _set_variables(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    instances.modify_variables(services, target, modifications=_restored(config["variables"]), deletions=(),
                               actor=actor)


def _correlate(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    # As Camunda's batch: the message goes to whatever of the case waits for it, if anything does.
    events.correlate_message(services, name=config["messageName"], instance_id=target,
                             variables=_restored(config["variables"]), all_matches=True, actor=actor)


def _instructions(config: Mapping[str, Any]) -> list[Instruction]:
    return [Instruction(item["kind"], item["activityId"], item["transitionId"], item["activityInstanceId"],
                        _restored(item["variables"])) for item in config["instructions"]]


def _modify(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    modification.modify_many(services, [target], config.get("processDefinitionId"), _instructions(config),
                             annotation=config.get("annotation"), actor=actor)


def _restart(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    restart.restart(services, config["processDefinitionId"], [target], _instructions(config),
                    initial_variables=bool(config.get("initialVariables")),
                    without_business_key=bool(config.get("withoutBusinessKey")), actor=actor)


def _migrate(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    plan = config["plan"]
    migration.execute(services, migration.MigrationPlan(
        plan["source"], plan["target"], tuple(MigrationInstruction(*item) for item in plan["instructions"]),
        _restored(plan["variables"])), [target], actor=actor)


def _external_task_retries(services: Services, target: str, config: Mapping[str, Any], actor: Principal) -> None:
    external_tasks.set_retries(services, [target], int(config["retries"]), actor=actor)


Operation = Callable[[Services, str, Mapping[str, Any], Principal], None]
_OPERATIONS: dict[str, Operation] = {
    INSTANCE_DELETION: _delete, HISTORIC_INSTANCE_DELETION: _delete_history, SUSPENSION: _suspend,
    SET_VARIABLES: _set_variables, CORRELATE_MESSAGE: _correlate, MODIFICATION: _modify, MIGRATION: _migrate,
    EXTERNAL_TASK_RETRIES: _external_task_retries, RESTART: _restart}


# --- Creating a batch -----------------------------------------------------------------------------

def create(services: Services, kind: str, targets: Sequence[str], configuration: Mapping[str, Any], *,
           actor: Principal, empty_message: str) -> Batch:
    """A batch of `kind` over the targets (each once, in the order given), recorded in the
    administrative history; refused with `empty_message` when there are none."""
    unique = list(dict.fromkeys(targets))
    if not unique:
        raise InvalidRequest(empty_message)
    most = services.settings.batch_max_targets
    if len(unique) > most:
        raise InvalidRequest(f"A batch takes at most {most} targets; {len(unique)} were named: narrow the query "
                             "or split the operation")
    now = services.clock.now()
    with services.db.write() as session:
        # A creator without an account of the service (signed in by a single sign-on token) keeps the
        # rights the token gave; an account's are read again whenever the batch runs.
        has_account = session.get(Account, actor.user_id) is not None if actor.user_id else False
        batch = Batch(id=str(uuid.uuid4()), type=kind, total_jobs=len(unique),
                      batch_jobs_per_seed=services.settings.batch_jobs_per_pass, invocations_per_batch_job=1,
                      suspended=False, tenant_id=None, create_user_id=actor.user_id,
                      creator={"groups": sorted(actor.groups), "region": actor.region,
                               "groupRegions": sorted(actor.group_regions), "account": has_account},
                      configuration=dict(configuration), start_time=now)
        session.add(batch)
        session.flush()
        session.execute(BatchPart.__table__.insert(), [
            {"batch_id": batch.id, "position": position, "target": target, "state": PENDING}
            for position, target in enumerate(unique)])
        ledger.record_admin(session, "batch.created", f"batch:{batch.id}", now, actor.user_id, type=kind,
                            totalJobs=len(unique))
    return batch


def create_restart(services: Services, definition_id: str, targets: Sequence[str], instructions: Sequence[Instruction],
                   *, initial_variables: bool, without_business_key: bool, actor: Principal) -> Batch:
    """Camunda's restart-async: the request checked as the synchronous restart checks it, each case
    restarted later in its own unit of work."""
    restart.check_request(targets, instructions)
    with services.db.read() as session:
        restart.restartable_definition(session, definition_id)
    return create(services, RESTART, targets, {
        "processDefinitionId": definition_id, "initialVariables": initial_variables,
        "withoutBusinessKey": without_business_key,
        "instructions": [stored_instruction(item) for item in instructions]},
        actor=actor, empty_message=restart.NO_INSTANCES)


def bounded_targets(services: Services, query: Select, what: str, keep: listing.Keep | None = None) -> list[str]:
    """The ids a query inside a batch request finds (its first column's rows, or their `id`; with
    `keep`, of the rows it keeps), refused when they are more than a batch takes, as a listing refuses
    more than its page allows."""
    most = services.settings.batch_max_targets
    if keep is not None:
        firsts = [row[0] if isinstance(row, Row) else row
                  for row in listing.rows_kept(services, query, keep, 0, most + 1)]
    else:
        with services.db.read() as session:
            firsts = [row[0] for row in session.execute(query.limit(most + 1)).all()]
    if len(firsts) > most:
        raise InvalidRequest(f"The {what} finds more than {most} targets, more than a batch takes: narrow it")
    return [first if isinstance(first, str) else first.id for first in firsts]


# --- Reading batches ------------------------------------------------------------------------------

@dataclass
class BatchFilter:
    batch_id: str | None = None
    kind: str | None = None
    tenant_ids: list[str] = field(default_factory=list)
    without_tenant: bool = False
    suspended: bool | None = None
    created_by: str | None = None
    started_before: datetime | None = None
    started_after: datetime | None = None
    with_failures: bool = False
    without_failures: bool = False
    # None: running and ended (history); True: ended only; False: running only.
    completed: bool | None = False
    sort_desc: dict[str, bool] = field(default_factory=dict)


SORT = {"batchId": Batch.id, "tenantId": Batch.tenant_id, "startTime": Batch.start_time, "endTime": Batch.end_time}


def _failed(state: str) -> Any:
    return exists().where(BatchPart.batch_id == Batch.id, BatchPart.state == state)


def batch_query(criteria: BatchFilter) -> Select:
    query = select(Batch)
    if criteria.completed is not None:
        query = query.where(Batch.end_time.is_not(None) if criteria.completed else Batch.end_time.is_(None))
    for column, value in ((Batch.id, criteria.batch_id), (Batch.type, criteria.kind),
                          (Batch.create_user_id, criteria.created_by), (Batch.suspended, criteria.suspended)):
        if value is not None:
            query = query.where(column == value)
    if criteria.tenant_ids:
        query = query.where(Batch.tenant_id.in_(criteria.tenant_ids))
    if criteria.without_tenant:
        query = query.where(Batch.tenant_id.is_(None))
    if criteria.started_before is not None:
        query = query.where(Batch.start_time <= criteria.started_before)
    if criteria.started_after is not None:
        query = query.where(Batch.start_time >= criteria.started_after)
    if criteria.with_failures:
        query = query.where(_failed(FAILED))
    if criteria.without_failures:
        query = query.where(~_failed(FAILED))
    order = [sorted_by(SORT[key], desc) for key, desc in criteria.sort_desc.items()]
    return query.order_by(*order, Batch.start_time, Batch.id)


def _count_of(state: str) -> Any:
    return (select(func.count()).where(BatchPart.batch_id == Batch.id, BatchPart.state == state)
            .correlate(Batch).scalar_subquery())


def statistics_query(criteria: BatchFilter) -> Select:
    """Rows of (batch, parts done, parts failed)."""
    return batch_query(criteria).add_columns(_count_of(DONE), _count_of(FAILED))


def cleanable_report_query(sort_desc: dict[str, bool]) -> Select:
    """Rows of (batch type, ended batches of that type) over the batches' history (Camunda's
    cleanable batch report; no history time to live is set here, so none is cleanable)."""
    finished = func.count(Batch.end_time)
    order = [sorted_by(finished, desc) for desc in sort_desc.values()]
    return select(Batch.type, finished).group_by(Batch.type).order_by(*order, Batch.type)


def get_batch(services: Services, batch_id: str, *, history: bool = False) -> Batch:
    with services.db.read() as session:
        batch = session.get(Batch, batch_id)
    if batch is None or (batch.end_time is not None and not history):
        raise NotFoundByQuery(f"{'Historic batch' if history else 'Batch'} with id '{batch_id}' does not exist")
    return batch


# --- Commands on batches --------------------------------------------------------------------------

def _running(session: Session, batch_id: str, refusal: str) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None or batch.end_time is not None:
        raise InvalidRequest(refusal)
    return batch


def suspend(services: Services, batch_id: str, *, suspended: bool, actor: Principal) -> None:
    verb = "suspend" if suspended else "activate"
    with services.db.write() as session:
        batch = _running(session, batch_id, f"Unable to {verb} batch with id '{batch_id}'")
        if batch.suspended != suspended:
            batch.suspended = suspended
            ledger.record_admin(session, "batch.suspended" if suspended else "batch.activated", f"batch:{batch_id}",
                                services.clock.now(), actor.user_id, type=batch.type)


def _progress(session: Session, batch_id: str) -> dict[str, Any]:
    counts = {state: count for state, count in session.execute(
        select(BatchPart.state, func.count()).where(BatchPart.batch_id == batch_id).group_by(BatchPart.state))}
    failures = session.execute(select(BatchPart.target, BatchPart.failure).where(
        BatchPart.batch_id == batch_id, BatchPart.state == FAILED).order_by(BatchPart.position)
        .limit(_FAILURES_SHOWN)).all()
    return {"completedJobs": counts.get(DONE, 0), "failedJobs": counts.get(FAILED, 0),
            "remainingJobs": counts.get(PENDING, 0) + counts.get(FAILED, 0),
            "failures": [{"target": target, "message": message} for target, message in failures]}


def delete_batch(services: Services, batch_id: str, *, cascade: bool, actor: Principal) -> None:
    """Stop a running batch: its pending parts never run. It stays as history (ended now), unless
    `cascade` deletes its history too."""
    now = services.clock.now()
    refusal = f"Unable to delete batch with id '{batch_id}'"
    with services.db.write() as session:
        batch = _running(session, batch_id, refusal)
        if not _ended(session, batch_id, now):
            raise InvalidRequest(refusal)  # it ended meanwhile
        ledger.record_admin(session, "batch.deleted", f"batch:{batch_id}", now, actor.user_id, type=batch.type,
                            totalJobs=batch.total_jobs, cascade=cascade, **_progress(session, batch_id))
        if cascade:
            session.execute(delete(BatchPart).where(BatchPart.batch_id == batch_id))
            session.execute(delete(Batch).where(Batch.id == batch_id))


def _ended(session: Session, batch_id: str, now: datetime) -> bool:
    """End a running batch; False when it has ended already (another worker or request came first:
    on PostgreSQL the update waits for that one's commit and then finds nothing to end)."""
    ended = session.execute(update(Batch).where(Batch.id == batch_id, Batch.end_time.is_(None)).values(end_time=now))
    return ended.rowcount == 1  # type: ignore[attr-defined]


def delete_history(services: Services, batch_id: str, *, actor: Principal) -> None:
    refusal = f"Unable to delete historic batch with id '{batch_id}'"
    with services.db.write() as session:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise InvalidRequest(refusal)
        if batch.end_time is None:
            raise InvalidRequest(f"{refusal}: the batch still runs; delete it first (DELETE /batch/{{id}})")
        session.execute(delete(BatchPart).where(BatchPart.batch_id == batch_id))
        session.delete(batch)
        ledger.record_admin(session, "batch.historyDeleted", f"batch:{batch_id}", services.clock.now(),
                            actor.user_id, type=batch.type)


# --- Running batches (the timer worker) -----------------------------------------------------------

def run_batches(services: Services) -> int:
    """One pass over the active batches: up to `batch_jobs_per_pass` pending parts of each, each in
    its own unit of work; returns how many parts ran (done or failed)."""
    with services.db.read() as session:
        batch_ids = list(session.scalars(select(Batch.id).where(Batch.end_time.is_(None), Batch.suspended.is_(False))
                                         .order_by(Batch.start_time, Batch.id)))
    ran = 0
    for batch_id in batch_ids:
        ran += _run_batch(services, batch_id)
    return ran


def _run_batch(services: Services, batch_id: str) -> int:
    with services.db.read() as session:
        batch = session.get(Batch, batch_id)
        parts = session.execute(select(BatchPart.id, BatchPart.target).where(
            BatchPart.batch_id == batch_id, BatchPart.state == PENDING).order_by(BatchPart.position)
            .limit(services.settings.batch_jobs_per_pass)).all()
    if batch is None:
        return 0
    actor, refusal = _creator(services, batch)
    operation = _OPERATIONS[batch.type]
    ran = 0
    for part_id, target in parts:
        if not _still_runs(services, batch_id):
            return ran  # suspended or deleted meanwhile
        ran += (_fail_part(services, batch.id, part_id, services.clock.now(), refusal) if refusal
                else _run_part(services, batch, part_id, target, operation, actor))
    try:
        _end_if_done(services, batch_id)
    except Conflict:
        pass  # another worker ended it at the same time
    return ran


def _creator(services: Services, batch: Batch) -> tuple[Principal, str | None]:
    """The batch's creator as they are now, and why their batch may no longer run, if it may not."""
    creator = batch.creator
    if not creator.get("account", True):
        return Principal(batch.create_user_id, frozenset(creator.get("groups", ())), creator.get("region"),
                         frozenset(creator.get("groupRegions", ()))), None
    user_id = batch.create_user_id or ""
    with services.db.read() as session:
        exists_now = session.get(Account, user_id) is not None
        actor = stored_principal(session, user_id) if exists_now else Principal(batch.create_user_id)
    if not exists_now:
        return actor, f"The batch's creator {user_id} may no longer run it: the account no longer exists"
    allowed = _ALSO_ALLOWED.get(batch.type, ())
    if not permissions.is_administrator(actor) and not actor.groups & set(allowed):
        groups = ", ".join([ADMINISTRATORS, *allowed])
        return actor, (f"The batch's creator {user_id} may no longer run it: the account is no longer in a "
                       f"group that may ({groups})")
    return actor, None


def _still_runs(services: Services, batch_id: str) -> bool:
    with services.db.read() as session:
        batch = session.get(Batch, batch_id)
        return batch is not None and batch.end_time is None and not batch.suspended


def _settle(session: Session, batch_id: str, part_id: int, state: str, now: datetime,
            failure: str | None = None) -> None:
    """Mark a pending part; a part another worker settled first refuses (the unit rolls back)."""
    settled = session.execute(update(BatchPart).where(BatchPart.id == part_id, BatchPart.state == PENDING)
                              .values(state=state, failure=failure, executed_at=now))
    if settled.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("The batch part was run by another worker")
    session.execute(update(Batch).where(Batch.id == batch_id, Batch.execution_start_time.is_(None))
                    .values(execution_start_time=now))


def _run_part(services: Services, batch: Batch, part_id: int, target: str, operation: Operation,
              actor: Principal) -> int:
    now = services.clock.now()
    try:
        with (joined_to_next_unit(lambda session: _settle(session, batch.id, part_id, DONE, now)) as settled,
              instances.for_batch(batch.id)):
            operation(services, target, batch.configuration, actor)
        if not settled():  # the command had nothing to write
            with services.db.write() as session:
                _settle(session, batch.id, part_id, DONE, now)
        return 1
    except Conflict:
        return 0  # another writer came first: the part runs again at the next pass, unless settled
    except ServiceError as error:
        failure = error.message
    except Exception:  # a failing part must not stop the batch; its cause is in the log
        log.exception("batch %s: the operation on %s failed", batch.id, target)
        failure = "The operation failed unexpectedly; the service's log has the details"
    return _fail_part(services, batch.id, part_id, now, failure)


def _fail_part(services: Services, batch_id: str, part_id: int, now: datetime, failure: str) -> int:
    try:
        with services.db.write() as session:
            _settle(session, batch_id, part_id, FAILED, now, failure)
    except Conflict:
        return 0
    return 1


def _end_if_done(services: Services, batch_id: str) -> None:
    """A batch whose every part is done ends (failed parts keep it running, as Camunda's failed jobs)."""
    with services.db.write() as session:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.end_time is not None or session.scalar(select(exists().where(and_(
                BatchPart.batch_id == batch_id, BatchPart.state != DONE)))):
            return
        now = services.clock.now()
        if not _ended(session, batch_id, now):
            return
        ledger.record_admin(session, "batch.completed", f"batch:{batch_id}", now, None, type=batch.type,
                            totalJobs=batch.total_jobs, createUserId=batch.create_user_id)
