"""Call activities start instances of their own: an instance knows the instance and the call
activity that started it (Camunda's super process instance) and the root of its chain of callers,
and the call activity's activity instance knows the instance it called.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_instance") as batch:
        batch.add_column(sa.Column("super_process_instance_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("super_activity_instance_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("root_process_instance_id", sa.String(36), nullable=True))
        batch.create_foreign_key(op.f("fk_process_instance_super_process_instance_id_process_instance"),
                                 "process_instance", ["super_process_instance_id"], ["id"])
        batch.create_index(op.f("ix_process_instance_super_process_instance_id"), ["super_process_instance_id"])
    with op.batch_alter_table("activity_instance") as batch:
        batch.add_column(sa.Column("called_process_instance_id", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("activity_instance") as batch:
        batch.drop_column("called_process_instance_id")
    with op.batch_alter_table("process_instance") as batch:
        batch.drop_index(op.f("ix_process_instance_super_process_instance_id"))
        batch.drop_constraint(op.f("fk_process_instance_super_process_instance_id_process_instance"),
                              type_="foreignkey")
        batch.drop_column("root_process_instance_id")
        batch.drop_column("super_activity_instance_id")
        batch.drop_column("super_process_instance_id")
