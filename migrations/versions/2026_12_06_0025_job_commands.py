"""Timers as jobs an operator commands: a timer suspended on its own (held) and its job priority;
the overrides operators set on job definitions (suspension, overriding job priority).

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


def downgrade() -> None:
    op.drop_table("job_definition_setting")
    with op.batch_alter_table("timer") as batch:
        batch.drop_column("priority")
        batch.drop_column("held")
