"""The history of a case's user task keeps its owner, description, priority, due and follow-up date,
as they were when it ended (Camunda's historic task instance shows them).

Revision ID: 0035
Revises: 0034
"""
import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

_COLUMNS = ("owner", "description", "priority", "due", "follow_up")


def upgrade() -> None:
    with op.batch_alter_table("activity_instance") as batch:
        batch.add_column(sa.Column("owner", sa.String(255), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("due", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("follow_up", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activity_instance") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
