"""Anchors are numbered without gaps and signed with a key the database does not hold.

Anchors written before are numbered here in their order and stay unsigned: a migration holds no
key. `eco-orchestrator verify --seal`, run once after the upgrade, checks the chains and signs the
heads they end in; until then verification names each history not covered by a signed anchor.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_anchor") as table:
        table.add_column(sa.Column("number", sa.Integer(), nullable=True))
        table.add_column(sa.Column("signature", sa.String(length=128), nullable=True))
    bind = op.get_bind()
    anchors = sa.table("history_anchor", sa.column("id", sa.Integer()), sa.column("number", sa.Integer()))
    ids = bind.execute(sa.select(anchors.c.id).order_by(anchors.c.id)).scalars().all()
    for number, anchor_id in enumerate(ids, start=1):
        bind.execute(anchors.update().where(anchors.c.id == anchor_id).values(number=number))
    with op.batch_alter_table("history_anchor") as table:
        table.alter_column("number", existing_type=sa.Integer(), nullable=False)
        table.create_unique_constraint(op.f("uq_history_anchor_number"), ["number"])


def downgrade() -> None:
    with op.batch_alter_table("history_anchor") as table:
        table.drop_constraint(op.f("uq_history_anchor_number"), type_="unique")
        table.drop_column("signature")
        table.drop_column("number")
