"""Refused sign-ins per account name and per client address, shared by every replica, for
throttling and locking out.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signin_failure",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_signin_failure")),
    )
    op.create_index(op.f("ix_signin_failure_window_start"), "signin_failure", ["window_start"])


def downgrade() -> None:
    op.drop_index(op.f("ix_signin_failure_window_start"), table_name="signin_failure")
    op.drop_table("signin_failure")
