"""A task's delegation state (Camunda's PENDING / RESOLVED): a delegated task goes back to its owner
when the delegate resolves it.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_task", sa.Column("delegation_state", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("user_task", "delegation_state")
