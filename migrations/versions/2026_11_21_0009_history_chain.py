"""Tamper evidence: each instance's history events form a hash chain (previous_hash, hash; the head
on the instance), and the heads are anchored in one chain over all instances (history_anchor).
Events written before are chained here, in their order.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from app.persistence.models import Instant
from app.services.ledger import GENESIS, event_hash

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("history_event") as table:
        table.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("process_instance") as table:
        table.add_column(sa.Column("history_hash", sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("history_event") as table:
        table.alter_column("previous_hash", existing_type=sa.String(length=64), nullable=False)
        table.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
    op.create_table(
        "history_anchor",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"],
                                name=op.f("fk_history_anchor_process_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_anchor")),
        sa.UniqueConstraint("previous_hash", name=op.f("uq_history_anchor_previous_hash")),
    )
    op.create_index("ix_history_anchor_instance_event", "history_anchor", ["process_instance_id", "event_hash"])


def _chain_existing_events() -> None:
    bind = op.get_bind()
    events = sa.table("history_event", sa.column("id"), sa.column("process_instance_id"), sa.column("sequence"),
                      sa.column("kind"), sa.column("occurred_at", Instant()), sa.column("user_id"),
                      sa.column("activity_id"), sa.column("task_id"), sa.column("payload", sa.JSON()),
                      sa.column("previous_hash"), sa.column("hash"))
    instances = sa.table("process_instance", sa.column("id"), sa.column("history_hash"))
    heads: dict[str, str] = {}
    rows = bind.execute(sa.select(events).order_by(events.c.process_instance_id, events.c.sequence, events.c.id))
    for row in rows.mappings().all():
        previous = heads.get(row["process_instance_id"], GENESIS)
        digest = event_hash(previous, row)
        bind.execute(events.update().where(events.c.id == row["id"]).values(previous_hash=previous, hash=digest))
        heads[row["process_instance_id"]] = digest
    for instance_id, head in heads.items():
        bind.execute(instances.update().where(instances.c.id == instance_id).values(history_hash=head))


def downgrade() -> None:
    op.drop_index("ix_history_anchor_instance_event", table_name="history_anchor")
    op.drop_table("history_anchor")
    with op.batch_alter_table("process_instance") as table:
        table.drop_column("history_hash")
    with op.batch_alter_table("history_event") as table:
        table.drop_column("hash")
        table.drop_column("previous_hash")
