"""What operators do with timers as Camunda's jobs: move one (PUT /job/{id}/duedate), recompute it
from its definition, fire it now, suspend or activate it, set its priority, delete it.

A timer an instance waits on lives in the instance's state (the engine's token): every command
changes it there and writes the step, with the timer rows and the case's history, in one unit of
work, so that a moved, suspended or deleted timer stays so across restarts and replays. A timer
start event's job belongs to its definition (no instance yet): its row is the timer, and what is
done to it goes to the administrative history.

Deleting a timer must not leave a case with nothing to wait for. A boundary timer may go (its
activity still waits for its work), as may a timer start event's; a timer that is the token's only
way on (an intermediate timer catch event, a branch of an event-based gateway, an event
subprocess's start) is refused: move the token with process-instance modification instead.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import permissions
from app.access.accounts import Principal
from app.audit import ledger
from app.cases import job_log, timers
from app.cases.instances import get_active_instance, load_run, record, save_run
from app.cases.timers import fire_start_timer, fire_timer
from app.clock import SimulatedClock
from app.context import Services
from app.engine import ProcessRun, TimerJob, schedule_start_timer
from app.errors import BadUserRequest, InvalidRequest, NotFound, SuspendedEntityInteraction
from app.persistence.models import JobDefinitionSetting, ProcessDefinition, ProcessInstance, Timer

# The bounds of a job priority: Camunda's is a Java long.
PRIORITY_RANGE = (-(2 ** 63), 2 ** 63 - 1)
_WAITS_ON_IT = {
    "intermediate": "an intermediate timer catch event, the only thing its token waits for",
    "gateway": "a branch of an event-based gateway, which its token waits on with the other branches",
    "event-subprocess-start": "the start of an event subprocess, which its scope keeps listening for",
}


def _require_operator(actor: Principal, job_id: str) -> None:
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "Job", job_id)


def _timer(session: Session, job_id: str) -> Timer:
    timer = session.scalars(select(Timer).where(Timer.id == job_id).with_for_update()).first()
    if timer is None:
        raise NotFound(f"Job with id {job_id} does not exist")
    return timer


def _on_instance(services: Services, session: Session, timer: Timer, actor: Principal, kind: str,
                 change: Callable[[ProcessRun, TimerJob], Mapping[str, Any]]) -> None:
    """Change a timer an instance waits on, in its run, and write the step with `kind` in its history."""
    instance = get_active_instance(session, str(timer.process_instance_id))
    run = load_run(services, session, instance)
    job = run.timer_job(timer.id)
    payload = change(run, job)
    now = services.clock.now()
    record(session, instance, kind, now, user_id=actor.user_id, activity_id=job.activity_id, task_id=job.id,
           **payload)
    save_run(services, session, instance, run, run.snapshot(), now, user_id=actor.user_id)


def _on_start_timer(session: Session, services: Services, timer: Timer, actor: Principal, kind: str,
                    **payload: Any) -> None:
    ledger.record_admin(session, kind, f"job:{timer.id}", services.clock.now(), actor.user_id,
                        process_definition_id=timer.process_definition_id, activity_id=timer.activity_id, **payload)


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant is not None else None


def set_due_date(services: Services, job_id: str, due: datetime | None, *, cascade: bool, actor: Principal) -> None:
    """Camunda's setJobDuedate: the timer falls due at `due` (None: now). A cycle goes on from the new
    instant with `cascade`, else from the instant it was scheduled for."""
    _require_operator(actor, job_id)
    with services.db.write() as session:
        timer = _timer(session, job_id)
        target = due if due is not None else services.clock.now()
        if timer.process_instance_id is None:
            previous, timer.due_at = timer.due_at, target
            _on_start_timer(session, services, timer, actor, "job.dueDateSet", previous=_iso(previous),
                            due=target.isoformat(), cascade=cascade)
            return

        def move(run: ProcessRun, job: TimerJob) -> dict[str, Any]:
            run.set_timer_due(job.id, target, cascade=cascade)
            return {"previous": _iso(job.due), "due": target.isoformat(), "cascade": cascade}

        _on_instance(services, session, timer, actor, "job.dueDateSet", move)


def recalculate_due_date(services: Services, job_id: str, *, creation_date_based: bool, actor: Principal) -> None:
    """Camunda's recalculateJobDuedate: read the timer's definition again, counted from the job's
    creation (the default) or from now."""
    _require_operator(actor, job_id)
    with services.db.write() as session:
        timer = _timer(session, job_id)
        base = timer.created if creation_date_based else services.clock.now()
        if timer.process_instance_id is None:
            definition = session.get_one(ProcessDefinition, timer.process_definition_id)
            model = services.models.get(session, definition.id)
            context = replace(services.run_context(), clock=SimulatedClock(base))
            previous = timer.due_at
            timer.due_at, timer.repeat = schedule_start_timer(model, timer.activity_id, context)
            _on_start_timer(session, services, timer, actor, "job.dueDateRecalculated", previous=_iso(previous),
                            due=_iso(timer.due_at), creation_date_based=creation_date_based)
            return

        def recalculate(run: ProcessRun, job: TimerJob) -> dict[str, Any]:
            due = run.recalculate_timer_due(job.id, base)
            return {"previous": _iso(job.due), "due": due.isoformat(), "creation_date_based": creation_date_based}

        _on_instance(services, session, timer, actor, "job.dueDateRecalculated", recalculate)


def execute(services: Services, job_id: str, *, actor: Principal) -> None:
    """Camunda's executeJob: the timer fires now, by the worker's own path (app.cases.timers): the
    step is written whole or not at all. A suspended timer, or one of a suspended instance, does not."""
    _require_operator(actor, job_id)
    with services.db.read() as session:
        timer = session.get(Timer, job_id)
        if timer is None:
            raise NotFound(f"Job with id {job_id} does not exist")
        if timer.suspended:
            raise SuspendedEntityInteraction(f"Job {job_id} is suspended, on its own or with its case: activate it "
                                             "before executing it")
        start_timer = timer.process_instance_id is None
    if start_timer:
        fire_start_timer(services, job_id, services.clock.now(), actor_id=actor.user_id)
    else:
        fire_timer(services, job_id, services.clock.now(), actor_id=actor.user_id)


def set_suspended(services: Services, job_id: str, suspended: bool, *, actor: Principal) -> None:
    """Suspend or activate one timer: suspended, it does not fire, due or not."""
    _require_operator(actor, job_id)
    with services.db.write() as session:
        _suspend(services, session, _timer(session, job_id), suspended, actor)


def _suspend(services: Services, session: Session, timer: Timer, suspended: bool, actor: Principal) -> None:
    kind = "job.suspended" if suspended else "job.activated"
    if timer.process_instance_id is None:
        if timer.held != suspended:
            timer.held = timer.suspended = suspended
            _on_start_timer(session, services, timer, actor, kind)
        return
    if timer.held == suspended:
        return  # already so: nothing to record

    def hold(run: ProcessRun, job: TimerJob) -> dict[str, Any]:
        run.hold_timer(job.id, suspended)
        return {"suspensionState": "suspended" if suspended else "active"}

    _on_instance(services, session, timer, actor, kind, hold)


def set_suspended_by(services: Services, criteria: Mapping[str, Any], suspended: bool, *, actor: Principal) -> int:
    """Suspend or activate every timer of a job definition, an instance, a definition, or a key (one of
    them); returns how many changed."""
    name, value = _one_of(criteria, ("jobDefinitionId", "processInstanceId", "processDefinitionId",
                                     "processDefinitionKey"), "jobId, ")
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "Job", None)
    query = select(Timer).outerjoin(ProcessInstance, ProcessInstance.id == Timer.process_instance_id)
    if name == "processInstanceId":
        query = query.where(Timer.process_instance_id == value)
    elif name == "processDefinitionKey":
        query = query.where(Timer.process_definition_key == value)
    elif name == "processDefinitionId":
        query = query.where(_of_definition(value))
    else:
        query = query.where(_of_job_definition(value))
    with services.db.write() as session:
        return _suspend_all(services, session, query, suspended, actor)


def _one_of(criteria: Mapping[str, Any], names: tuple[str, ...], also: str = "") -> tuple[str, str]:
    """The one selector of a suspension given among `names` (Camunda's message names them all)."""
    given = {name: criteria.get(name) for name in names if criteria.get(name) is not None}
    if len(given) != 1:
        listed = also + ", ".join(names[:-1]) + " or " + names[-1]
        raise InvalidRequest(("Only one" if given else "Either") + f" of {listed} should be set to update the "
                             "suspension state.")
    (name, value), = given.items()
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a text")
    return name, value


def _of_definition(definition_id: str) -> Any:
    return (Timer.process_definition_id == definition_id) | (ProcessInstance.definition_id == definition_id)


def _of_job_definition(job_definition_id: str) -> Any:
    definition_id, _, activity_id = job_definition_id.partition("#")
    return _of_definition(definition_id) & (Timer.activity_id == activity_id)


def _suspend_all(services: Services, session: Session, query: Any, suspended: bool, actor: Principal) -> int:
    """Suspend or activate the timers `query` selects, in the unit of work; how many changed."""
    timers = [timer for timer in session.scalars(query.order_by(Timer.id).with_for_update(of=Timer))
              if timer.held != suspended]
    for timer in timers:
        _suspend(services, session, timer, suspended, actor)
    return len(timers)


def parse_priority(value: Any, what: str = "priority") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not PRIORITY_RANGE[0] <= value <= PRIORITY_RANGE[1]:
        raise InvalidRequest(f"{what} must be a whole number within a Java long's range")
    return value


def set_priority(services: Services, job_id: str, priority: int, *, actor: Principal) -> None:
    """Camunda's setJobPriority: shown as the job's `priority` (timers fire by due date, whatever it is)."""
    _require_operator(actor, job_id)
    with services.db.write() as session:
        timer = _timer(session, job_id)
        _prioritize(services, session, timer, priority, actor)


def _prioritize(services: Services, session: Session, timer: Timer, priority: int, actor: Principal) -> None:
    if timer.process_instance_id is None:
        previous, timer.priority = timer.priority, priority
        _on_start_timer(session, services, timer, actor, "job.priorityChanged", previous=previous, priority=priority)
        return

    def prioritize(run: ProcessRun, job: TimerJob) -> dict[str, Any]:
        run.set_timer_priority(job.id, priority)
        return {"previous": timer.priority, "priority": priority}

    _on_instance(services, session, timer, actor, "job.priorityChanged", prioritize)


def delete(services: Services, job_id: str, *, actor: Principal) -> None:
    """Camunda's deleteJob, where the case keeps something to wait for (see the module's note)."""
    _require_operator(actor, job_id)
    with services.db.write() as session:
        timer = _timer(session, job_id)
        if timer.process_instance_id is None:
            session.delete(timer)
            _on_start_timer(session, services, timer, actor, "job.deleted", due=_iso(timer.due_at))
            definition = session.get_one(ProcessDefinition, timer.process_definition_id)
            job_log.start_timer_changed(session, timer, "deletion", services.clock.now(),
                                        services.models.get(session, definition.id).timer_jobs, definition.tenant_id)
            return

        def remove(run: ProcessRun, job: TimerJob) -> dict[str, Any]:
            if job.kind in _WAITS_ON_IT:
                raise BadUserRequest(
                    f"Job {job_id} is the timer of '{job.activity_id}', {_WAITS_ON_IT[job.kind]}: deleting it would "
                    "leave the case with nothing to wait for there. Move the case on with a process-instance "
                    "modification (POST /process-instance/{id}/modification) instead.")
            run.delete_timer(job.id)
            return {"due": _iso(job.due)}

        _on_instance(services, session, timer, actor, "job.deleted", remove)


def _job_definitions(services: Services, criteria: Mapping[str, Any]) -> list[timers.JobDefinition]:
    name, value = _one_of(criteria, ("jobDefinitionId", "processDefinitionId", "processDefinitionKey"))
    if name == "jobDefinitionId":
        criteria = {"jobDefinitionId": value, "processDefinitionId": value.partition("#")[0]}
    else:
        criteria = {name: value}
    return timers.job_definitions(services, criteria, activities=[], suspended=None)


def _setting(session: Session, job: timers.JobDefinition) -> JobDefinitionSetting:
    setting = session.get(JobDefinitionSetting, job.id, with_for_update=True)
    if setting is None:
        setting = JobDefinitionSetting(id=job.id, process_definition_id=job.definition.id, suspended=False)
        session.add(setting)
    return setting


def _timers_of(job: timers.JobDefinition) -> Any:
    return select(Timer).outerjoin(ProcessInstance, ProcessInstance.id == Timer.process_instance_id).where(
        _of_job_definition(job.id))


def suspend_job_definitions(services: Services, criteria: Mapping[str, Any], suspended: bool, *,
                            include_jobs: bool, execution_date: Any, actor: Principal) -> None:
    """Suspend or activate job definitions (one, those of a definition, or of a key) at once.

    A suspended job definition's timers created later start active here (Camunda creates them
    suspended), so a suspension must include the current jobs (includeJobs); an activation without
    them leaves the jobs as they are, as Camunda does. A suspension at a later date is not offered."""
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "JobDefinition", None)
    found = _job_definitions(services, criteria)
    if execution_date is not None:
        raise InvalidRequest("executionDate is not supported: a job definition is suspended or activated at once")
    if suspended and not include_jobs:
        raise InvalidRequest("A job definition is suspended with its jobs here (includeJobs: true): timers created "
                             "after the suspension start active, so a suspension of the definition alone would hold "
                             "nothing")
    with services.db.write() as session:
        for job in found:
            _setting(session, job).suspended = suspended
            count = _suspend_all(services, session, _timers_of(job), suspended, actor) if include_jobs else 0
            ledger.record_admin(session, "jobDefinition.suspended" if suspended else "jobDefinition.activated",
                                f"job-definition:{job.id}", services.clock.now(), actor.user_id,
                                include_jobs=include_jobs, jobs=count)


def set_job_definition_priority(services: Services, job_definition_id: str, priority: int | None, *,
                                include_jobs: bool, actor: Principal) -> None:
    """Camunda's setOverridingJobPriorityForJobDefinition: shown as the definition's
    overridingJobPriority and, with includeJobs, set on its current jobs (None clears it, without jobs).
    Timers created later keep their own priority here."""
    if priority is None and include_jobs:
        raise InvalidRequest(f"Cannot reset priority for job definition {job_definition_id} with includeJobs=true")
    permissions.require_group(actor, (permissions.SYSTEMS,), "UPDATE", "JobDefinition", job_definition_id)
    job = timers.job_definition(services, job_definition_id)
    with services.db.write() as session:
        _setting(session, job).job_priority = priority
        query = _timers_of(job).order_by(Timer.id).with_for_update(of=Timer)
        found = list(session.scalars(query)) if include_jobs else []
        for timer in found:
            _prioritize(services, session, timer, priority or 0, actor)
        ledger.record_admin(session, "jobDefinition.priorityChanged", f"job-definition:{job.id}",
                            services.clock.now(), actor.user_id, priority=priority, include_jobs=include_jobs,
                            jobs=len(found))


def require_waiting(services: Services, job_id: str, *, actor: Principal) -> Timer:
    """The job must exist (for commands the service's timers have no use for: retries)."""
    _require_operator(actor, job_id)
    with services.db.read() as session:
        timer = session.get(Timer, job_id)
        if timer is None:
            raise NotFound(f"Job with id {job_id} does not exist")
        return timer
