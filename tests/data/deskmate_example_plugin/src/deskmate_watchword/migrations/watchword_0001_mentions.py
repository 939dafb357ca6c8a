"""watchword mentions

Revision ID: watchword_0001
Revises:
Create Date: 2026-11-30 10:00:00

The first revision of the plugin's own branch: ``branch_labels`` names the branch after the plugin and
``depends_on`` the core's first revision (the table refers to ``accounts``). Migrations never import app code.
"""

import sqlalchemy as sa
from alembic import op

revision = "watchword_0001"
down_revision = None
branch_labels = ("watchword",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "watchword_mentions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.Column("reported_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_watchword_mentions_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchword_mentions")),
        sa.UniqueConstraint("account_id", "ticket_id", name=op.f("uq_watchword_mentions_account_id_ticket_id")),
    )
    with op.batch_alter_table("watchword_mentions", schema=None) as batch_op:
        batch_op.create_index("ix_watchword_mentions_due", ["account_id", "reported_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("watchword_mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_watchword_mentions_due")
    op.drop_table("watchword_mentions")
