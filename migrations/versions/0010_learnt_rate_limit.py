"""learnt rate limit: rate_buckets.limit_per_minute and limit_learnt_at, from the helpdesk's X-Rate-Limit

Revision ID: 0010_learnt_rate_limit
Revises: 0009_catch_up_gaps
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_learnt_rate_limit"
down_revision = "0009_catch_up_gaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rate_buckets") as batch:
        batch.add_column(sa.Column("limit_per_minute", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("limit_learnt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rate_buckets") as batch:
        batch.drop_column("limit_learnt_at")
        batch.drop_column("limit_per_minute")
