"""watchword mentions by requester

Revision ID: watchword_0002
Revises: watchword_0001
Create Date: 2026-12-03 10:00:00

The sidebar panel lists a requester's mentions on every open: an index on (account, requester, id) serves it.
"""

from alembic import op

revision = "watchword_0002"
down_revision = "watchword_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watchword_mentions", schema=None) as batch_op:
        batch_op.create_index("ix_watchword_mentions_requester", ["account_id", "requester_id", "id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("watchword_mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_watchword_mentions_requester")
