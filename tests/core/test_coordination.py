"""Coordinated, fair workers (issue 16): a timed pass runs once per account per interval however many workers
fire it, a worker that dies mid-pass hands it over after its lease, and one account's backlog of events or work
items does not delay the others'."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import inbox, workqueue
from app.accounts import active_accounts, upsert_account
from app.db import Base, storage
from app.models import InboundEvent, TimerLease, WorkItem
from app.plugins import Timer
from app.worker import Worker
from app.worker.timers import interval_end, take_leases
from tests.conftest import ticket_event
from tests.core import sample_plugin

EVERY = 60.0


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False
    sample_plugin.reset()
    return app_config


@pytest.fixture
def accounts(app, clock):
    """Three active accounts: the default one and two more."""
    for n, subdomain in enumerate(("globex", "initech")):
        upsert_account(app, subdomain=subdomain, now=clock.now(), zendesk_account_id=500 + n)
    found = [account.id for account in active_accounts(app)]
    assert len(found) == 3
    return found


def counting_timer(passes: list[tuple[int, object]], clock) -> Timer:
    lock = threading.Lock()

    def run(ctx):
        with lock:
            passes.append((ctx.account.id, interval_end(clock.now(), EVERY)))

    return Timer("count", EVERY, run)


def fire_together(workers, timer):
    """Each worker's scheduler fires the timer at the same moment, each on a thread of its own."""
    errors: list[BaseException] = []

    def fire(worker):
        try:
            worker.timers.scheduled_pass("sample_plugin", timer)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_two_workers_run_each_timer_pass_once_per_account_per_interval(app, clock, accounts):
    passes: list[tuple[int, object]] = []
    timer = counting_timer(passes, clock)
    workers = [Worker(app, worker_id="worker-a"), Worker(app, worker_id="worker-b")]
    clock.set(interval_end(clock.now(), EVERY))  # at the start of an interval
    intervals = 10
    for _ in range(intervals * 3):  # both schedulers fire every 20 seconds: three times in each interval
        fire_together(workers, timer)
        clock.advance(seconds=EVERY / 3)
    counted = Counter(passes)
    assert set(counted.values()) == {1}  # before: 2 workers x 3 firings = 6 passes per account per interval
    assert Counter(account for account, _ in passes) == dict.fromkeys(accounts, intervals)
    with storage.session(app) as session:
        owners = set(session.scalars(sa.select(TimerLease.owner).where(TimerLease.name == "sample_plugin:count")))
    assert owners <= {"worker-a", "worker-b"}


class Died(BaseException):
    """The process going away mid-pass (nothing in the worker catches it)."""


def test_a_worker_that_dies_mid_pass_lets_another_take_over_after_its_lease(app, clock, accounts):
    clock.set(interval_end(clock.now(), EVERY) + timedelta(seconds=5))
    passes: list[tuple[int, object]] = []

    def dying(ctx):
        raise Died()

    with pytest.raises(Died):
        Worker(app, worker_id="doomed").timers.scheduled_pass("sample_plugin", Timer("count", EVERY, dying))
    survivor = Worker(app, worker_id="survivor")
    timer = counting_timer(passes, clock)
    assert survivor.timers.scheduled_pass("sample_plugin", timer) == 0  # the dead worker's lease holds
    clock.advance(seconds=EVERY - 6)
    assert survivor.timers.scheduled_pass("sample_plugin", timer) == 0
    clock.advance(seconds=1)  # the lease ends with the interval
    assert survivor.timers.scheduled_pass("sample_plugin", timer) == 3
    assert sorted(account for account, _ in passes) == sorted(accounts)


def test_a_lease_is_taken_once_for_each_account_and_interval(app, clock, accounts):
    engine = storage.engine(app)
    now = clock.now()
    until = interval_end(now, EVERY)
    assert take_leases(engine, "t", accounts, owner="a", now=now, until=until) == set(accounts)
    assert take_leases(engine, "t", accounts, owner="b", now=now, until=until) == set()
    assert take_leases(engine, "other", accounts[:1], owner="b", now=now, until=until) == {accounts[0]}
    assert take_leases(engine, "t", accounts, owner="b", now=until, until=until + timedelta(seconds=EVERY)) == set(
        accounts)
    assert interval_end(until, EVERY) == until + timedelta(seconds=EVERY)


def store_backlog(app, account_id, clock, count, first_ticket=1, per_ticket=2):
    """``count`` stored events for one account, ``per_ticket`` for each ticket, in one statement."""
    rows = []
    for n in range(count):
        ticket_id = first_ticket + n // per_ticket
        body = ticket_event(ticket_id, "ticket.created" if n % per_ticket == 0 else "ticket.status_changed")
        rows.append({"account_id": account_id, "source": "zendesk", "event_type": body["type"].rsplit(":", 1)[-1],
                     "ticket_id": ticket_id, "event_key": f"evt:{body['id']}", "payload": body, "state": "pending",
                     "attempts": 0, "received_at": clock.now(), "next_attempt_at": clock.now()})
    with storage.session(app) as session:
        session.execute(sa.insert(InboundEvent), rows)


def test_a_spike_on_one_account_does_not_delay_another_accounts_events(app, worker, clock, accounts):
    spiking, quiet = accounts[0], accounts[1]
    store_backlog(app, spiking, clock, 2000, first_ticket=1)
    clock.advance(seconds=1)
    store_backlog(app, quiet, clock, 5, first_ticket=90001, per_ticket=1)
    assert worker.handle_events() <= app.config["DESKMATE"].worker_batch_size + 1
    seen = [ticket for _, ticket in sample_plugin.seen_events]
    quiet_seen = [n for n, ticket in enumerate(seen) if ticket >= 90001]
    # Before: claims in arrival order, the quiet account's events waited for ten batches of the spike's.
    assert len(quiet_seen) == 5
    assert max(quiet_seen) < 10  # round robin within the batch: among the first events handled
    spike_seen = [ticket for ticket in seen if ticket < 90001]
    assert spike_seen == sorted(spike_seen)  # each account's events (so each ticket's) still in arrival order
    with storage.session(app) as session:
        left = session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)
                              .where(InboundEvent.account_id == spiking, InboundEvent.state == "pending"))
    assert left >= 2000 - app.config["DESKMATE"].worker_batch_size


def test_one_account_alone_still_fills_whole_batches(app, clock, accounts):
    store_backlog(app, accounts[0], clock, 300)
    ids = inbox.claim(storage.engine(app), worker_id="w", now=clock.now(), lease_seconds=60, limit=200)
    assert len(ids) == 200
    assert ids == sorted(ids)


def test_work_items_are_claimed_fairly_across_accounts(app, clock, accounts):
    spiking, quiet, third = accounts
    rows = [{"account_id": spiking, "kind": "sample_plugin.record", "idempotency_key": f"sample_plugin:k:{n}",
             "payload": {"greeting": "hi"}, "state": "pending", "attempts": 0, "max_attempts": 8,
             "next_attempt_at": clock.now() + timedelta(microseconds=n), "created_at": clock.now(),
             "updated_at": clock.now()} for n in range(2000)]
    with storage.session(app) as session:
        session.execute(sa.insert(WorkItem), rows)
        for n in range(5):
            workqueue.enqueue(session, account_id=quiet, kind="sample_plugin.record", key=f"sample_plugin:q:{n}",
                              payload={"greeting": "hi"}, now=clock.now() + timedelta(seconds=1))
        workqueue.enqueue(session, account_id=third, kind="sample_plugin.record", key="sample_plugin:t",
                          payload={"greeting": "hi"}, now=clock.now() + timedelta(seconds=2))
    clock.advance(seconds=3)
    claimed = workqueue.claim(storage.engine(app), worker_id="w", now=clock.now(), lease_seconds=60, limit=200)
    by_account = Counter(item.account_id for item in claimed)
    assert by_account[quiet] == 5 and by_account[third] == 1  # before: 200 of the spike's, none of theirs
    assert {item.account_id for item in claimed[:3]} == {spiking, quiet, third}  # round robin
    spike_keys = [int(item.key.rsplit(":", 1)[1]) for item in claimed if item.account_id == spiking]
    assert spike_keys == list(range(len(spike_keys)))  # the spike's oldest, in order


def test_concurrent_claimers_take_different_events(app, clock, accounts):
    for account_id in accounts:
        store_backlog(app, account_id, clock, 120, first_ticket=1)
    engine = storage.engine(app)
    results: dict[str, list[int]] = {}

    def claim(name):
        results[name] = inbox.claim(engine, worker_id=name, now=clock.now(), lease_seconds=60, limit=50)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    claimed = [event_id for ids in results.values() for event_id in ids]
    assert len(claimed) == len(set(claimed))  # nobody claimed an event another claimed
    assert len(claimed) == 4 * 51  # a share of 17 for each of the three accounts, for each claimer
    with storage.session(app) as session:
        owners = dict(session.execute(sa.select(InboundEvent.id, InboundEvent.locked_by)
                                      .where(InboundEvent.state == "processing")).all())
    assert all(owners[event_id] == name for name, ids in results.items() for event_id in ids)


def test_the_timer_lease_model_matches_its_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(name, kind):
        return kind != "table" or name == "timer_leases"

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": lambda name, kind, parent: ours(name, kind),
            "include_object": lambda obj, name, kind, reflected, compare_to: ours(name, kind)})
        assert compare_metadata(context, Base.metadata) == []
