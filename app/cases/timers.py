"""Firing timers that fell due: each exactly once, by whichever worker gets to it first.

Timer rows are a projection of what instances wait for, recomputed on every step of an instance.
A worker picks instances with due timers; on PostgreSQL it locks their timer rows and skips rows
another worker holds. The instance's optimistic revision is the final guard: if two workers fire
the same instance, one commits and the other's unit of work rolls back whole.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from app.access import permissions
from app.access.accounts import Principal
from app.cases.instances import get_active_instance, load_run, record, save_run, start_in_session
from app.clock import SimulatedClock
from app.context import Services
from app.engine import next_start
from app.errors import Conflict, NotFound
from app.persistence.models import ProcessDefinition, ProcessInstance, Timer


def next_due(services: Services, until: datetime) -> datetime | None:
    with services.db.read() as session:
        return session.scalar(select(func.min(Timer.due_at)).where(Timer.due_at <= until))


def fire_due_timers(services: Services, *, batch: int = 100) -> int:
    """Fire every timer due at the clock's current time; returns how many instances advanced."""
    now = services.clock.now()
    with services.db.read() as session:
        instance_ids = [instance_id for instance_id in session.scalars(
            select(Timer.process_instance_id).where(Timer.due_at <= now, Timer.process_instance_id.is_not(None))
            .group_by(Timer.process_instance_id).order_by(func.min(Timer.due_at)).limit(batch))
            if instance_id is not None]
        start_timer_ids = list(session.scalars(
            select(Timer.id).where(Timer.due_at <= now, Timer.process_instance_id.is_(None))
            .order_by(Timer.due_at).limit(batch)))
    advanced = 0
    for timer_id in start_timer_ids:
        try:
            if _fire_start_timer(services, timer_id, now):
                advanced += 1
        except Conflict:
            continue
    for instance_id in instance_ids:
        try:
            if _fire_instance(services, instance_id, now):
                advanced += 1
        except (Conflict, NotFound):
            continue  # another worker or request changed the instance first; its timers are current
    return advanced


def _fire_instance(services: Services, instance_id: str, now: datetime) -> bool:
    with services.db.write() as session:
        due = list(session.scalars(
            select(Timer).where(Timer.process_instance_id == instance_id, Timer.due_at <= now)
            .order_by(Timer.due_at).with_for_update(skip_locked=True)))
        if not due:
            return False
        instance = get_active_instance(session, instance_id)
        run = load_run(services, session, instance)
        result = run.fire_due_timers()
        # A timer fired when it no longer waits for that instant: it ended, or a cycle moved it on.
        still_waiting = {(timer.task_id, timer.due) for timer in result.timers}
        fired = [timer for timer in due if (timer.id, timer.due_at) not in still_waiting]
        if not fired:
            return False
        for timer in fired:
            record(session, instance, "timer.fired", now, activity_id=timer.activity_id, task_id=timer.id,
                   due=timer.due_at.isoformat() if timer.due_at else None, clock=now.isoformat())
        save_run(services, session, instance, run, result, now)
        return True


def _fire_start_timer(services: Services, timer_id: str, now: datetime) -> bool:
    """A timer start event fell due: start one instance there, and wait for the next cycle if any."""
    with services.db.write() as session:
        timer = session.scalars(select(Timer).where(Timer.id == timer_id, Timer.due_at <= now)
                                .with_for_update(skip_locked=True)).first()
        if timer is None or timer.due_at is None:
            return False  # another worker fired it first
        definition = session.get_one(ProcessDefinition, timer.process_definition_id)
        due = timer.due_at
        following = next_start(due, timer.repeat)
        if following is None:
            session.delete(timer)
        else:
            timer.due_at, timer.repeat = following
        if definition.suspended:
            return True  # a suspended definition lets its start timer pass, as Camunda does
        instance, _ = start_in_session(services, session, definition, {}, None, start_event=timer.activity_id,
                                       trigger={"timer": due.isoformat()})
        record(session, instance, "timer.fired", now, activity_id=timer.activity_id, task_id=timer.id,
               due=due.isoformat(), clock=now.isoformat())
        return True


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
    return fired + fire_due_timers(services)


def job_query(*, instance_id: str | None, definition_key: str | None, definition_id: str | None,
              activity_id: str | None, viewer: Principal) -> Select:
    """The timers instances wait on, as Camunda's jobs. A timer start event's job belongs to its
    definition and has no instance yet (administrators, auditors and the systems see those)."""
    query = select(Timer, ProcessInstance).outerjoin(ProcessInstance, ProcessInstance.id == Timer.process_instance_id)
    if instance_id:
        query = query.where(Timer.process_instance_id == instance_id)
    if definition_key:
        query = query.where(Timer.process_definition_key == definition_key)
    if definition_id:
        query = query.where((Timer.process_definition_id == definition_id)
                            | (ProcessInstance.definition_id == definition_id))
    if activity_id:
        query = query.where(Timer.activity_id == activity_id)
    return permissions.only_visible(query, Timer.process_instance_id,
                                    permissions.unless_in(viewer, permissions.SYSTEMS)).order_by(Timer.due_at, Timer.id)
