"""Camunda's identity service over REST: a user's profile (first and last name, e-mail), groups as
rows of their own (name and type), and a generation on each account that every change of its
groups or profile renews. The groups accounts already belong to become groups named by their id.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("first_name", sa.String(255)))
        batch.add_column(sa.Column("last_name", sa.String(255)))
        batch.add_column(sa.Column("email", sa.String(255)))
        batch.add_column(sa.Column("generation", sa.String(32), nullable=False, server_default=""))
    op.create_table("identity_group",
                    sa.Column("id", sa.String(255), primary_key=True),
                    sa.Column("name", sa.String(255)),
                    sa.Column("type", sa.String(255)))
    op.execute("INSERT INTO identity_group (id, name) SELECT DISTINCT group_id, group_id FROM membership")


def downgrade() -> None:
    op.drop_table("identity_group")
    with op.batch_alter_table("account") as batch:
        for column in ("generation", "email", "last_name", "first_name"):
            batch.drop_column(column)
