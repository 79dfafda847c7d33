"""Tamper evidence: each instance's history events form a hash chain (previous_hash, hash; the head
on the instance), and the heads are anchored in one chain over all instances (history_anchor).
Events written before are chained here, in their order.

Revision ID: 0009
Revises: 0008
"""
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

# The chain as it was defined when this migration was written, frozen here: a migration reads no live
# application code, which may change after it (the service's own hashing is app.audit.ledger).
GENESIS = "0" * 64


def _instant_text(at: datetime) -> str:
    # SQLite gives instants back without their offset; they are stored in UTC.
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(previous: str, event: Any) -> str:
    canonical = json.dumps({
        "process_instance_id": event["process_instance_id"], "sequence": event["sequence"], "kind": event["kind"],
        "occurred_at": _instant_text(event["occurred_at"]), "user_id": event["user_id"],
        "activity_id": event["activity_id"], "task_id": event["task_id"], "payload": event["payload"],
    }, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{canonical}".encode()).hexdigest()

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
                      sa.column("kind"), sa.column("occurred_at", sa.DateTime(timezone=True)), sa.column("user_id"),
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
