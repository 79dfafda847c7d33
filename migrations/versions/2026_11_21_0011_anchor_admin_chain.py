"""The chain over all instances also anchors the head of the administrative chain (an anchor
without an instance).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_anchor") as table:
        table.alter_column("process_instance_id", existing_type=sa.String(length=36), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM history_anchor WHERE process_instance_id IS NULL")
    with op.batch_alter_table("history_anchor") as table:
        table.alter_column("process_instance_id", existing_type=sa.String(length=36), nullable=False)
