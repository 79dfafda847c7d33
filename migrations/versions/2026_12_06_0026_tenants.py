"""Regions as Camunda's tenants (/tenant): a region's name, the groups assigned to a region (their
members see its cases), and an index on the region of the cases, which lists the regions in use and
keeps a region with cases from being deleted.

Revision ID: 0026
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("tenant",
                    sa.Column("id", sa.String(64), primary_key=True),
                    sa.Column("name", sa.String(255)))
    op.create_table("tenant_group",
                    sa.Column("tenant_id", sa.String(64), primary_key=True),
                    sa.Column("group_id", sa.String(255), primary_key=True))
    op.create_index("ix_tenant_group_group_id", "tenant_group", ["group_id"])
    op.create_index("ix_process_instance_tenant_id", "process_instance", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_process_instance_tenant_id", table_name="process_instance")
    op.drop_index("ix_tenant_group_group_id", table_name="tenant_group")
    op.drop_table("tenant_group")
    op.drop_table("tenant")
