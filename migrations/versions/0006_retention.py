"""retention: partial indexes on the queue tables (open, failed and done rows)

The open-row indexes of ``inbound_events`` and ``work_items`` hold only the rows still to do, so claims and
``/healthz`` read the same few index pages however many done rows the tables hold: ``*_due`` (by state) for
health's counts, ``*_claim`` in the order each account's rows are claimed (events by id, work items by due
time), so a claim reads its share of a backlog and no more; failed rows and done rows get partial indexes of
their own, for health's counts and for ``app.retention``'s purge (oldest first).
The predicates are the text of ``app.models`` (``EVENTS_OPEN``...), written out here as they were at this
revision.

Revision ID: 0006_retention
Revises: 0005_sessions
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_retention"
down_revision = "0005_sessions"
branch_labels = None
depends_on = None

EVENTS_OPEN = "state IN ('pending', 'processing')"
WORK_OPEN = "state IN ('pending', 'running')"
FAILED_ROWS = "state = 'failed'"
DONE_ROWS = "state = 'done'"

# (name, table, columns, predicate) of every partial index this revision creates.
PARTIAL = [
    ("ix_inbound_events_due", "inbound_events", ["account_id", "state", "next_attempt_at"], EVENTS_OPEN),
    ("ix_inbound_events_claim", "inbound_events", ["account_id", "id"], EVENTS_OPEN),
    ("ix_inbound_events_failed", "inbound_events", ["account_id", "processed_at"], FAILED_ROWS),
    ("ix_inbound_events_done", "inbound_events", ["account_id", "processed_at"], DONE_ROWS),
    ("ix_work_items_due", "work_items", ["account_id", "state", "next_attempt_at"], WORK_OPEN),
    ("ix_work_items_claim", "work_items", ["account_id", "next_attempt_at", "id"], WORK_OPEN),
    ("ix_work_items_failed", "work_items", ["account_id", "finished_at"], FAILED_ROWS),
    ("ix_work_items_done", "work_items", ["account_id", "finished_at"], DONE_ROWS),
]
# The full indexes of 0001_core that the partial ones of the same name replace.
REPLACED = {"ix_inbound_events_due": ("inbound_events", ["state", "next_attempt_at"]),
            "ix_work_items_due": ("work_items", ["state", "next_attempt_at"])}


def upgrade() -> None:
    for name, (table, _columns) in REPLACED.items():
        op.drop_index(name, table_name=table)
    for name, table, columns, predicate in PARTIAL:
        op.create_index(name, table, columns, unique=False, postgresql_where=sa.text(predicate),
                        sqlite_where=sa.text(predicate))


def downgrade() -> None:
    for name, table, _columns, _predicate in reversed(PARTIAL):
        op.drop_index(name, table_name=table)
    for name, (table, columns) in REPLACED.items():
        op.create_index(name, table, columns, unique=False)
