"""Suspension (挂起), as Camunda 7 keeps it: a suspension state on the instance and on each of its task,
external task and timer rows, so that task lists, fetchAndLock and the timer claim filter on their own
row (and their indexes) without a join to the instance.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TABLES = ("process_instance", "user_task", "external_task", "timer")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("suspended")
