"""Administrative changes (deployments, calendar years, the park register, the expert pool,
accounts) in a hash chain of their own.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_event")),
        sa.UniqueConstraint("previous_hash", name=op.f("uq_admin_event_previous_hash")),
    )
    op.create_index(op.f("ix_admin_event_subject"), "admin_event", ["subject"])


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_event_subject"), table_name="admin_event")
    op.drop_table("admin_event")
