"""helpdesk mirror: helpdesk_tickets, helpdesk_users, helpdesk_organizations replace the sidebar's caches

The sidebar's ``ticket_index`` becomes ``helpdesk_tickets`` (same columns); ``directory_cache`` rows become
users and organizations whose columns are read from the record kept in ``data``. Plugins' own copies (routing's
users and organizations) are carried over by their own branches, which depend on this revision.

Revision ID: 0004_helpdesk_mirror
Revises: 0003_sidebar
Create Date: 2026-12-07
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_helpdesk_mirror'
down_revision = '0003_sidebar'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
BATCH = 500


def _fk(table):
    return sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f(f'fk_{table}_account_id_accounts'),
                                   ondelete='CASCADE')


def _id(value):
    if isinstance(value, bool):
        return None
    try:
        return int(value) or None
    except (TypeError, ValueError):
        return None


def _time(value):
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace('Z', '+00:00'))
    except ValueError:
        return None
    return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


def _tags(values):
    return sorted({str(tag).strip().lower() for tag in values or [] if str(tag).strip()})


def _text(value, size):
    return str(value)[:size] if value else None


def upgrade() -> None:
    op.create_table('helpdesk_tickets',
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
    _fk('helpdesk_tickets'),
    sa.PrimaryKeyConstraint('account_id', 'ticket_id', name=op.f('pk_helpdesk_tickets'))
    )
    op.create_index('ix_helpdesk_tickets_requester', 'helpdesk_tickets', ['account_id', 'requester_id', 'updated_at'],
                    unique=False)
    users = op.create_table('helpdesk_users',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('organization_id', sa.BigInteger(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('data', JSON, nullable=True),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=True),
    _fk('helpdesk_users'),
    sa.PrimaryKeyConstraint('account_id', 'user_id', name=op.f('pk_helpdesk_users'))
    )
    organizations = op.create_table('helpdesk_organizations',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('domain_names', JSON, nullable=False),
    sa.Column('data', JSON, nullable=True),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('missing', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=True),
    _fk('helpdesk_organizations'),
    sa.PrimaryKeyConstraint('account_id', 'organization_id', name=op.f('pk_helpdesk_organizations'))
    )
    connection = op.get_bind()
    columns = ['account_id', 'ticket_id', 'subject', 'status', 'priority', 'requester_id', 'organization_id',
               'group_id', 'tags', 'created_at', 'updated_at', 'data', 'fetched_at']
    op.execute(f"INSERT INTO helpdesk_tickets ({', '.join(columns)}) SELECT {', '.join(columns)} FROM ticket_index")
    directory = sa.table('directory_cache', sa.column('account_id'), sa.column('kind'), sa.column('record_id'),
                         sa.column('data', JSON), sa.column('fetched_at', sa.DateTime()),
                         sa.column('stale', sa.Boolean()))
    for kind, target in (('user', users), ('organization', organizations)):
        rows = connection.execute(sa.select(directory).where(directory.c.kind == kind)).all()
        values = []
        for row in rows:
            data = row.data if isinstance(row.data, dict) else {}
            common = {'account_id': row.account_id, 'data': data, 'complete': not row.stale,
                      'updated_at': _time(data.get('updated_at')), 'fetched_at': row.fetched_at,
                      'name': _text(data.get('name'), 255), 'tags': _tags(data.get('tags'))}
            if kind == 'user':
                values.append({**common, 'user_id': row.record_id,
                               'email': str(data['email']).lower()[:320] if data.get('email') else None,
                               'organization_id': _id(data.get('organization_id')),
                               'role': _text(data.get('role'), 16), 'locale': _text(data.get('locale'), 16),
                               'fields': dict(data.get('user_fields') or {}), 'missing': data.get('active') is False})
            else:
                values.append({**common, 'organization_id': row.record_id,
                               'fields': dict(data.get('organization_fields') or {}),
                               'domain_names': [str(d).lower() for d in data.get('domain_names') or []],
                               'missing': bool(data.get('deleted_at'))})
        for start in range(0, len(values), BATCH):
            connection.execute(target.insert(), values[start:start + BATCH])
    op.drop_table('directory_cache')
    op.drop_index('ix_ticket_index_requester', table_name='ticket_index')
    op.drop_table('ticket_index')


def downgrade() -> None:
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
    columns = ['account_id', 'ticket_id', 'subject', 'status', 'priority', 'requester_id', 'organization_id',
               'group_id', 'tags', 'created_at', 'updated_at', 'data', 'fetched_at']
    op.execute(f"INSERT INTO ticket_index ({', '.join(columns)}) SELECT {', '.join(columns)} FROM helpdesk_tickets")
    for kind, table, key in (('user', 'helpdesk_users', 'user_id'),
                             ('organization', 'helpdesk_organizations', 'organization_id')):
        op.execute(f"INSERT INTO directory_cache (account_id, kind, record_id, data, fetched_at, stale) "
                   f"SELECT account_id, '{kind}', {key}, data, fetched_at, NOT complete FROM {table} "
                   f"WHERE data IS NOT NULL AND fetched_at IS NOT NULL")
    op.drop_table('helpdesk_organizations')
    op.drop_table('helpdesk_users')
    op.drop_index('ix_helpdesk_tickets_requester', table_name='helpdesk_tickets')
    op.drop_table('helpdesk_tickets')
