"""Two workers storing the helpdesk's group list at once (the first classifications after a start)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from app.db import storage
from plugins.routing import groups
from plugins.routing.models import RoutingGroup
from tests.conftest import database_kind

pytestmark = pytest.mark.skipif(database_kind() != "postgresql", reason="two writers at once need PostgreSQL")

HELPDESK_GROUPS = [{"id": 3000001, "name": "Tier 1", "default": True}, {"id": 3000002, "name": "Tier 2"}]


def test_two_transactions_storing_the_same_group_list_both_succeed(app, account_id, clock):
    first_stored = threading.Event()
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with storage.session(app) as session:
                first_stored.wait(5)
                # Blocks on the first transaction's uncommitted rows, then finds them instead of failing.
                groups.store(session, account_id, HELPDESK_GROUPS, clock.now())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with storage.session(app) as session:
        groups.store(session, account_id, HELPDESK_GROUPS, clock.now())
        session.flush()
        first_stored.set()
        waited = _wait_for_a_blocked_writer(app)
    thread.join(10)
    assert waited, "the second writer never waited on the first one's rows: the race was not exercised"
    assert errors == []
    with storage.session(app) as session:
        rows = session.execute(sa.select(RoutingGroup.group_id, RoutingGroup.name, RoutingGroup.is_default)
                               .where(RoutingGroup.account_id == account_id).order_by(RoutingGroup.group_id)).all()
        assert [tuple(row) for row in rows] == [(3000001, "Tier 1", True), (3000002, "Tier 2", False)]
        assert groups.known(session, account_id)


def _wait_for_a_blocked_writer(app, seconds: float = 5.0) -> bool:
    """True once another connection of this database waits for a lock (the second writer on our rows)."""
    deadline = time.monotonic() + seconds
    with storage.engine(app).connect() as connection:
        while time.monotonic() < deadline:
            blocked = connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            # pg_stat_activity is a snapshot kept for the whole transaction: end it, or a look taken just
            # before the second writer blocked is all this loop would ever see.
            connection.rollback()
            if blocked:
                return True
            time.sleep(0.05)
    return False


def test_a_group_list_committed_while_the_index_is_read_is_seen_whole(app, account_id, clock, monkeypatch):
    """Another worker commits the list between the index's reads: never "known, and no group at all"."""
    writer = storage.sessions(app)()
    groups.store(writer, account_id, HELPDESK_GROUPS, clock.now())
    writer.flush()  # stored, not committed yet
    real_known = groups.known

    def known_committing_first(session, account):
        if writer.in_transaction():
            writer.commit()  # the other worker's commit lands between the index's two reads
        return real_known(session, account)

    monkeypatch.setattr(groups, "known", known_committing_first)
    try:
        with storage.session(app) as session:
            index = groups._index(session, account_id, None)
    finally:
        writer.close()
    assert index.known
    assert index.ids_by_name == {"tier 1": 3000001, "tier 2": 3000002}
