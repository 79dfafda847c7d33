"""Provisional deadlines made final: when an administrator imports a year's calendar, every open
deadline that was counted into that year by the Monday-Friday rule is counted again on the real
calendar, in the same unit of work as the import. The timers and task due dates that waited for the
old instant wait for the new one, and the instance's record says what moved and why."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import ledger
from app.calendar import WorkCalendar
from app.calendar.functions import period_over
from app.cases.instances import ACTIVE, load_run, record, save_run
from app.context import Services
from app.deadlines import calendars
from app.persistence.models import HistoryEvent, ProcessInstance, UserTask


def import_year(services: Services, year_file: calendars.YearFile, *, entered_by: str | None) -> list[dict]:
    """Import a year's calendar and recompute the open deadlines that counted into it; returns what moved."""
    calendars.check_year_file(year_file)
    with services.db.write() as session:
        now = services.clock.now()
        calendar = calendars.write_year(session, year_file, entered_by=entered_by, now=now)
        ledger.record_admin(session, "calendar.imported", f"calendar:{year_file.year}", now, entered_by,
                            confirmed=year_file.confirmed, notice=year_file.notice,
                            days=[[day.day.isoformat(), day.working, day.name] for day in year_file.days])
        return _recompute(services, session, calendar, year_file.year, now)


def _recompute(services: Services, session: Session, calendar: WorkCalendar, year: int, now: datetime) -> list[dict]:
    rows = session.execute(
        select(HistoryEvent.payload, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == HistoryEvent.process_instance_id)
        .where(HistoryEvent.kind.in_(("deadline.computed", "deadline.recomputed")), ProcessInstance.status == ACTIVE)
        .order_by(HistoryEvent.process_instance_id, HistoryEvent.sequence)).all()
    affected: dict[str, list[dict]] = defaultdict(list)
    instances: dict[str, ProcessInstance] = {}
    for payload, instance in rows:
        if payload.get("provisional") and year in payload.get("unconfirmed_years", ()):
            affected[instance.id].append(payload)
            instances[instance.id] = instance
    zone = services.settings.zone
    moved_all = []
    for instance_id, deadlines in affected.items():
        instance = instances[instance_id]
        run = load_run(services, session, instance)
        changed = False
        for deadline in deadlines:
            fresh = calendar.recompute(deadline["rule"], date.fromisoformat(deadline["start"]))
            old_due = period_over(date.fromisoformat(deadline["due"]), zone)
            new_due = period_over(fresh.due, zone)
            at_old_due = (UserTask.process_instance_id == instance.id, UserTask.due == old_due)
            keys = session.scalars(select(UserTask.task_definition_key).where(*at_old_due))
            activities = sorted(set(run.timers_due_at(old_due)) | {key for key in keys if key is not None})
            if not activities:
                continue  # the deadline has passed, or a recompute moved it already
            if new_due != old_due:
                run.move_timers(old_due, new_due)
                session.execute(update(UserTask).where(*at_old_due).values(due=new_due))
            record(session, instance, "deadline.recomputed", now, start=deadline["start"], due=fresh.due.isoformat(),
                   previous_due=deadline["due"], rule=fresh.rule, basis=fresh.basis, provisional=fresh.provisional,
                   unconfirmed_years=list(fresh.unconfirmed_years), calendar_version=fresh.calendar_version,
                   activities=activities)
            moved_all.append({"processInstanceId": instance.id, "businessKey": instance.business_key,
                              "rule": fresh.rule, "previousDue": deadline["due"], "due": fresh.due.isoformat(),
                              "provisional": fresh.provisional, "activities": activities})
            changed = True
        if changed:
            save_run(services, session, instance, run, run.snapshot(), now)
    return moved_all
