"""Messages, signals and external tasks: event subscriptions, external tasks with their locks and
retries, incidents; timers of definitions' start events.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timer") as batch:
        batch.alter_column("process_instance_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("process_definition_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("repeat", sa.JSON(), nullable=True))
        batch.create_index(batch.f("ix_timer_process_definition_id"), ["process_definition_id"], unique=False)

    op.create_table(
        "event_subscription",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_name", sa.String(length=255), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=True),
        sa.Column("process_definition_id", sa.String(length=255), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"],
                                name=op.f("fk_event_subscription_process_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscription")),
    )
    op.create_index("ix_event_subscription_kind_name", "event_subscription", ["kind", "event_name"])
    op.create_index(op.f("ix_event_subscription_process_instance_id"), "event_subscription",
                    ["process_instance_id"])
    op.create_index(op.f("ix_event_subscription_process_definition_id"), "event_subscription",
                    ["process_definition_id"])

    op.create_table(
        "external_task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("process_definition_id", sa.String(length=255), nullable=False),
        sa.Column("process_definition_key", sa.String(length=255), nullable=False),
        sa.Column("process_definition_version_tag", sa.String(length=255), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("topic_name", sa.String(length=255), nullable=False),
        sa.Column("business_key", sa.String(length=255), nullable=True),
        sa.Column("worker_id", sa.String(length=255), nullable=True),
        sa.Column("lock_expiration", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"],
                                name=op.f("fk_external_task_process_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_task")),
    )
    op.create_index("ix_external_task_topic_lock", "external_task", ["topic_name", "lock_expiration"])
    op.create_index(op.f("ix_external_task_process_instance_id"), "external_task", ["process_instance_id"])

    op.create_table(
        "incident",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_instance_id", sa.String(length=36), nullable=False),
        sa.Column("process_definition_id", sa.String(length=255), nullable=False),
        sa.Column("activity_id", sa.String(length=255), nullable=False),
        sa.Column("incident_type", sa.String(length=64), nullable=False),
        sa.Column("configuration", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instance.id"],
                                name=op.f("fk_incident_process_instance_id_process_instance")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    op.create_index(op.f("ix_incident_process_instance_id"), "incident", ["process_instance_id"])
    op.create_index(op.f("ix_incident_configuration"), "incident", ["configuration"])


def downgrade() -> None:
    op.drop_table("incident")
    op.drop_table("external_task")
    op.drop_table("event_subscription")
    with op.batch_alter_table("timer") as batch:
        batch.drop_index(batch.f("ix_timer_process_definition_id"))
        batch.drop_column("repeat")
        batch.drop_column("process_definition_id")
        batch.alter_column("process_instance_id", existing_type=sa.String(length=36), nullable=False)
