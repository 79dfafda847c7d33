"""The rows Camunda's API shows beside the history — an instance's status, its activity instances
(historic activities and tasks) and its open user tasks — are projections of its history events,
written in the same unit of work. Verification rebuilds them from the chained events and names the
first row that differs, since these rows carry no hashes of their own."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from app.persistence.models import ActivityInstance, HistoryEvent, ProcessInstance, UserTask

ACTIVE, COMPLETED, TERMINATED = "ACTIVE", "COMPLETED", "EXTERNALLY_TERMINATED"
ENDINGS = {"process.completed": COMPLETED, "process.deleted": TERMINATED}
ACTIVITY_KINDS = ("activity.started", "activity.completed", "activity.canceled")
ASSIGNMENTS = ("task.claimed", "task.unclaimed", "task.assigned", "task.delegated", "task.resolved")
# What a restarted case's start event names: the ended case it restarts (app.cases.restart), as
# Camunda's historic process instance names it.
RESTARTED_FROM = "restartedProcessInstanceId"
# The history kinds that suspend and activate an instance (app.cases.suspension).
SUSPENDED, ACTIVATED = "process.suspended", "process.activated"
# The history kind of a migration to another definition (app.cases.migration).
MIGRATED = "instance.migrated"


def first_mismatch(session: Session, instance: ProcessInstance, events: Sequence[HistoryEvent]) -> str | None:
    """The first projected row of the instance that is not what its (intact) history says, if any."""
    status, end_time, suspended = ACTIVE, None, False
    definition = events[0].payload.get("definition_id") if events else None
    # By task id, which the history's rows may lack.
    activities: dict[str | None, dict[str, Any]] = {}
    tasks: dict[str | None, dict[str, Any]] = {}
    for event in events:
        if event.kind in ACTIVITY_KINDS:
            # An activity that starts and ends in one step has only its end event; a user task's has
            # the assignee its task opened with.
            activity = activities.setdefault(event.task_id, {
                "activity": event.activity_id, "start time": event.occurred_at, "end time": None,
                "canceled": False, "assignee": tasks.get(event.task_id, {}).get("assignee")})
            if event.kind != "activity.started":
                activity.update({"end time": event.occurred_at, "canceled": event.kind == "activity.canceled"})
                tasks.pop(event.task_id, None)
        elif event.kind == "task.created":
            tasks[event.task_id] = {"activity": event.activity_id, "assignee": event.payload.get("assignee")}
            if event.task_id in activities:
                activities[event.task_id]["assignee"] = event.payload.get("assignee")
            if "name" in event.payload:  # recorded since revision 0012
                tasks[event.task_id]["name"] = event.payload["name"]
        elif event.kind in ASSIGNMENTS:
            for rows in (tasks, activities):
                if event.task_id in rows:
                    rows[event.task_id]["assignee"] = event.payload.get("assignee")
        elif event.kind in (SUSPENDED, ACTIVATED):
            suspended = event.kind == SUSPENDED
        elif event.kind == MIGRATED:
            # The activities and tasks still open moved to the activities the instructions map them to.
            definition = event.payload.get("target_definition_id")
            moved = {i["sourceActivityIds"][0]: i["targetActivityIds"][0] for i in event.payload["instructions"]}
            for moving in [*(a for a in activities.values() if a["end time"] is None), *tasks.values()]:
                moving["activity"] = moved.get(moving["activity"], moving["activity"])
        elif event.kind in ENDINGS:
            status, end_time = ENDINGS[event.kind], event.occurred_at
    if status != ACTIVE:
        tasks.clear()

    started = events[0] if events and events[0].kind == "process.started" else None
    if started is not None:
        recorded: dict[str, Any] = {"status": status, "end time": end_time, "start time": started.occurred_at,
                    "business key": started.payload.get("business_key"),
                    "definition": definition, "starter": started.user_id,
                    "suspension": "suspended" if suspended else "active"}
        stored: dict[str, Any] = {"status": instance.status, "end time": instance.end_time,
                                  "start time": instance.start_time, "business key": instance.business_key,
                                  "definition": instance.definition_id, "starter": instance.start_user_id,
                                  "suspension": "suspended" if instance.suspended else "active"}
        for name, value in stored.items():
            if value != recorded[name]:
                return f"the instance's {name} is {_shown(value)} where its history says {_shown(recorded[name])}"

    for row in session.scalars(select(ActivityInstance).where(ActivityInstance.process_instance_id == instance.id)
                               .order_by(ActivityInstance.sequence, ActivityInstance.id)):
        stored = {"activity": row.activity_id, "start time": row.start_time, "end time": row.end_time,
                  "canceled": row.canceled, "assignee": row.assignee}
        problem = _differs(f"activity instance {row.id} ('{row.activity_id}')", activities.pop(row.id, None), stored)
        if problem:
            return problem
    for activity_id, activity in activities.items():
        return f"activity instance {activity_id} ('{activity['activity']}') of the history has no row"

    for task in session.scalars(select(UserTask).where(UserTask.process_instance_id == instance.id)
                                .order_by(UserTask.created, UserTask.id)):
        stored = {"activity": task.task_definition_key, "name": task.name, "assignee": task.assignee}
        problem = _differs(f"task {task.id} ('{task.task_definition_key}')", tasks.pop(task.id, None), stored)
        if problem:
            return problem
    for task_id, projected in tasks.items():
        return f"task {task_id} ('{projected['activity']}'), open according to the history, has no row"
    return None


def _differs(what: str, recorded: dict[str, Any] | None, stored: dict[str, Any]) -> str | None:
    if recorded is None:
        return f"{what} is not in the history (or the history says it ended)"
    for name, value in recorded.items():
        if stored[name] != value:
            return f"{what}: its {name} is {_shown(stored[name])} where the history says {_shown(value)}"
    return None


def _shown(value: Any) -> str:
    return "none" if value is None else (value.isoformat() if hasattr(value, "isoformat") else repr(value))


_SCOPE_TYPES = ("subProcess", "eventSubProcess", "transaction", "adHocSubProcess", "multiInstanceBody")


def waiting_at(activity_ids: Sequence[str]) -> ColumnElement[bool]:
    """Camunda's activityIdIn of a case: a running activity instance of one of them where a token
    waits, not a subprocess holding tokens, as Camunda matches only the activities its executions are at."""
    return exists().where(ActivityInstance.process_instance_id == ProcessInstance.id,
                          ActivityInstance.activity_id.in_(activity_ids),
                          ActivityInstance.activity_type.not_in(_SCOPE_TYPES), ActivityInstance.end_time.is_(None))
