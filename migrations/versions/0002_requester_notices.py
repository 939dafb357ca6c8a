"""requester notices

Revision ID: 0002_requester_notices
Revises: 0001_core
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002_requester_notices'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('requester_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('subject_key', sa.String(length=128), nullable=False),
    sa.Column('requester_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('work_key', sa.String(length=255), nullable=False),
    sa.Column('ticket_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('templates', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('requester_name', sa.String(length=255), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('source_ticket_id', sa.BigInteger(), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_requester_notices_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requester_notices')),
    sa.UniqueConstraint('account_id', 'subject_key', 'requester_id', 'kind', name=op.f('uq_requester_notices_account_id_subject_key_requester_id_kind')),
    sa.UniqueConstraint('account_id', 'work_key', name=op.f('uq_requester_notices_account_id_work_key'))
    )
    with op.batch_alter_table('requester_notices', schema=None) as batch_op:
        batch_op.create_index('ix_requester_notices_subject', ['account_id', 'subject_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('requester_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_requester_notices_subject')

    op.drop_table('requester_notices')
