"""Reminders (催办) published to the topic their procedure names (camunda:property reminderTopic), and
taken off that outbox by the systems that send them on under a lease: who holds it until when, and
when the reminder was delivered.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_reminder") as batch:
        batch.add_column(sa.Column("topic", sa.String(length=255)))
        batch.add_column(sa.Column("worker_id", sa.String(length=255)))
        batch.add_column(sa.Column("lock_expiration", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("delivered", sa.DateTime(timezone=True)))
    op.create_index("ix_task_reminder_topic", "task_reminder", ["topic", "created", "id"])


def downgrade() -> None:
    op.drop_index("ix_task_reminder_topic", table_name="task_reminder")
    with op.batch_alter_table("task_reminder") as batch:
        for column in ("delivered", "lock_expiration", "worker_id", "topic"):
            batch.drop_column(column)
