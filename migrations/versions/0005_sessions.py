"""sessions: admin page sessions revocable on the server, sidebar load tokens used once

Revision ID: 0005_sessions
Revises: 0004_helpdesk_mirror
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_sessions"
down_revision = "0004_helpdesk_mirror"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_admin_sessions_account_id_accounts"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"],
                                name=op.f("fk_admin_sessions_token_id_api_tokens"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_admin_sessions")),
    )
    op.create_index("ix_admin_sessions_expires_at", "admin_sessions", ["expires_at"], unique=False)
    op.create_table(
        "sidebar_load_tokens",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("jti_hash", sa.String(length=64), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_sidebar_load_tokens_account_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "jti_hash", name=op.f("pk_sidebar_load_tokens")),
    )
    op.create_index("ix_sidebar_load_tokens_expires_at", "sidebar_load_tokens", ["account_id", "expires_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_sidebar_load_tokens_expires_at", table_name="sidebar_load_tokens")
    op.drop_table("sidebar_load_tokens")
    op.drop_index("ix_admin_sessions_expires_at", table_name="admin_sessions")
    op.drop_table("admin_sessions")
