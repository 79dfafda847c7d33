"""Materials (材料) attached to tasks, and their content when the database keeps it.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("process_instance_id", sa.String(length=36), sa.ForeignKey("process_instance.id"), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255)),
        sa.Column("description", sa.Text()),
        sa.Column("type", sa.String(length=255)),
        sa.Column("url", sa.String(length=2048)),
        sa.Column("size", sa.Integer()),
        sa.Column("sha256", sa.String(length=64)),
        sa.Column("user_id", sa.String(length=255)),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
    )
    op.create_index(op.f("ix_attachment_process_instance_id"), "attachment", ["process_instance_id"])
    op.create_index(op.f("ix_attachment_task_id"), "attachment", ["task_id"])
    op.create_index(op.f("ix_attachment_sha256"), "attachment", ["sha256"])
    op.create_table(
        "attachment_content",
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("attachment_content")
    op.drop_table("attachment")
