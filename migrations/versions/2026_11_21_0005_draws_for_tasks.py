"""Expert draws made by a process for one of its user tasks name that task: the drawn experts are its
candidates.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("expert_draw") as table:
        table.add_column(sa.Column("task_id", sa.String(length=36), nullable=True))
        table.add_column(sa.Column("activity_id", sa.String(length=255), nullable=True))
        table.create_index(op.f("ix_expert_draw_task_id"), ["task_id"])


def downgrade() -> None:
    with op.batch_alter_table("expert_draw") as table:
        table.drop_index(op.f("ix_expert_draw_task_id"))
        table.drop_column("activity_id")
        table.drop_column("task_id")
