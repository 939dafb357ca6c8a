"""feature requests: a linked ticket's status and requester, and a requester's organization, are the mirror's

``feature_requests_tickets`` kept subject, status, requester and organization of linked tickets, and
``feature_requests_requesters`` a requester's e-mail and organization: copies of what the core's helpdesk mirror
holds. What the mirror lacks is carried over (a ticket or user it never saw), then the columns are dropped; the
plugin keeps only its own state (segments, tag changes).

Revision ID: feature_requests_0002
Revises: feature_requests_0001
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "feature_requests_0002"
down_revision = "feature_requests_0001"
branch_labels = None
depends_on = "0004_helpdesk_mirror"

JSON_NULL = sa.JSON(none_as_null=True)


def upgrade() -> None:
    connection = op.get_bind()
    tickets = sa.table("feature_requests_tickets", sa.column("account_id"), sa.column("ticket_id"),
                       sa.column("subject"), sa.column("status"), sa.column("requester_id"),
                       sa.column("organization_id"))
    mirror_tickets = sa.table("helpdesk_tickets", sa.column("account_id"), sa.column("ticket_id"),
                              sa.column("subject"), sa.column("status"), sa.column("requester_id"),
                              sa.column("organization_id"), sa.column("tags", sa.JSON()))
    known = {tuple(row) for row in connection.execute(sa.select(mirror_tickets.c.account_id,
                                                                mirror_tickets.c.ticket_id))}
    missing = [{**row._mapping, "tags": []} for row in connection.execute(sa.select(tickets))
               if (row.account_id, row.ticket_id) not in known]
    for start in range(0, len(missing), 500):
        connection.execute(mirror_tickets.insert(), missing[start:start + 500])
    people = sa.table("feature_requests_requesters", sa.column("account_id"), sa.column("requester_id"),
                      sa.column("email"), sa.column("organization_id"))
    users = sa.table("helpdesk_users", sa.column("account_id"), sa.column("user_id"), sa.column("email"),
                     sa.column("organization_id"), sa.column("tags", sa.JSON()), sa.column("fields", sa.JSON()),
                     sa.column("data", JSON_NULL), sa.column("complete", sa.Boolean()),
                     sa.column("missing", sa.Boolean()))
    known = {tuple(row) for row in connection.execute(sa.select(users.c.account_id, users.c.user_id))}
    missing = [{"account_id": row.account_id, "user_id": row.requester_id, "email": row.email,
                "organization_id": row.organization_id, "tags": [], "fields": {}, "data": None, "complete": False,
                "missing": False}
               for row in connection.execute(sa.select(people)) if (row.account_id, row.requester_id) not in known]
    for start in range(0, len(missing), 500):
        connection.execute(users.insert(), missing[start:start + 500])
    with op.batch_alter_table("feature_requests_tickets") as batch:
        for name in ("subject", "status", "requester_id", "organization_id"):
            batch.drop_column(name)
    with op.batch_alter_table("feature_requests_requesters") as batch:
        for name in ("email", "organization_id"):
            batch.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table("feature_requests_requesters") as batch:
        batch.add_column(sa.Column("email", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("organization_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("feature_requests_tickets") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("requester_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("organization_id", sa.BigInteger(), nullable=True))
    # Filled again from the mirror, which stays (the core owns it).
    op.execute("UPDATE feature_requests_tickets SET subject = (SELECT substr(h.subject, 1, 255) FROM helpdesk_tickets h "
               "WHERE h.account_id = feature_requests_tickets.account_id AND h.ticket_id = feature_requests_tickets.ticket_id), "
               "status = (SELECT h.status FROM helpdesk_tickets h WHERE h.account_id = feature_requests_tickets.account_id "
               "AND h.ticket_id = feature_requests_tickets.ticket_id), "
               "requester_id = (SELECT h.requester_id FROM helpdesk_tickets h WHERE h.account_id = feature_requests_tickets.account_id "
               "AND h.ticket_id = feature_requests_tickets.ticket_id), "
               "organization_id = (SELECT h.organization_id FROM helpdesk_tickets h WHERE h.account_id = feature_requests_tickets.account_id "
               "AND h.ticket_id = feature_requests_tickets.ticket_id)")
    op.execute("UPDATE feature_requests_requesters SET email = (SELECT substr(u.email, 1, 255) FROM helpdesk_users u "
               "WHERE u.account_id = feature_requests_requesters.account_id AND u.user_id = feature_requests_requesters.requester_id), "
               "organization_id = (SELECT u.organization_id FROM helpdesk_users u WHERE u.account_id = feature_requests_requesters.account_id "
               "AND u.user_id = feature_requests_requesters.requester_id)")
