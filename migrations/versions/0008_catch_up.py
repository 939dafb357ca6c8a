"""catch-up after an outage: helpdesk_cursors, how far Deskmate has heard from the helpdesk per account

Revision ID: 0008_catch_up
Revises: 0007_coordination
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_catch_up"
down_revision = "0007_coordination"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_cursors",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("heard_until", sa.DateTime(), nullable=False),
        sa.Column("events_made", sa.BigInteger(), nullable=False),
        sa.Column("last_pass_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("leased_by", sa.String(length=128), nullable=True),
        sa.Column("leased_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_helpdesk_cursors_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "stream", name=op.f("pk_helpdesk_cursors")),
    )


def downgrade() -> None:
    op.drop_table("helpdesk_cursors")
