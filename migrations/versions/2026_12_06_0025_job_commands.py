"""Timers as jobs an operator commands: a timer suspended on its own (held) and its job priority;
the overrides operators set on job definitions (suspension, overriding job priority); the historic
job log (a row per timer created, fired or deleted).

Revision ID: 0025
Revises: 0024
"""
import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timer") as batch:
        batch.add_column(sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("priority", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "job_definition_setting",
        sa.Column("id", sa.String(length=512), primary_key=True),
        sa.Column("process_definition_id", sa.String(length=255), nullable=False, index=True),
        sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("job_priority", sa.BigInteger()),
    )
    op.create_table(
        "job_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False, index=True),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("job_type", sa.String(length=64)),
        sa.Column("configuration", sa.Text()),
        sa.Column("process_instance_id", sa.String(length=36), index=True),
        sa.Column("process_definition_id", sa.String(length=255), nullable=False, index=True),
        sa.Column("process_definition_key", sa.String(length=255), nullable=False),
        sa.Column("tenant_id", sa.String(length=64)),
    )


def downgrade() -> None:
    op.drop_table("job_log")
    op.drop_table("job_definition_setting")
    with op.batch_alter_table("timer") as batch:
        batch.drop_column("priority")
        batch.drop_column("held")
