"""Standalone tasks (POST /task/create): a task row may belong to no process instance, and such a
task keeps its creator, region, variables and history in a table of its own.

Revision ID: 0033
Revises: 0032
"""
import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_OF_A_PROCESS = ("process_instance_id", "process_definition_id", "process_definition_key", "task_definition_key")


def upgrade() -> None:
    with op.batch_alter_table("user_task") as batch:
        batch.alter_column("process_instance_id", existing_type=sa.String(length=36), nullable=True)
        for column in _OF_A_PROCESS[1:]:
            batch.alter_column(column, existing_type=sa.String(length=255), nullable=True)
    op.create_table(
        "standalone_task",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delete_reason", sa.String(length=255), nullable=True),
        sa.Column("variables", sa.JSON(), nullable=False),
    )
    op.create_index(op.f("ix_standalone_task_assignee"), "standalone_task", ["assignee"])
    op.create_index(op.f("ix_standalone_task_created_by"), "standalone_task", ["created_by"])


def downgrade() -> None:
    # The open standalone tasks go with their table: a task row needs its process again.
    op.execute("DELETE FROM task_candidate WHERE task_id IN (SELECT id FROM user_task WHERE process_instance_id IS NULL)")
    op.execute("DELETE FROM user_task WHERE process_instance_id IS NULL")
    op.drop_index(op.f("ix_standalone_task_created_by"), table_name="standalone_task")
    op.drop_index(op.f("ix_standalone_task_assignee"), table_name="standalone_task")
    op.drop_table("standalone_task")
    with op.batch_alter_table("user_task") as batch:
        for column in _OF_A_PROCESS:
            batch.alter_column(column, existing_type=sa.String(length=36 if column == "process_instance_id" else 255),
                               nullable=False)
