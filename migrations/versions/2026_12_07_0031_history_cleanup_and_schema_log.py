"""Camunda's history cleanup job: when the timer worker next deletes the histories whose retention
has passed; the schema log, each upgrade the migrate step applied; and the execution an incident an
operator raised is on.

Revision ID: 0031
Revises: 0030
"""
import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_cleanup_job",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("exception_message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_cleanup_job")),
    )
    op.create_table(
        "schema_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schema_log")),
    )
    with op.batch_alter_table("incident") as table:
        table.add_column(sa.Column("execution_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident") as table:
        table.drop_column("execution_id")
    op.drop_table("schema_log")
    op.drop_table("history_cleanup_job")
