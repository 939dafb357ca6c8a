"""catch-up gaps: helpdesk_cursors.gap_until, the end of the latest stretch in which deliveries were lost

Revision ID: 0009_catch_up_gaps
Revises: 0008_catch_up
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa

revision = "0009_catch_up_gaps"
down_revision = "0008_catch_up"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("helpdesk_cursors") as batch:
        batch.add_column(sa.Column("gap_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("helpdesk_cursors") as batch:
        batch.drop_column("gap_until")
