"""Batches (Camunda's bulk operations run later by the timer worker) and their parts, one per target.

Revision ID: 0032
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("batch",
                    sa.Column("id", sa.String(36), primary_key=True),
                    sa.Column("type", sa.String(64), nullable=False),
                    sa.Column("total_jobs", sa.Integer(), nullable=False),
                    sa.Column("batch_jobs_per_seed", sa.Integer(), nullable=False),
                    sa.Column("invocations_per_batch_job", sa.Integer(), nullable=False),
                    sa.Column("suspended", sa.Boolean(), nullable=False),
                    sa.Column("tenant_id", sa.String(64)),
                    sa.Column("create_user_id", sa.String(255)),
                    sa.Column("creator", sa.JSON(), nullable=False),
                    sa.Column("configuration", sa.JSON(), nullable=False),
                    sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("execution_start_time", sa.DateTime(timezone=True)),
                    sa.Column("end_time", sa.DateTime(timezone=True)),
                    sa.Column("removal_time", sa.DateTime(timezone=True)))
    op.create_index("ix_batch_running", "batch", ["end_time", "start_time", "id"])
    op.create_table("batch_part",
                    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
                    sa.Column("batch_id", sa.String(36), sa.ForeignKey(
                        "batch.id", name="fk_batch_part_batch_id_batch", ondelete="CASCADE"), nullable=False),
                    sa.Column("position", sa.Integer(), nullable=False),
                    sa.Column("target", sa.String(255), nullable=False),
                    sa.Column("state", sa.String(16), nullable=False),
                    sa.Column("failure", sa.Text()),
                    sa.Column("executed_at", sa.DateTime(timezone=True)))
    op.create_index("ix_batch_part_state", "batch_part", ["batch_id", "state", "position"])


def downgrade() -> None:
    op.drop_table("batch_part")
    op.drop_table("batch")
