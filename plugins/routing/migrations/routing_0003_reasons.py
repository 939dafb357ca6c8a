"""routing: why a ticket was routed, as data (kind, value, key) beside the English words

Decisions made before this revision keep only their words (``reasons`` is an empty list): pages show those as
they are.

Revision ID: routing_0003
Revises: routing_0002
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "routing_0003"
down_revision = "routing_0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.add_column(sa.Column("reasons", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("routing_decisions") as batch:
        batch.drop_column("reasons")
