"""Authorizations as Camunda keeps them, for saved filters only: who besides the owner reads one.

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("authorization_grant",
                    sa.Column("id", sa.String(36), primary_key=True),
                    sa.Column("type", sa.Integer(), nullable=False),
                    sa.Column("user_id", sa.String(64)),
                    sa.Column("group_id", sa.String(255)),
                    sa.Column("resource_type", sa.Integer(), nullable=False),
                    sa.Column("resource_id", sa.String(255), nullable=False, index=True),
                    sa.Column("permissions", sa.JSON(), nullable=False))


def downgrade() -> None:
    op.drop_table("authorization_grant")
