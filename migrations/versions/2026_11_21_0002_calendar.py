"""The official working calendar: years (confirmed or not, with their notice) and their dated
off days and make-up working days.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("notice", sa.String(length=255), nullable=False),
        sa.Column("entered_by", sa.String(length=255), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_year")),
    )
    op.create_table(
        "calendar_entry",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("notice", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(["year"], ["calendar_year.year"], name=op.f("fk_calendar_entry_year_calendar_year")),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_entry")),
    )
    op.create_index(op.f("ix_calendar_entry_year"), "calendar_entry", ["year"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_calendar_entry_year"), table_name="calendar_entry")
    op.drop_table("calendar_entry")
    op.drop_table("calendar_year")
