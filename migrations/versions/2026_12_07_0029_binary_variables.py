"""Binary variables (Bytes, File): which cases refer to which content of the content store.

Revision ID: 0029
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "variable_content",
        sa.Column("process_instance_id", sa.String(length=36), sa.ForeignKey("process_instance.id"),
                  primary_key=True),
        sa.Column("sha256", sa.String(length=64), primary_key=True),
    )
    op.create_index(op.f("ix_variable_content_sha256"), "variable_content", ["sha256"])


def downgrade() -> None:
    op.drop_index(op.f("ix_variable_content_sha256"), table_name="variable_content")
    op.drop_table("variable_content")
