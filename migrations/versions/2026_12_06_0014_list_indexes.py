"""The indexes the task and history lists need at a million cases: instances by start (and by
starter), open tasks by creation, and the tasks and cases of a group or user read from the indexes
of task_candidate and instance_participant alone; and the participants of tasks opened before
revision 0006 recorded them, so that a task's candidates are always among its case's participants.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_process_instance_start_time", "process_instance", ["start_time", "id"])
    op.create_index(op.f("ix_process_instance_start_user_id"), "process_instance", ["start_user_id"])
    op.create_index("ix_user_task_created", "user_task", ["created", "id"])
    op.drop_index("ix_task_candidate_identity", table_name="task_candidate")
    op.create_index("ix_task_candidate_identity", "task_candidate", ["kind", "identity", "task_id"])
    op.create_index("ix_instance_participant_identity", "instance_participant",
                    ["kind", "identity", "process_instance_id"])
    candidate = sa.table("task_candidate", sa.column("task_id"), sa.column("kind"), sa.column("identity"))
    task = sa.table("user_task", sa.column("id"), sa.column("process_instance_id"))
    participant = sa.table("instance_participant", sa.column("process_instance_id"), sa.column("kind"),
                           sa.column("identity"))
    missing = (sa.select(task.c.process_instance_id, candidate.c.kind, candidate.c.identity).distinct()
               .join_from(candidate, task, task.c.id == candidate.c.task_id)
               .where(~sa.exists().where(participant.c.process_instance_id == task.c.process_instance_id,
                                         participant.c.kind == candidate.c.kind,
                                         participant.c.identity == candidate.c.identity)))
    op.execute(participant.insert().from_select(["process_instance_id", "kind", "identity"], missing))


def downgrade() -> None:
    # The participants added stay: they are what revision 0006 records for every task it opens.
    op.drop_index("ix_instance_participant_identity", table_name="instance_participant")
    op.drop_index("ix_task_candidate_identity", table_name="task_candidate")
    op.create_index("ix_task_candidate_identity", "task_candidate", ["kind", "identity"])
    op.drop_index("ix_user_task_created", table_name="user_task")
    op.drop_index(op.f("ix_process_instance_start_user_id"), table_name="process_instance")
    op.drop_index("ix_process_instance_start_time", table_name="process_instance")
