"""sla: first-reply clocks

Revision ID: sla_0001
Revises:
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "sla_0001"
down_revision = None
branch_labels = ("sla",)
depends_on = "0001_core"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("requester_email", sa.String(length=255), nullable=True),
        sa.Column("requester_name", sa.String(length=255), nullable=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("organization_name", sa.String(length=255), nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("group_name", sa.String(length=255), nullable=True),
        sa.Column("ticket_type", sa.String(length=32), nullable=True),
        sa.Column("form_id", sa.BigInteger(), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("ticket_updated_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("target_minutes", sa.Integer(), nullable=True),
        sa.Column("business_hours", sa.Boolean(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("reminders", JSON, nullable=False),
        sa.Column("reminders_done", JSON, nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=True),
        sa.Column("reply_minutes", sa.Float(), nullable=True),
        sa.Column("breached_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("mention", sa.String(length=32), nullable=True),
        sa.Column("last_message_key", sa.String(length=255), nullable=True),
        sa.Column("taken_by", sa.String(length=64), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_sla_clocks_account_id_accounts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
        sa.UniqueConstraint("account_id", "ticket_id", name=op.f("uq_sla_clocks_account_id_ticket_id")),
    )
    op.create_index("ix_sla_clocks_due", "sla_clocks", ["account_id", "state", "next_due_at"], unique=False)
    op.create_index("ix_sla_clocks_started", "sla_clocks", ["account_id", "started_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_started", table_name="sla_clocks")
    op.drop_index("ix_sla_clocks_due", table_name="sla_clocks")
    op.drop_table("sla_clocks")
