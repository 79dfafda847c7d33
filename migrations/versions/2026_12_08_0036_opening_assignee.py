"""A user task's history names the assignee its task opened with (a diagram's camunda:assignee), as
Camunda's historic task and activity instances do: the activity rows of tasks opened before, whose
assignee no later claim, assignment or delegation set, are given the one their history records.

Revision ID: 0036
Revises: 0035
"""
import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_REASSIGNED = ("task.claimed", "task.unclaimed", "task.assigned", "task.delegated", "task.resolved")
_EVENTS = sa.table("history_event", sa.column("kind", sa.String), sa.column("task_id", sa.String),
                   sa.column("payload", sa.JSON))
_ACTIVITIES = sa.table("activity_instance", sa.column("id", sa.String), sa.column("assignee", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    reassigned = set(connection.scalars(sa.select(_EVENTS.c.task_id).distinct().where(
        _EVENTS.c.kind.in_(_REASSIGNED))))
    opened = connection.execute(sa.select(_EVENTS.c.task_id, _EVENTS.c.payload).where(
        _EVENTS.c.kind == "task.created", _EVENTS.c.task_id.is_not(None)))
    given = [{"opened_task": task_id, "opened_assignee": payload["assignee"]} for task_id, payload in opened
             if isinstance(payload, dict) and payload.get("assignee") and task_id not in reassigned]
    if given:
        connection.execute(
            _ACTIVITIES.update().where(_ACTIVITIES.c.id == sa.bindparam("opened_task"), _ACTIVITIES.c.assignee.is_(None))
            .values(assignee=sa.bindparam("opened_assignee")), given)


def downgrade() -> None:
    """Nothing to undo: the assignees written are those the history records."""
