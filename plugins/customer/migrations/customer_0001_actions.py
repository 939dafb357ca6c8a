"""customer tables: actions on the billing system (the audit), agents' helpdesk records, spent totals

Revision ID: customer_0001
Revises:
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "customer_0001"
down_revision = None
branch_labels = ("customer",)
depends_on = "0001_core"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _account() -> sa.Column:
    return sa.Column("account_id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "customer_actions",
        sa.Column("id", ID, nullable=False),
        _account(),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_email", sa.String(length=255), nullable=False),
        sa.Column("requester_locale", sa.String(length=16), nullable=True),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_name", sa.String(length=255), nullable=True),
        sa.Column("agent_role", sa.String(length=16), nullable=True),
        sa.Column("agent_groups", JSON, nullable=False),
        sa.Column("agent_locale", sa.String(length=16), nullable=True),
        sa.Column("purchase_id", sa.String(length=64), nullable=True),
        sa.Column("purchase_title", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("option", sa.String(length=64), nullable=True),
        sa.Column("rule", sa.String(length=255), nullable=True),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.Column("approver_slack_id", sa.String(length=32), nullable=True),
        sa.Column("approver_name", sa.String(length=255), nullable=True),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.Column("billing_reference", sa.String(length=128), nullable=True),
        sa.Column("result", JSON, nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_customer_actions_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_actions")),
        sa.UniqueConstraint("account_id", "request_id", name=op.f("uq_customer_actions_account_id_request_id")),
    )
    op.create_index("ix_customer_actions_ticket", "customer_actions", ["account_id", "ticket_id"])
    op.create_index("ix_customer_actions_requested", "customer_actions", ["account_id", "requested_at"])
    op.create_index("ix_customer_actions_agent", "customer_actions", ["account_id", "agent_id", "requested_at"])
    op.create_table(
        "customer_agents",
        sa.Column("id", ID, nullable=False),
        _account(),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_customer_agents_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_agents")),
        sa.UniqueConstraint("account_id", "agent_id", name=op.f("uq_customer_agents_account_id_agent_id")),
    )
    op.create_table(
        "customer_totals",
        sa.Column("id", ID, nullable=False),
        _account(),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_customer_totals_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_totals")),
        sa.UniqueConstraint("account_id", "scope", "currency",
                            name=op.f("uq_customer_totals_account_id_scope_currency")),
    )


def downgrade() -> None:
    op.drop_table("customer_totals")
    op.drop_table("customer_agents")
    op.drop_index("ix_customer_actions_agent", table_name="customer_actions")
    op.drop_index("ix_customer_actions_requested", table_name="customer_actions")
    op.drop_index("ix_customer_actions_ticket", table_name="customer_actions")
    op.drop_table("customer_actions")
