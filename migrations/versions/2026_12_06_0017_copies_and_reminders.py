"""Copies of a case's steps (抄送) and reminders to the handlers of a task (催办).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_copy",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("process_instance_id", sa.String(length=36), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("activity_id", sa.String(length=255)),
        sa.Column("task_id", sa.String(length=36)),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.Column("copied_by", sa.String(length=255)),
        sa.Column("note", sa.Text()),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
    )
    op.create_index(op.f("ix_case_copy_process_instance_id"), "case_copy", ["process_instance_id"])
    op.create_index("ix_case_copy_recipient", "case_copy", ["kind", "identity", "process_instance_id"])
    op.create_table(
        "task_reminder",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("process_instance_id", sa.String(length=36), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("activity_id", sa.String(length=255)),
        sa.Column("message", sa.Text()),
        sa.Column("user_id", sa.String(length=255)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(op.f("ix_task_reminder_process_instance_id"), "task_reminder", ["process_instance_id"])
    op.create_index(op.f("ix_task_reminder_task_id"), "task_reminder", ["task_id"])
    op.create_index("ix_task_reminder_created", "task_reminder", ["created", "id"])


def downgrade() -> None:
    op.drop_table("task_reminder")
    op.drop_table("case_copy")
