"""Saved filters of the task lists (Camunda's /filter): a named task query, owned by an account or,
without an owner, shared with everyone.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("saved_filter",
                    sa.Column("id", sa.String(36), primary_key=True),
                    sa.Column("resource_type", sa.String(32), nullable=False),
                    sa.Column("name", sa.String(255), nullable=False),
                    sa.Column("owner", sa.String(64), index=True),
                    sa.Column("query", sa.JSON(), nullable=False),
                    sa.Column("properties", sa.JSON()),
                    sa.Column("created", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table("saved_filter")
