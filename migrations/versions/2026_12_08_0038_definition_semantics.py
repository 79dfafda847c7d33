"""The rules a process version runs under, kept with it: the versions deployed before run, and their
cases replay, as they always did (1); those deployed from now on run under the release's (2: an
input or output parameter's own text trimmed and, empty, null, as in Camunda).

Revision ID: 0038
Revises: 0037
"""
import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.add_column(sa.Column("semantics", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("process_definition") as batch:
        batch.drop_column("semantics")
