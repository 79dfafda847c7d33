"""Camunda's history cleanup over the retention rule of app.audit.removal: one job (Camunda's
everlasting history cleanup job) that deletes every ended case whose process's
`camunda:historyTimeToLive` days have passed, one case to a unit of work, each recorded in the
administrative chain as a deletion by hand is (with the job instead of a person).

The job is run by the timer worker when due. `POST /history/cleanup` makes it due now
(immediatelyDue) or at the start of the cleanup window; with a window configured the service
schedules it at start for the window, and after each run for the next day's window. Without one, a
run leaves it suspended until scheduled again, as Camunda does. A run deletes at most
`history_cleanup_batch_size` cases; when it had more to do it is due again at once, so that the next
pass continues."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from app.access.accounts import Principal
from app.audit import ledger, removal
from app.errors import BadUserRequest, Conflict, ServiceError
from app.persistence.models import HistoryCleanupJob, ProcessDefinition, ProcessInstance

if TYPE_CHECKING:
    from app.context import Services
    from app.settings import Settings

log = logging.getLogger(__name__)

SUBJECT = "history-cleanup"
SCHEDULED = "historyCleanup.scheduled"
# A run that failed as a whole is due again after this, not at once: the cause is seldom gone a moment later.
RETRY_AFTER_FAILURE = timedelta(hours=1)


def window(settings: Settings, at: datetime) -> tuple[datetime, datetime] | None:
    """The cleanup window `at` falls in, else the next one (Camunda's current or next batch window);
    None when no window is configured."""
    if not settings.history_cleanup_batch_window_start_time:
        return None
    zone = settings.zone
    start_time = time.fromisoformat(settings.history_cleanup_batch_window_start_time)
    end_time = time.fromisoformat(settings.history_cleanup_batch_window_end_time)
    today = at.astimezone(zone).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        start = datetime.combine(day, start_time, zone)
        end = datetime.combine(day if end_time > start_time else day + timedelta(days=1), end_time, zone)
        if at < end:
            return start, end
    raise AssertionError("a window of tomorrow ends after now")


def _next_start(settings: Settings, now: datetime) -> datetime | None:
    """The start of the next window that has not begun yet."""
    current = window(settings, now)
    if current is None:
        return None
    if current[0] > now:
        return current[0]
    following = window(settings, current[1])
    return following[0] if following else None


def _job(session: Session, now: datetime) -> HistoryCleanupJob:
    job = session.scalars(select(HistoryCleanupJob).with_for_update()).first()
    if job is None:
        job = HistoryCleanupJob(id=str(uuid.uuid4()), created=now, suspended=False)
        session.add(job)
    return job


def _schedule(session: Session, job: HistoryCleanupJob, due: datetime, now: datetime, user_id: str | None,
              immediately_due: bool) -> None:
    job.due_at, job.suspended, job.exception_message = due, False, None
    ledger.record_admin(session, SCHEDULED, SUBJECT, now, user_id, jobId=job.id, immediatelyDue=immediately_due,
                        dueDate=ledger.instant_text(due))


def schedule(services: Services, immediately_due: bool, *, actor: Principal) -> HistoryCleanupJob:
    """Make the job due now, or at the start of the current or next window (Camunda's cleanUpHistoryAsync)."""
    settings = services.settings
    if not settings.history_cleanup_enabled:
        raise BadUserRequest("History cleanup is disabled for this engine")
    now = services.clock.now()
    current = window(settings, now)
    due = now if immediately_due else current[0] if current else None
    if due is None:
        raise BadUserRequest("The history cleanup is not scheduled: immediatelyDue is false and no cleanup window "
                             "is configured (HISTORY_CLEANUP_BATCH_WINDOW_START_TIME and "
                             "HISTORY_CLEANUP_BATCH_WINDOW_END_TIME)")
    with services.db.write() as session:
        job = _job(session, now)
        _schedule(session, job, due, now, actor.user_id, immediately_due)
    return job


def schedule_at_start(services: Services) -> None:
    """With a window configured, a job not scheduled yet (or resting) is due at the start of the
    current or next window (Camunda creates the job when the engine starts); a scheduled one keeps
    its date, so that a restart within the window does not run it again."""
    settings = services.settings
    now = services.clock.now()
    current = window(settings, now)
    if not settings.history_cleanup_enabled or current is None:
        return
    with services.db.write() as session:
        job = _job(session, now)
        if job.due_at is None or job.suspended:
            _schedule(session, job, current[0], now, None, False)


def jobs(services: Services) -> list[HistoryCleanupJob]:
    with services.db.read() as session:
        return list(session.scalars(select(HistoryCleanupJob)))


def run_due(services: Services) -> int:
    """Run the job if it is due (the timer worker's pass): returns how many histories it deleted.
    Claiming the job moves its due date on, so that one worker runs it; a worker that stops midway
    leaves the rest to the next run."""
    settings = services.settings
    if not settings.history_cleanup_enabled:
        return 0
    now = services.clock.now()
    due = select(HistoryCleanupJob).where(HistoryCleanupJob.due_at <= now, HistoryCleanupJob.suspended.is_(False))
    # Looked for first without a unit of work: most passes find nothing due, and take no write lock.
    with services.db.read() as session:
        if session.scalars(due.limit(1)).first() is None:
            return 0
    with services.db.write() as session:
        job = session.scalars(due.with_for_update(skip_locked=True)).first()
        if job is None:
            return 0
        job_id = job.id
        job.due_at = _next_start(settings, now)
        job.suspended = job.due_at is None
    try:
        deleted, failure = _delete_cleanable(services, job_id, now, settings.history_cleanup_batch_size)
        retry_at = now if deleted >= settings.history_cleanup_batch_size else None  # more may wait: go on
    except Exception:  # a run that could not tell what to delete says so and tries again, not rests silently
        log.exception("history cleanup: finding the histories whose retention has passed failed")
        retry_at = _next_start(settings, now) or now + RETRY_AFTER_FAILURE
        deleted, failure = 0, ("The history cleanup could not find which histories may be deleted: an error of "
                               f"the service (see its log); it runs again at {ledger.instant_text(retry_at)}")
    with services.db.write() as session:
        claimed = session.get(HistoryCleanupJob, job_id)
        if claimed is not None:
            claimed.exception_message = failure
            if retry_at is not None:
                claimed.due_at, claimed.suspended = retry_at, False
    if deleted:
        log.info("history cleanup deleted the histories of %d ended cases", deleted)
    return deleted


def _delete_cleanable(services: Services, job_id: str, now: datetime, most: int) -> tuple[int, str | None]:
    """Delete up to `most` histories whose retention has passed, called cases before their callers;
    returns how many, and the first failure."""
    deleted, tried, failure = 0, set[str](), None
    while deleted < most:
        batch = cleanable(services, now, most - deleted, tried)
        if not batch:
            break
        for instance_id in batch:
            tried.add(instance_id)
            try:
                removal.delete_history(services, instance_id, actor=None, fail_if_not_exists=False,
                                       cleanup_job_id=job_id)
                deleted += 1
            except Conflict:
                continue  # changed by a concurrent command: the next run sees it again
            except ServiceError as error:
                failure = failure or f"The history of process instance {instance_id} was not deleted: {error}"
            except Exception:  # one case's failure must not keep the others
                log.exception("history cleanup: deleting the history of %s failed", instance_id)
                failure = failure or (f"The history of process instance {instance_id} was not deleted: an error "
                                      "of the service (see its log)")
    return deleted, failure


def cleanable(services: Services, now: datetime, most: int, skip: set[str] | None = None) -> list[str]:
    """Ended cases whose retention has passed and that called no case whose history is kept."""
    called = aliased(ProcessInstance)
    found: list[str] = []
    with services.db.read() as session:
        ages = session.scalars(select(ProcessDefinition.history_time_to_live).distinct()
                               .where(ProcessDefinition.history_time_to_live.is_not(None))).all()
        for days in sorted(age for age in ages if age is not None):
            query = (select(ProcessInstance.id)
                     .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
                     .where(ProcessDefinition.history_time_to_live == days,
                            ProcessInstance.end_time <= now - timedelta(days=days),
                            ~exists().where(called.super_process_instance_id == ProcessInstance.id))
                     .order_by(ProcessInstance.end_time, ProcessInstance.id).limit(most - len(found)))
            if skip:
                query = query.where(ProcessInstance.id.not_in(sorted(skip)))
            found.extend(session.scalars(query))
            if len(found) >= most:
                break
    return found
