"""Firing timers that fell due: each exactly once, by whichever worker gets to it first.

Timer rows are a projection of what instances wait for, recomputed on every step of an instance.
A worker claims the due timer rows of many instances in one statement and fires those instances in
one unit of work; on PostgreSQL the claim locks the rows and skips rows another worker holds. The
instance's optimistic revision is the final guard: if two workers fire the same instance, one
commits and the other's unit of work rolls back whole (and is redone one instance at a time).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.cases import batches, job_log
from app.cases.instances import get_active_instance, load_run, record, save_run, start_in_session
from app.clock import SimulatedClock
from app.context import Services
from app.definitions import deployments
from app.engine import ProcessRun, TimerJobDefinition, next_start
from app.errors import Conflict, NotFound, SuspendedEntityInteraction
from app.persistence.database import after_commit
from app.persistence.models import JobDefinitionSetting, ProcessDefinition, ProcessInstance, Timer
from app.persistence.queries import later_than, sorted_by
from app.telemetry import metrics

log = logging.getLogger(__name__)


def next_due(services: Services, until: datetime) -> datetime | None:
    with services.db.read() as session:
        return session.scalar(select(func.min(Timer.due_at))
                              .where(Timer.due_at <= until, Timer.suspended.is_(False)))


def fire_due_timers(services: Services, *, batch: int = 100, per_unit: int = 25) -> int:
    """Fire the timers due at the clock's current time, of up to `batch` start events and `batch`
    instances, each instance once (a cycle that fell behind catches up over several calls); returns
    how many instances advanced.

    Instances are fired `per_unit` to a unit of work, so that commits and the anchor chain's lock are
    shared. A unit that fails (a concurrent writer, an instance whose step fails) is redone one
    instance at a time, so that one bad instance neither blocks nor loses the others; the first
    failure of a step is raised once every other instance of the call had its turn, so that the
    worker logs it and retries at its next round, as with any failing round."""
    now = services.clock.now()
    with services.db.read() as session:
        start_timer_ids = list(session.scalars(
            select(Timer.id).where(Timer.due_at <= now, Timer.process_instance_id.is_(None),
                                   Timer.suspended.is_(False))
            .order_by(Timer.due_at).limit(batch)))
    advanced = 0
    for timer_id in start_timer_ids:
        try:
            if _fire_start_timer(services, timer_id, now):
                advanced += 1
        except Conflict:
            continue
    stepped: set[str] = set()
    failure: Exception | None = None
    while len(stepped) < batch:
        claimed_before = len(stepped)
        unit: list[str] = []
        try:
            advanced += _fire_unit(services, now, stepped, min(per_unit, batch - len(stepped)), unit)
        except Exception:
            if not unit:
                raise  # the claim itself failed: nothing to redo
            for instance_id in unit:  # redone one instance a unit of work: each step is whole or nothing
                try:
                    advanced += _fire_instance(services, instance_id, now)
                except (Conflict, NotFound):
                    continue  # another worker or request changed the instance first; its timers are current
                except Exception as error:
                    failure = failure or error
        if len(stepped) == claimed_before:
            break
    if failure is not None:
        raise failure
    return advanced


def _fire_unit(services: Services, now: datetime, stepped: set[str], most: int, unit: list[str]) -> int:
    """Claim the due timers of up to `most` instances not `stepped` in this call yet, and fire them
    in one unit of work. Every instance claimed joins `stepped`; `unit` receives those fired here.

    One statement claims the first due timer rows; on PostgreSQL it locks them and skips rows another
    worker or a step of the instance holds (SQLite has one writer at a time)."""
    with services.db.write() as session:
        held = {timer.id: timer for timer in session.scalars(
            select(Timer).where(Timer.due_at <= now, Timer.process_instance_id.is_not(None),
                                Timer.suspended.is_(False), Timer.process_instance_id.not_in(list(stepped)))
            .order_by(Timer.due_at).limit(most).with_for_update(skip_locked=True))}
        claimed = list(dict.fromkeys(timer.process_instance_id for timer in held.values()
                                     if timer.process_instance_id is not None))
        stepped.update(claimed)
        if not claimed:
            return 0
        timers = _wholly_held(session, held, claimed, now)
        unit += timers
        advanced = 0
        # The unit's instances in one statement: get_active_instance finds each in the session.
        for loaded in session.scalars(select(ProcessInstance).where(ProcessInstance.id.in_(unit))).all():
            try:
                instance = get_active_instance(session, loaded.id)
            except NotFound:
                continue  # it ended meanwhile; nothing of it was written in this unit
            if instance.suspended:
                continue  # suspended meanwhile: its timers wait until it is activated
            advanced += _advance(services, session, instance, timers[instance.id], now)
        return advanced


def _fire_instance(services: Services, instance_id: str, now: datetime) -> bool:
    with services.db.write() as session:
        due = _wholly_held(session, {}, [instance_id], now).get(instance_id)
        if not due:
            return False
        instance = get_active_instance(session, instance_id)
        if instance.suspended:
            return False  # suspended meanwhile: its timers wait until it is activated
        return _advance(services, session, instance, due, now)


def _wholly_held(session: Session, held: dict[str, Timer], instance_ids: list[str],
                 now: datetime) -> dict[str, list[Timer]]:
    """The instances of `instance_ids` whose every due timer this unit of work holds, each with those
    timers in due order. Their due rows not `held` yet are locked in one statement, skipping rows
    someone else holds: an instance fired with part of its due timers would fire the others unrecorded,
    so one that another worker holds in part is left to a later call."""
    due = session.execute(select(Timer.id, Timer.process_instance_id)
                          .where(Timer.process_instance_id.in_(instance_ids), Timer.due_at <= now,
                                 Timer.suspended.is_(False))).all()
    beyond = [row.id for row in due if row.id not in held]
    if beyond:
        held.update((timer.id, timer) for timer in session.scalars(
            select(Timer).where(Timer.id.in_(beyond)).with_for_update(skip_locked=True)))
    held_elsewhere = {row.process_instance_id for row in due if row.id not in held}
    timers: dict[str, list[Timer]] = {instance_id: [] for instance_id in instance_ids
                                      if instance_id not in held_elsewhere}
    for timer in sorted(held.values(), key=lambda timer: (timer.due_at, timer.id)):
        if timer.process_instance_id in timers:
            timers[timer.process_instance_id].append(timer)
    return timers


def _advance(services: Services, session: Session, instance: ProcessInstance, due: list[Timer],
             now: datetime, run: ProcessRun | None = None) -> bool:
    """Fire an instance's due timers (`due`, held by this unit of work) and write the step (of `run`,
    when the instance's run was loaded and changed already)."""
    run = run or load_run(services, session, instance)
    result = run.fire_due_timers()
    # A timer fired when it no longer waits for that instant: it ended, or a cycle moved it on.
    still_waiting = {(timer.task_id, timer.due) for timer in result.timers}
    fired = [timer for timer in due if (timer.id, timer.due_at) not in still_waiting]
    if not fired:
        return False
    job_log.mark_fired(session, [timer.id for timer in fired])
    for timer in fired:
        record(session, instance, "timer.fired", now, activity_id=timer.activity_id, task_id=timer.id,
               due=timer.due_at.isoformat() if timer.due_at else None, clock=now.isoformat())
        _report_firing(session, instance, timer.activity_id, timer.due_at, now)
    save_run(services, session, instance, run, result, now)
    return True


def fire_timer(services: Services, timer_id: str, now: datetime, *, actor_id: str | None) -> None:
    """Fire one timer of an instance now, though it is not due yet (Camunda's executeJob), as
    `_fire_instance` fires the due ones: the step is written whole or not at all. The instance's
    history records who had it fire (job.executed) before the firing itself; a cycle goes on from the
    instant it was scheduled for."""
    with services.db.write() as session:
        timer = session.scalars(select(Timer).where(Timer.id == timer_id).with_for_update()).first()
        if timer is None or timer.process_instance_id is None:
            raise NotFound(f"Job with id {timer_id} does not exist")
        instance = get_active_instance(session, timer.process_instance_id)
        if instance.suspended or timer.suspended:
            raise SuspendedEntityInteraction(f"Job {timer_id} is suspended and cannot be executed")
        run = load_run(services, session, instance)
        job = run.timer_job(timer_id)
        run.set_timer_due(timer_id, now, cascade=False)
        record(session, instance, "job.executed", now, user_id=actor_id, activity_id=job.activity_id,
               task_id=timer_id, due=job.due.isoformat() if job.due else None)
        _advance(services, session, instance, [Timer(id=timer_id, activity_id=timer.activity_id, due_at=now)], now,
                 run)


def fire_start_timer(services: Services, timer_id: str, now: datetime, *, actor_id: str | None) -> None:
    """Fire a timer start event now (Camunda's executeJob on it): one instance starts there."""
    with services.db.write() as session:
        timer = session.scalars(select(Timer).where(Timer.id == timer_id).with_for_update()).first()
        if timer is None or timer.process_instance_id is not None:
            raise NotFound(f"Job with id {timer_id} does not exist")
        ledger.record_admin(session, "job.executed", f"job:{timer_id}", now, actor_id,
                            process_definition_id=timer.process_definition_id, activity_id=timer.activity_id,
                            due=timer.due_at.isoformat() if timer.due_at else None)
        _start_at(services, session, timer, now)


def _fire_start_timer(services: Services, timer_id: str, now: datetime) -> bool:
    """A timer start event fell due: start one instance there, and wait for the next cycle if any."""
    with services.db.write() as session:
        timer = session.scalars(select(Timer).where(Timer.id == timer_id, Timer.due_at <= now,
                                                    Timer.suspended.is_(False))
                                .with_for_update(skip_locked=True)).first()
        if timer is None or timer.due_at is None:
            return False  # another worker fired it first
        return _start_at(services, session, timer, now)


def _start_at(services: Services, session: Session, timer: Timer, now: datetime) -> bool:
    definition = session.get_one(ProcessDefinition, timer.process_definition_id)
    due = timer.due_at or now
    following = next_start(due, timer.repeat, services.settings.zone, now, definition.semantics)
    timer_jobs = services.models.get(session, definition.id).timer_jobs
    job_log.start_timer_changed(session, timer, "success", now, timer_jobs, definition.tenant_id)
    if following is None:
        session.delete(timer)
    else:
        timer.due_at, timer.repeat = following
        job_log.start_timer_changed(session, timer, "creation", now, timer_jobs, definition.tenant_id)
    if definition.suspended:
        return True  # a suspended definition lets its start timer pass, as Camunda does
    instance, _ = start_in_session(services, session, definition, {}, None, start_event=timer.activity_id,
                                   trigger={"timer": due.isoformat()})
    record(session, instance, "timer.fired", now, activity_id=timer.activity_id, task_id=timer.id,
           due=due.isoformat(), clock=now.isoformat())
    _report_firing(session, instance, timer.activity_id, due, now)
    return True


def _report_firing(session: Session, instance: ProcessInstance, activity_id: str, due: datetime | None,
                   now: datetime) -> None:
    """Once the firing has committed: count it, time how late it fired, and log it (a timer that fell
    due while the service was stopped shows here when it fires at start)."""
    lag = (now - due).total_seconds() if due is not None else 0.0
    instance_id, business_key = instance.id, instance.business_key

    def report() -> None:
        metrics.timer_fired(lag)
        log.info("timer %s fired, due %s, %.1f s late", activity_id, due.isoformat() if due else "-", lag,
                 extra={"instance_id": instance_id, "business_key": business_key})
    after_commit(session, report)


def overdue_timers(services: Services) -> int:
    """How many timers are due now and wait to fire (at start: those that fell due while the service
    was stopped)."""
    with services.db.read() as session:
        return session.scalar(select(func.count()).select_from(Timer)
                              .where(Timer.due_at <= services.clock.now(), Timer.suspended.is_(False))) or 0


def advance_clock_to(services: Services, clock: SimulatedClock, target: datetime) -> int:
    """Move a simulated clock to `target`, stopping at each due instant on the way, so that timers
    fire in due order and each sees the clock at its own due time."""
    fired = 0
    for _ in range(100_000):
        due = next_due(services, target)
        if due is None:
            break
        if due > clock.now():
            clock.set(due)
        count = fire_due_timers(services)
        if count == 0:
            break
        fired += count
    clock.set(target)
    fired += fire_due_timers(services)
    batches.run_batches(services)  # the worker's pass runs the batches after the timers
    return fired


# Camunda's job sort keys: the service's jobs all have three retries, so jobRetries keeps the order of ids.
JOB_SORTS = ("jobId", "executionId", "processInstanceId", "processDefinitionId", "processDefinitionKey",
             "jobRetries", "jobDueDate", "jobPriority", "tenantId")


@dataclass(frozen=True)
class JobFilter:
    """Camunda's job query over the service's jobs, which are its timers. What no timer can be (a
    message job, one that failed or has no retries left, one a job executor holds) matches nothing:
    a timer's firing is not written when its step fails and is retried at the next round."""

    # Sets of ids each of which a job's (its case's) id must be in: jobId and jobIds, processInstanceId,
    # executionId and processInstanceIds narrow together.
    job_ids: tuple[tuple[str, ...], ...] = ()
    instance_ids: tuple[tuple[str, ...], ...] = ()
    definition_id: str | None = None
    definition_key: str | None = None
    activity_id: str | None = None
    job_definition_id: str | None = None
    executable_at: datetime | None = None
    suspended: bool | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    created_after: datetime | None = None
    created_until: datetime | None = None
    lowest_priority: int | None = None
    highest_priority: int | None = None
    tenant_ids: tuple[str, ...] | None = None
    with_untenanted: bool = False
    none: bool = False
    sorting: tuple[tuple[str, bool], ...] = ()


def _job_tenant() -> Any:
    """A job's tenant: its case's, or for a timer start event its definition's."""
    return func.coalesce(ProcessInstance.tenant_id,
                         select(ProcessDefinition.tenant_id).where(ProcessDefinition.id == Timer.process_definition_id)
                         .scalar_subquery())


def job_query(criteria: JobFilter, viewer: Principal) -> Select:
    """The timers instances wait on, as Camunda's jobs (rows of timer, case or None, tenant). A timer
    start event's job belongs to its definition and has no instance yet (administrators, auditors and
    the systems see those)."""
    tenant = _job_tenant()
    definition_id = func.coalesce(ProcessInstance.definition_id, Timer.process_definition_id)
    query = select(Timer, ProcessInstance, tenant).outerjoin(ProcessInstance,
                                                             ProcessInstance.id == Timer.process_instance_id)
    conditions = [*(Timer.id.in_(ids) for ids in criteria.job_ids),
                  *(Timer.process_instance_id.in_(ids) for ids in criteria.instance_ids),
                  definition_id == criteria.definition_id if criteria.definition_id else None,
                  Timer.process_definition_key == criteria.definition_key if criteria.definition_key else None,
                  Timer.activity_id == criteria.activity_id if criteria.activity_id else None,
                  Timer.suspended.is_(criteria.suspended) if criteria.suspended is not None else None,
                  later_than(Timer.due_at, criteria.due_after) if criteria.due_after else None,
                  Timer.due_at < criteria.due_before if criteria.due_before else None,
                  later_than(Timer.created, criteria.created_after) if criteria.created_after else None,
                  Timer.created <= criteria.created_until if criteria.created_until else None,
                  Timer.priority >= criteria.lowest_priority if criteria.lowest_priority is not None else None,
                  Timer.priority <= criteria.highest_priority if criteria.highest_priority is not None else None]
    if criteria.job_definition_id:
        conditions.append((definition_id + "#" + Timer.activity_id) == criteria.job_definition_id)
    if criteria.executable_at:
        # As Camunda's: due (or without a date) and of a case that is not suspended.
        conditions.append(or_(Timer.due_at.is_(None), Timer.due_at <= criteria.executable_at))
        conditions.append(or_(ProcessInstance.id.is_(None), ProcessInstance.suspended.is_(False)))
    if criteria.tenant_ids is not None:
        tenanted = tenant.in_(criteria.tenant_ids) if criteria.tenant_ids else false()
        conditions.append(or_(tenanted, tenant.is_(None)) if criteria.with_untenanted else tenanted)
    if criteria.none:
        conditions.append(false())
    query = query.where(*(condition for condition in conditions if condition is not None))
    columns = {"jobId": Timer.id, "executionId": Timer.process_instance_id,
               "processInstanceId": Timer.process_instance_id, "processDefinitionId": definition_id,
               "processDefinitionKey": Timer.process_definition_key, "jobRetries": Timer.id,
               "jobDueDate": Timer.due_at, "jobPriority": Timer.priority, "tenantId": tenant}
    order = [sorted_by(columns[key], descending) for key, descending in criteria.sorting]
    return permissions.only_visible(query, Timer.process_instance_id,
                                    permissions.unless_in(viewer, permissions.SYSTEMS)
                                    ).order_by(*order, Timer.due_at, Timer.id)


def readable_job(services: Services, job_id: str,
                 viewer: Principal) -> tuple[Timer, ProcessInstance | None, str | None]:
    """One job (a timer) the viewer may see, as GET /job/{id} answers it."""
    with services.db.read() as session:
        found = session.execute(job_query(JobFilter(job_ids=((job_id,),)), viewer)).first()
    if found is None:
        raise NotFound(f"Job with id {job_id} does not exist")
    return found[0], found[1], found[2]


@dataclass(frozen=True)
class JobDefinition:
    """A timer event of a deployed process, as Camunda's job definition, with what operators set on
    it (suspended on its own, an overriding job priority)."""

    id: str
    definition: ProcessDefinition
    timer: TimerJobDefinition
    own_suspension: bool = False
    overriding_priority: int | None = None

    @property
    def suspended(self) -> bool:
        return self.definition.suspended or self.own_suspension


def job_definitions(services: Services, p: Mapping[str, Any], *, activities: list[str],
                    suspended: bool | None) -> list[JobDefinition]:
    """Camunda's job definition query: jobDefinitionId, processDefinitionId, processDefinitionKey,
    jobType, jobConfiguration in `p`, the activities (activityIdIn) and the suspension state; one per
    timer event of every deployed version, by definition and activity."""
    with services.db.read() as session:
        query = deployments.definition_query(ids=[p["processDefinitionId"]] if p.get("processDefinitionId") else None,
                                             key=p.get("processDefinitionKey"))
        found = [JobDefinition(f"{definition.id}#{timer.activity_id}", definition, timer)
                 for definition in session.scalars(query)
                 for timer in services.models.get(session, definition.id).timer_jobs]
        settings = {setting.id: setting for setting in session.scalars(
            select(JobDefinitionSetting).where(JobDefinitionSetting.process_definition_id.in_(
                {job.definition.id for job in found})))}
    found = [replace(job, own_suspension=settings[job.id].suspended,
                     overriding_priority=settings[job.id].job_priority) if job.id in settings else job
             for job in found]
    return [job for job in found
            if p.get("jobDefinitionId") in (None, job.id) and (not activities or job.timer.activity_id in activities)
            and p.get("jobType") in (None, job.timer.job_type)
            and p.get("jobConfiguration") in (None, job.timer.configuration)
            and suspended in (None, job.suspended)]


def job_definition(services: Services, job_definition_id: str) -> JobDefinition:
    """One job definition by its id (the definition's id, '#', the timer event's id)."""
    found = job_definitions(services, {"jobDefinitionId": job_definition_id,
                                       "processDefinitionId": job_definition_id.partition("#")[0]},
                            activities=[], suspended=None)
    if not found:
        raise NotFound(f"Job Definition with id {job_definition_id} does not exist")
    return found[0]
