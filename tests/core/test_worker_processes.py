"""Real worker processes: one killed with kill -9 mid-item, two sharing one PostgreSQL database."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from app import workqueue
from app.db import storage
from app.effects import TICKET_COMMENT
from app.models import WorkItem
from tests.conftest import base_config, create_pg_database, database_kind, drop_pg_database
from tests.processes import kill_hard, spawn_worker, stop
from tests.sandbox_fixtures import wait_for

pytestmark = pytest.mark.slow


def item_state(app, key):
    with storage.session(app) as session:
        row = session.execute(sa.select(WorkItem.state, WorkItem.attempts)
                              .where(WorkItem.idempotency_key == key)).one()
    return row.state, row.attempts


def test_worker_killed_mid_item_leaves_it_done_exactly_once(app, helpdesk, database_url, account_id, clock,
                                                            tmp_path):
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={"requester_email": "fan@example.com",
                                                               "subject": "Replay missing", "body": "?"})["ticket"]
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind=TICKET_COMMENT, key="notice:kill9",
                          payload={"ticket_id": ticket["id"], "body": "The replay is back.", "public": True},
                          now=clock.now())
    # The helpdesk answers slowly, so the worker is surely inside the call when it dies. The lease outlasts any
    # call (twice the client timeout), so the dead worker's request has ended before anyone looks for it.
    helpdesk.faults(latency_ms=2500, latency_paths=[f"/api/v2/tickets/{ticket['id']}.json"])
    config = base_config(database_url, zendesk_base_url=helpdesk.url, zendesk_subdomain="acme",
                         zendesk_email="deskmate@acme.example", worker_lease_seconds=8, zendesk_timeout_seconds=4,
                         worker_poll_seconds=0.1)
    first = spawn_worker(config, log_path=tmp_path / "first.log")
    try:
        wait_for(lambda: item_state(app, "notice:kill9")[0] == "running", timeout=30, message="the claim")
        # The call follows the claim at once and then hangs in the helpdesk's 2.5-second latency: a kill a
        # second after the claim lands inside it. (The emulator counts a call only once it has answered.)
        time.sleep(1.0)
        assert helpdesk.stats()["api_calls"] == 0
        kill_hard(first)
    finally:
        stop(first)
    assert item_state(app, "notice:kill9") == ("running", 1)  # claimed, never finished
    helpdesk.call("DELETE", "/__sandbox/faults")
    second = spawn_worker(config, log_path=tmp_path / "second.log")
    try:
        wait_for(lambda: item_state(app, "notice:kill9")[0] == "done", timeout=30, message="the retry")
    finally:
        stop(second)
    comments = helpdesk.api("GET", f"/tickets/{ticket['id']}/comments.json")["comments"]
    assert [c["body"] for c in comments].count("The replay is back.") == 1
    assert item_state(app, "notice:kill9") == ("done", 2)


@pytest.mark.skipif(database_kind() != "postgresql", reason="runs in the PostgreSQL pass of make test")
def test_two_workers_on_one_postgresql_database_do_each_side_effect_once(helpdesk, clock, tmp_path):
    from app import create_app
    from app.accounts import sync_default_account
    from app.migrate import upgrade

    url = create_pg_database()
    try:
        config = base_config(url, zendesk_base_url=helpdesk.url, zendesk_subdomain="acme",
                             zendesk_email="deskmate@acme.example", zendesk_rate_limit_per_minute=100_000,
                             worker_poll_seconds=0.05, worker_batch_size=20)
        helpdesk.call("POST", "/__sandbox/config", json={"rate_limit": 100_000})
        app = create_app(config, app_clock=clock)
        upgrade(app)
        account = sync_default_account(app, clock.now())
        tickets = [helpdesk.call("POST", "/__sandbox/tickets", json={
            "requester_email": f"viewer{n}@example.com", "subject": f"n{n}", "body": "hi"})["ticket"]["id"]
            for n in range(500)]
        with storage.session(app) as session:
            for ticket_id in tickets:
                workqueue.enqueue(session, account_id=account.id, kind=TICKET_COMMENT, key=f"once:{ticket_id}",
                                  payload={"ticket_id": ticket_id, "body": "exactly once", "public": False},
                                  now=clock.now())
        helpdesk.call("POST", "/__sandbox/stats/reset")
        workers = [spawn_worker(config, threads=2, log_path=tmp_path / f"w{n}.log") for n in range(2)]
        try:
            def all_done() -> bool:
                with storage.session(app) as session:
                    return session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                                          .where(WorkItem.state == "done")) == 500
            wait_for(all_done, timeout=120, message="500 items done")
            with storage.session(app) as session:
                by_worker = session.execute(sa.select(WorkItem.attempts, sa.func.count())
                                            .group_by(WorkItem.attempts)).all()
        finally:
            for worker in workers:
                stop(worker)
        assert dict(by_worker) == {1: 500}
        for ticket_id in tickets:
            comments = helpdesk.state.comments.get(ticket_id) or []
            assert sum(1 for c in comments if c["body"] == "exactly once") == 1, ticket_id
        puts = sum(n for endpoint, n in helpdesk.stats()["by_endpoint"].items() if endpoint.startswith("PUT"))
        assert puts == 500
        logs = "".join((tmp_path / f"w{n}.log").read_text() for n in range(2))
        assert "Traceback" not in logs
        storage.engine(app).dispose()
    finally:
        drop_pg_database(url)
