"""An ended case's history may be deleted once its process's history time to live has passed: the
anchors that signed its chain stay in the chain over all instances, so they no longer refer to an
instance row.

Revision ID: 0028
Revises: 0026
"""
from alembic import op

revision = "0028"
down_revision = "0026"
branch_labels = None
depends_on = None

_FOREIGN_KEY = "fk_history_anchor_process_instance_id_process_instance"


def upgrade() -> None:
    with op.batch_alter_table("history_anchor") as table:
        table.drop_constraint(_FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    # Fails while anchors of deleted histories remain: they name instances that no longer exist.
    with op.batch_alter_table("history_anchor") as table:
        table.create_foreign_key(_FOREIGN_KEY, "process_instance", ["process_instance_id"], ["id"])
