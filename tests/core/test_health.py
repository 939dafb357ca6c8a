"""/healthz and /metrics tell the truth (stuck and failed rows, a silent worker) and read only partial indexes;
a worker's own metrics are reachable over HTTP wherever it runs."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from app import inbox, workqueue
from app.db import storage
from app.effects import TICKET_COMMENT
from app.health import queue_counts
from app.models import WorkItem
from tests.conftest import base_config, ticket_event
from tests.core import sample_plugin
from tests.processes import spawn_worker, stop
from tests.sandbox_fixtures import wait_for


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False
    app_config["health_failed_window_seconds"] = 3600
    sample_plugin.reset()
    return app_config


def health(client) -> dict:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    return answer.get_json()


def test_ok_when_the_worker_is_alive_and_nothing_is_stuck_or_failing(client, post_webhook, worker):
    post_webhook(ticket_event(1))
    worker.run_until_idle()
    worker.heartbeat()
    body = health(client)
    assert (body["status"], body["reasons"]) == ("ok", [])
    assert body["work_items"] == {"pending": 0, "running": 0, "stuck": 0, "failed": 0, "failed_recently": 0}
    assert body["inbound_events"] == {"pending": 0, "processing": 0, "stuck": 0, "failed": 0, "failed_recently": 0}


def test_degraded_when_no_worker_was_seen_for_30_seconds(client, worker, clock):
    worker.heartbeat()
    clock.advance(seconds=31)
    body = health(client)
    assert (body["status"], body["reasons"]) == ("degraded", ["no worker seen for 30 s"])


def test_degraded_on_a_work_item_stuck_past_its_lease(app, client, worker, clock, account_id):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="sample_plugin.record", key="k", payload={},
                          now=clock.now())
    # A worker claims it and dies: the row stays running, and nobody retries it until the lease lapses.
    workqueue.claim(storage.engine(app), worker_id="gone", now=clock.now(), lease_seconds=60, limit=10)
    worker.heartbeat()
    assert health(client)["status"] == "ok"  # running within its lease is normal
    clock.advance(seconds=61)
    worker.heartbeat()
    body = health(client)
    assert body["status"] == "degraded"
    assert body["reasons"] == ["1 work items stuck past their lease"]
    assert (body["work_items"]["running"], body["work_items"]["stuck"]) == (1, 1)


def test_degraded_on_an_event_stuck_past_its_lease(app, client, post_webhook, worker, clock):
    post_webhook(ticket_event(1))
    inbox.claim(storage.engine(app), worker_id="gone", now=clock.now(), lease_seconds=60, limit=10)
    clock.advance(seconds=61)
    worker.heartbeat()
    body = health(client)
    assert body["reasons"] == ["1 inbound events stuck past their lease"]
    assert body["inbound_events"]["stuck"] == 1


def test_degraded_on_a_failed_work_item_until_the_window_has_passed(app, client, worker, clock, account_id):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="nobody.home", key="x", payload={}, now=clock.now())
    worker.perform_work()
    worker.heartbeat()
    body = health(client)
    assert body["reasons"] == ["1 work items failed in the last 3600 s"]
    assert (body["work_items"]["failed"], body["work_items"]["failed_recently"]) == (1, 1)
    clock.advance(hours=1, seconds=1)
    worker.heartbeat()
    body = health(client)
    assert body["status"] == "ok"  # no longer failing now; still listed in Failed work and counted
    assert (body["work_items"]["failed"], body["work_items"]["failed_recently"]) == (1, 0)


def test_degraded_on_a_failed_event(app, client, worker, clock, account_id):
    # The body (``event`` a string), stored as an older Deskmate stored it, before ingest refused it.
    body = {"type": "zen:event-type:ticket.priority_changed", "id": "u1", "subject": "zen:ticket:2",
            "detail": {"id": "2"}, "event": "oops"}
    inbox.store(app, account_id=account_id, source="zendesk", event_type="ticket.priority_changed", ticket_id=2,
                event_key="evt:u1", payload=body, now=clock.now())
    worker.run_until_idle()
    worker.heartbeat()
    answer = health(client)
    assert answer["status"] == "degraded"
    assert answer["reasons"] == ["1 inbound events failed in the last 3600 s"]
    assert answer["inbound_events"]["failed"] == 1


def test_metrics_show_the_same_counts(app, client, worker, clock, account_id):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="nobody.home", key="x", payload={}, now=clock.now())
        workqueue.enqueue(session, account_id=account_id, kind="sample_plugin.record", key="later", payload={},
                          now=clock.now(), due_at=clock.now() + timedelta(hours=1))
    worker.perform_work()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'deskmate_work_items_current{state="failed_recently"} 1.0' in text
    assert 'deskmate_work_items_current{state="pending"} 1.0' in text
    assert "deskmate_inbound_events_pending 0.0" in text


def _plan(app, statement: str) -> str:
    engine = storage.engine(app)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # empty tables: force the choice
            rows = connection.exec_driver_sql("EXPLAIN " + statement).all()
        else:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_health_queries_read_only_the_partial_indexes(app, clock):
    """Counting by state read every row of both tables on each request; now each count reads one partial
    index (open, failed), whatever number of done rows the tables hold."""
    statements: list[str] = []
    engine = storage.engine(app)

    def capture(_conn, _cursor, statement, parameters, _context, _executemany):
        if "inbound_events" in statement or "work_items" in statement:
            statements.append(statement if not parameters else _inline(engine, statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with storage.session(app) as session:
            queue_counts(session, clock.now(), clock.now() - timedelta(hours=1))
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 6
    for statement in statements:
        plan = _plan(app, statement)
        assert any(index in plan for index in ("ix_inbound_events_due", "ix_inbound_events_claim",
                                               "ix_inbound_events_failed", "ix_work_items_due",
                                               "ix_work_items_claim", "ix_work_items_failed")), (statement, plan)


def _inline(engine, statement: str, parameters) -> str:
    """The statement with its parameters written in, as EXPLAIN needs it (timestamps and integers only)."""

    def literal(value) -> str:
        return str(value) if isinstance(value, int) else f"'{value}'"

    if isinstance(parameters, dict):  # psycopg: %(name)s
        for name, value in parameters.items():
            statement = statement.replace(f"%({name})s", literal(value))
        return statement
    for value in parameters:  # sqlite3: ?
        statement = statement.replace("?", literal(value), 1)
    return statement


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_a_worker_serves_its_own_metrics_wherever_it_runs(app, helpdesk, database_url, account_id, clock,
                                                          tmp_path):
    """The helpdesk calls a worker makes are counted in the worker: reachable only from the worker itself."""
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={"requester_email": "fan@example.com",
                                                               "subject": "Replay missing", "body": "?"})["ticket"]
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind=TICKET_COMMENT, key="metrics:comment",
                          payload={"ticket_id": ticket["id"], "body": "Back online.", "public": True},
                          now=clock.now())
    port = free_port()
    config = base_config(database_url, zendesk_base_url=helpdesk.url, zendesk_subdomain="acme",
                         zendesk_email="deskmate@acme.example", worker_poll_seconds=0.1,
                         worker_metrics_port=port, worker_metrics_address="127.0.0.1",
                         metrics_token="scrape-token-for-tests", plugins=["tests.core.sample_plugin"])
    worker = spawn_worker(config, log_path=tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        def done() -> bool:
            with storage.session(app) as session:
                return session.scalar(sa.select(WorkItem.state).where(
                    WorkItem.idempotency_key == "metrics:comment")) == "done"

        wait_for(done, timeout=30, message="the worker's helpdesk call")
        assert requests.get(url, timeout=5).status_code == 401  # the same token as the web's /metrics
        text = requests.get(url, headers={"Authorization": "Bearer scrape-token-for-tests"}, timeout=5).text
    finally:
        stop(worker)
    calls = [line for line in text.splitlines() if line.startswith("deskmate_zendesk_calls_total{")]
    assert calls and sum(float(line.rsplit(" ", 1)[1]) for line in calls) >= 1, text[:2000]
    assert 'deskmate_work_items_total{kind="zendesk.ticket_comment",state="done"} 1.0' in text
