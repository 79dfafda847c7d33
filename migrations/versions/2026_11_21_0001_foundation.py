"""Foundation: deployments, versioned process definitions, instances, projected user tasks,
activity history, the append-only event record and timers.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 05:27:34.965150
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('deployment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('deployment_time', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment'))
    )
    op.create_table('deployment_resource',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('deployment_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_deployment_resource_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_resource')),
    sa.UniqueConstraint('deployment_id', 'name', name=op.f('uq_deployment_resource_deployment_id'))
    )
    with op.batch_alter_table('deployment_resource', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_resource_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('process_definition',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('version_tag', sa.String(length=255), nullable=True),
    sa.Column('deployment_id', sa.String(length=36), nullable=False),
    sa.Column('resource_name', sa.String(length=255), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('history_time_to_live', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('suspended', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployment.id'], name=op.f('fk_process_definition_deployment_id_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_definition')),
    sa.UniqueConstraint('key', 'tenant_id', 'version', name=op.f('uq_process_definition_key'))
    )
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_definition_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_definition_key'), ['key'], unique=False)

    op.create_table('process_instance',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('definition_id', sa.String(length=255), nullable=False),
    sa.Column('definition_key', sa.String(length=255), nullable=False),
    sa.Column('business_key', sa.String(length=255), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('start_user_id', sa.String(length=255), nullable=True),
    sa.Column('start_activity_id', sa.String(length=255), nullable=True),
    sa.Column('delete_reason', sa.Text(), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_process_instance_definition_id_process_definition')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instance'))
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instance_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_definition_key'), ['definition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_process_instance_status'), ['status'], unique=False)

    op.create_table('activity_instance',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('process_instance_id', sa.String(length=36), nullable=False),
    sa.Column('process_definition_id', sa.String(length=255), nullable=False),
    sa.Column('process_definition_key', sa.String(length=255), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=False),
    sa.Column('activity_name', sa.String(length=255), nullable=True),
    sa.Column('activity_type', sa.String(length=64), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('assignee', sa.String(length=255), nullable=True),
    sa.Column('start_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled', sa.Boolean(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_activity_instance_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_instance'))
    )
    with op.batch_alter_table('activity_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_instance_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('history_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('process_instance_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=True),
    sa.Column('activity_id', sa.String(length=255), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_history_event_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_history_event')),
    sa.UniqueConstraint('process_instance_id', 'sequence', name=op.f('uq_history_event_process_instance_id'))
    )
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_history_event_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('timer',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('process_instance_id', sa.String(length=36), nullable=False),
    sa.Column('process_definition_key', sa.String(length=255), nullable=False),
    sa.Column('activity_id', sa.String(length=255), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_timer_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timer'))
    )
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timer_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timer_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('user_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('process_instance_id', sa.String(length=36), nullable=False),
    sa.Column('process_definition_id', sa.String(length=255), nullable=False),
    sa.Column('process_definition_key', sa.String(length=255), nullable=False),
    sa.Column('business_key', sa.String(length=255), nullable=True),
    sa.Column('task_definition_key', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('assignee', sa.String(length=255), nullable=True),
    sa.Column('owner', sa.String(length=255), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due', sa.DateTime(timezone=True), nullable=True),
    sa.Column('follow_up', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=255), nullable=True),
    sa.Column('tenant_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_user_task_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_task'))
    )
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_task_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_task_business_key'), ['business_key'], unique=False)
        batch_op.create_index('ix_user_task_process_due', ['process_definition_key', 'due'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_task_process_instance_id'), ['process_instance_id'], unique=False)

    op.create_table('task_candidate',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('identity', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['user_task.id'], name=op.f('fk_task_candidate_task_id_user_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('task_id', 'kind', 'identity', name=op.f('pk_task_candidate'))
    )
    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.create_index('ix_task_candidate_identity', ['kind', 'identity'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('task_candidate', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidate_identity')

    op.drop_table('task_candidate')
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_task_process_instance_id'))
        batch_op.drop_index('ix_user_task_process_due')
        batch_op.drop_index(batch_op.f('ix_user_task_business_key'))
        batch_op.drop_index(batch_op.f('ix_user_task_assignee'))

    op.drop_table('user_task')
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timer_process_instance_id'))
        batch_op.drop_index(batch_op.f('ix_timer_due_at'))

    op.drop_table('timer')
    with op.batch_alter_table('history_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_history_event_process_instance_id'))

    op.drop_table('history_event')
    with op.batch_alter_table('activity_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_instance_process_instance_id'))

    op.drop_table('activity_instance')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_status'))
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_key'))
        batch_op.drop_index(batch_op.f('ix_process_instance_definition_id'))
        batch_op.drop_index(batch_op.f('ix_process_instance_business_key'))

    op.drop_table('process_instance')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_definition_key'))
        batch_op.drop_index(batch_op.f('ix_process_definition_deployment_id'))

    op.drop_table('process_definition')
    with op.batch_alter_table('deployment_resource', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_resource_deployment_id'))

    op.drop_table('deployment_resource')
    op.drop_table('deployment')

