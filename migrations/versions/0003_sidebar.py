"""sidebar: trusted app installations, the ticket index and the directory cache

Revision ID: 0003_sidebar
Revises: 0002_requester_notices
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003_sidebar'
down_revision = '0002_requester_notices'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('sidebar_installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('installation_id', sa.BigInteger(), nullable=False),
    sa.Column('app_id', sa.BigInteger(), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=True),
    sa.Column('public_key_configured', sa.Boolean(), nullable=False),
    sa.Column('public_key_fetched_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sidebar_installations_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sidebar_installations')),
    sa.UniqueConstraint('account_id', 'installation_id', name=op.f('uq_sidebar_installations_account_id_installation_id'))
    )
    op.create_table('ticket_index',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('priority', sa.String(length=16), nullable=True),
    sa.Column('requester_id', sa.BigInteger(), nullable=True),
    sa.Column('organization_id', sa.BigInteger(), nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('data', JSON, nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_ticket_index_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'ticket_id', name=op.f('pk_ticket_index'))
    )
    op.create_index('ix_ticket_index_requester', 'ticket_index', ['account_id', 'requester_id', 'updated_at'], unique=False)
    op.create_table('directory_cache',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('record_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.Column('stale', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_directory_cache_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'kind', 'record_id', name=op.f('pk_directory_cache'))
    )


def downgrade() -> None:
    op.drop_table('directory_cache')
    op.drop_index('ix_ticket_index_requester', table_name='ticket_index')
    op.drop_table('ticket_index')
    op.drop_table('sidebar_installations')
