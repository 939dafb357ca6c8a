"""routing: a decision's notes (what was deliberately left alone) as data beside their English words

Decisions made before this revision keep only their words (``notes`` is an empty list).

Revision ID: routing_0004
Revises: routing_0003
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "routing_0004"
down_revision = "routing_0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.add_column(sa.Column("notes", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_column("notes")
