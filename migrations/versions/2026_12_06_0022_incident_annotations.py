"""Incidents as Camunda's history shows them: whether new retries resolved one or its task left
with the token (deleted), and an operator's annotation.

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incident", sa.Column("resolved", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("incident", sa.Column("annotation", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("annotation")
        batch.drop_column("resolved")
