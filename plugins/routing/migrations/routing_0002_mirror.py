"""routing: its users and organizations move into the core's helpdesk mirror

Routing kept its own copy of the helpdesk's users and organizations; the core's mirror (``helpdesk_users``,
``helpdesk_organizations``) now holds the one copy. Rows are carried over: where the mirror already has the
record (the sidebar read it), routing's view wins when it is at least as recent, and the record read by the
sidebar (``data``) is kept. Then routing's tables are dropped.

Revision ID: routing_0002
Revises: routing_0001
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "routing_0002"
down_revision = "routing_0001"
branch_labels = None
depends_on = "0004_helpdesk_mirror"

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BATCH = 500
USER_COLUMNS = ("email", "organization_id", "role", "tags", "fields", "complete", "missing", "updated_at", "fetched_at")
ORGANIZATION_COLUMNS = ("name", "tags", "fields", "domain_names", "complete", "missing", "updated_at", "fetched_at")


def _column(name: str) -> sa.ColumnClause:
    if name in ("tags", "fields", "domain_names"):
        return sa.column(name, JSON)
    if name in ("updated_at", "fetched_at"):
        return sa.column(name, sa.DateTime())
    if name in ("complete", "missing"):
        return sa.column(name, sa.Boolean())
    return sa.column(name)


def _carry(source: str, target: str, key: str, columns: tuple[str, ...]) -> None:
    connection = op.get_bind()
    src = sa.table(source, sa.column("account_id"), sa.column(key), *(_column(name) for name in columns))
    dst = sa.table(target, sa.column("account_id"), sa.column(key), sa.column("data", sa.JSON(none_as_null=True)),
                   *(_column(name) for name in columns))
    known = {(row[0], row[1]): row[2] for row in connection.execute(
        sa.select(dst.c.account_id, dst.c[key], dst.c.updated_at))}
    fresh = []
    for row in connection.execute(sa.select(src)).mappings():
        values = {name: row[name] for name in ("account_id", key, *columns)}
        mine = (row["account_id"], row[key])
        if mine not in known:
            fresh.append({**values, "data": None})
        elif known[mine] is None or row["updated_at"] is None or row["updated_at"] >= known[mine]:
            connection.execute(dst.update().where(dst.c.account_id == row["account_id"], dst.c[key] == row[key])
                               .values({name: row[name] for name in columns}))
    for start in range(0, len(fresh), BATCH):
        connection.execute(dst.insert(), fresh[start:start + BATCH])


def upgrade() -> None:
    _carry("routing_users", "helpdesk_users", "user_id", USER_COLUMNS)
    _carry("routing_organizations", "helpdesk_organizations", "organization_id", ORGANIZATION_COLUMNS)
    op.drop_table("routing_users")
    op.drop_table("routing_organizations")


def downgrade() -> None:
    op.create_table("routing_organizations",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("account_id", sa.Integer(), nullable=False),
    sa.Column("organization_id", sa.BigInteger(), nullable=False),
    sa.Column("name", sa.String(length=255), nullable=True),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("fields", JSON, nullable=False),
    sa.Column("domain_names", JSON, nullable=False),
    sa.Column("complete", sa.Boolean(), nullable=False),
    sa.Column("missing", sa.Boolean(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=True),
    sa.Column("fetched_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_routing_organizations_account_id_accounts"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_organizations")),
    sa.UniqueConstraint("account_id", "organization_id", name=op.f("uq_routing_organizations_account_id_organization_id"))
    )
    op.create_table("routing_users",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("account_id", sa.Integer(), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("email", sa.String(length=320), nullable=True),
    sa.Column("organization_id", sa.BigInteger(), nullable=True),
    sa.Column("role", sa.String(length=16), nullable=True),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("fields", JSON, nullable=False),
    sa.Column("complete", sa.Boolean(), nullable=False),
    sa.Column("missing", sa.Boolean(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=True),
    sa.Column("fetched_at", sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_routing_users_account_id_accounts"), ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_users")),
    sa.UniqueConstraint("account_id", "user_id", name=op.f("uq_routing_users_account_id_user_id"))
    )
    # The mirror stays (the core owns it); routing's copy is rebuilt from it.
    op.execute("INSERT INTO routing_users (account_id, user_id, email, organization_id, role, tags, fields, complete, "
               "missing, updated_at, fetched_at) SELECT account_id, user_id, email, organization_id, role, tags, fields, "
               "complete, missing, updated_at, COALESCE(fetched_at, CURRENT_TIMESTAMP) FROM helpdesk_users")
    op.execute("INSERT INTO routing_organizations (account_id, organization_id, name, tags, fields, domain_names, "
               "complete, missing, updated_at, fetched_at) SELECT account_id, organization_id, name, tags, fields, "
               "domain_names, complete, missing, updated_at, COALESCE(fetched_at, CURRENT_TIMESTAMP) "
               "FROM helpdesk_organizations")
