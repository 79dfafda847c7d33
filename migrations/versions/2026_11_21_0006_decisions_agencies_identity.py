"""DMN decision definitions; the register of clean production audit agencies; the participants of
each instance (whom its tasks were offered to); accounts and their groups.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_definition",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("version_tag", sa.String(length=255), nullable=True),
        sa.Column("deployment_id", sa.String(length=36), nullable=False),
        sa.Column("resource_name", sa.String(length=255), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("history_time_to_live", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployment.id"],
                                name=op.f("fk_decision_definition_deployment_id_deployment")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_definition")),
        sa.UniqueConstraint("key", "tenant_id", "version", name=op.f("uq_decision_definition_key")),
    )
    op.create_index(op.f("ix_decision_definition_key"), "decision_definition", ["key"])
    op.create_index(op.f("ix_decision_definition_deployment_id"), "decision_definition", ["deployment_id"])
    op.create_table(
        "audit_agency",
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("agency_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("cause", sa.String(length=2000), nullable=True),
        sa.Column("decided_by_instance_id", sa.String(length=36), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", name=op.f("pk_audit_agency")),
    )
    op.create_index(op.f("ix_audit_agency_status"), "audit_agency", ["status"])
    op.create_table(
        "instance_participant",
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("identity", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"],
                                name=op.f("fk_instance_participant_process_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("process_instance_id", "kind", "identity", name=op.f("pk_instance_participant")),
    )
    op.create_table(
        "account",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
    )
    op.create_table(
        "membership",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], name=op.f("fk_membership_account_id_account")),
        sa.PrimaryKeyConstraint("account_id", "group_id", name=op.f("pk_membership")),
    )
    op.create_index(op.f("ix_membership_group_id"), "membership", ["group_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_membership_group_id"), table_name="membership")
    op.drop_table("membership")
    op.drop_table("account")
    op.drop_table("instance_participant")
    op.drop_index(op.f("ix_audit_agency_status"), table_name="audit_agency")
    op.drop_table("audit_agency")
    op.drop_index(op.f("ix_decision_definition_deployment_id"), table_name="decision_definition")
    op.drop_index(op.f("ix_decision_definition_key"), table_name="decision_definition")
    op.drop_table("decision_definition")
