"""Coordinated workers: a lease row per (timer, account), so a timed pass runs once per interval

The inbound events' retry columns (attempts, next_attempt_at, last_error, pending_plugins) are already there.

Revision ID: 0007_coordination
Revises: 0006_retention
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_coordination"
down_revision = "0006_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timer_leases",
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("leased_until", sa.DateTime(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_timer_leases_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("name", "account_id", name=op.f("pk_timer_leases")),
    )


def downgrade() -> None:
    op.drop_table("timer_leases")
