"""watchword words added from the sidebar

Revision ID: watchword_0003
Revises: watchword_0002
Create Date: 2026-12-10 10:00:00

Words an agent adds from the sidebar's form; ``request_id`` (unique per account) makes a resent form add
nothing more.
"""

import sqlalchemy as sa
from alembic import op

revision = "watchword_0003"
down_revision = "watchword_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchword_words",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=40), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.Column("active_until", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_watchword_words_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchword_words")),
        sa.UniqueConstraint("account_id", "request_id", name=op.f("uq_watchword_words_account_id_request_id")),
    )


def downgrade() -> None:
    op.drop_table("watchword_words")
