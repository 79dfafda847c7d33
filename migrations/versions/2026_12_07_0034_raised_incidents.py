"""Whether an operator ever raised an incident on a case: its steps look for raised incidents to end
only then.

Revision ID: 0034
Revises: 0033
"""
import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("raised_incidents", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE process_instance SET raised_incidents = true WHERE id IN "
               "(SELECT process_instance_id FROM incident WHERE execution_id IS NOT NULL)")


def downgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_column("raised_incidents")
