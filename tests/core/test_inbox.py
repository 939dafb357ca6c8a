"""The inbox's group commit: concurrent deliveries share inserts, and each one is answered for what happened to it."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from app.db import storage
from app.inbox import EXTENSION_KEY, GroupCommitter, _Pending
from tests.conftest import database_kind

pytestmark = pytest.mark.skipif(database_kind() != "postgresql", reason="group commit is PostgreSQL's path")


def values(account_id, clock, key, invocation):
    return {"account_id": account_id, "source": "zendesk", "event_type": "ticket.created", "ticket_id": 1,
            "event_key": key, "invocation_id": invocation, "payload": {"n": key}, "state": "pending",
            "attempts": 0, "received_at": clock.now(), "next_attempt_at": clock.now()}


def test_concurrent_deliveries_store_each_event_once_and_say_which_stored_it(app, account_id, clock):
    committer = GroupCommitter(storage.engine(app))
    keys = [f"evt:{uuid.uuid4()}" for _ in range(40)]
    # Each event arrives three times at once: twice with the same invocation id, once with a new one.
    deliveries = [(key, f"inv-{key}") for key in keys] * 2 + [(key, f"again-{key}") for key in keys]
    answers: list[tuple[str, bool]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(deliveries))

    def deliver(key: str, invocation: str) -> None:
        start.wait()
        stored = committer.store(values(account_id, clock, key, invocation))
        with lock:
            answers.append((key, stored))

    threads = [threading.Thread(target=deliver, args=delivery) for delivery in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored_per_key = {key: sum(1 for k, stored in answers if k == key and stored) for key in keys}
    assert set(stored_per_key.values()) == {1}
    with storage.engine(app).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM inbound_events")).scalar_one() == len(keys)


def test_a_failed_write_reaches_every_waiting_delivery(app, clock):
    committer = GroupCommitter(storage.engine(app))
    with pytest.raises(sa.exc.IntegrityError):
        committer.store(values(999_999, clock, "evt:no-such-account", "inv"))  # foreign key refuses it


def test_a_row_the_database_refuses_fails_only_its_own_delivery(app, account_id, clock):
    committer = GroupCommitter(storage.engine(app))
    good = [values(account_id, clock, f"evt:good-{n}", f"inv-good-{n}") for n in range(6)]
    bad = values(account_id, clock, "evt:bad", "inv-bad")
    bad["payload"] = {"subject": "nul \u0000 byte"}  # JSONB refuses it
    # One batch, as the leader would write it when these seven arrive while a write is in flight.
    batch = [_Pending(row) for row in [*good[:3], bad, *good[3:]]]
    committer._write_isolating_bad_rows(batch)
    assert isinstance(batch[3].error, sa.exc.DataError)
    assert [pending.stored for pending in batch if pending is not batch[3]] == [True] * 6
    assert all(pending.error is None for pending in batch if pending is not batch[3])
    # The committer's connection is still usable after the refusal.
    assert committer.store(values(account_id, clock, "evt:after", "inv-after")) is True
    with storage.engine(app).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM inbound_events")).scalar_one() == 7


def test_disposing_the_storage_closes_the_kept_connection(app, account_id, clock):
    committer = app.extensions[EXTENSION_KEY]
    assert committer.store(values(account_id, clock, "evt:before", "inv-before")) is True
    kept = committer._connection()
    storage.dispose(app)
    assert kept.closed
    assert committer.store(values(account_id, clock, "evt:after", "inv-after")) is True  # a new one is opened
