"""The eco-industrial park register (standing, revocation cause, re-application ban) and the expert
pool: experts, declared conflicts (recusal) and recorded random draws.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "park_standing",
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("park_name", sa.String(length=255), nullable=False),
        sa.Column("province", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("ban_until", sa.Date(), nullable=True),
        sa.Column("cause", sa.String(length=255), nullable=True),
        sa.Column("decided_by_instance_id", sa.String(length=36), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("park_id", name=op.f("pk_park_standing")),
    )
    op.create_index(op.f("ix_park_standing_province"), "park_standing", ["province"])
    op.create_table(
        "expert",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("specialty", sa.String(length=255), nullable=False),
        sa.Column("organization", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert")),
    )
    op.create_table(
        "expert_conflict",
        sa.Column("expert_id", sa.String(length=64), nullable=False),
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["expert.id"], name=op.f("fk_expert_conflict_expert_id_expert")),
        sa.PrimaryKeyConstraint("expert_id", "park_id", name=op.f("pk_expert_conflict")),
    )
    op.create_table(
        "expert_draw",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("park_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("eligible", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("drawn", sa.JSON(), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=True),
        sa.Column("drawn_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_draw")),
    )
    op.create_index(op.f("ix_expert_draw_park_id"), "expert_draw", ["park_id"])
    op.create_index(op.f("ix_expert_draw_process_instance_id"), "expert_draw", ["process_instance_id"])


def downgrade() -> None:
    op.drop_table("expert_draw")
    op.drop_table("expert_conflict")
    op.drop_table("expert")
    op.drop_table("park_standing")
