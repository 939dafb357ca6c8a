"""A real worker process killed with kill -9 between the billing system's refund and Deskmate's commit."""

from __future__ import annotations

import time

import pytest
import requests
import sqlalchemy as sa

from app.db import storage
from app.models import WorkItem
from plugins.customer.models import CustomerAction
from tests.conftest import base_config
from tests.plugins.customer.actions.support import (
    CUSTOMER,
    action_settings,
    actions,
    ask,
)
from tests.processes import kill_hard, spawn_worker, stop
from tests.sandbox_fixtures import wait_for

pytestmark = pytest.mark.slow


def perform_state(app, action_id: int) -> tuple[str, int] | None:
    with storage.session(app) as session:
        row = session.execute(sa.select(WorkItem.state, WorkItem.attempts).where(
            WorkItem.idempotency_key == f"customer:perform:{action_id}")).one_or_none()
    return (row.state, row.attempts) if row else None


def test_a_worker_killed_after_the_refund_and_before_the_commit_refunds_once(
        app, client, helpdesk, billing, agents, session_for, opened, database_url, tmp_path):
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": CUSTOMER, "subject": "Charged twice", "body": "Please"})["ticket"]["id"]
    opened(ticket)
    assert ask(client, session_for(agents.tier1), ticket_id=ticket, kind="refund", purchase_id="pur_ada_ppv",
               reason="Charged twice").status_code == 202
    [action] = actions(app)
    # The billing system makes the refund at once, then holds its answer for 4 s: the worker is surely inside
    # the call, the refund already made, when it dies.
    billing.faults(timeout_rate=1.0, timeout_ms=4000)
    settings = action_settings(billing, billing_write_timeout_seconds=3)
    config = base_config(database_url, plugins=["customer"], plugin_settings={"customer": settings},
                         zendesk_base_url=helpdesk.url, worker_lease_seconds=8, zendesk_timeout_seconds=4,
                         worker_poll_seconds=0.1)
    first = spawn_worker(config, log_path=tmp_path / "first.log")
    try:
        wait_for(lambda: billing.refunds(), timeout=30, message="the billing system's refund")
        time.sleep(0.3)
        kill_hard(first)
    finally:
        stop(first)
    assert perform_state(app, action.id) == ("running", 1)  # claimed, never finished
    with storage.session(app) as session:
        assert session.get_one(CustomerAction, action.id).state == "approved"
    billing.faults()
    second = spawn_worker(config, log_path=tmp_path / "second.log")
    try:
        wait_for(lambda: perform_state(app, action.id) == ("done", 2), timeout=40, message="the retry")
        wait_for(lambda: len([c for c in helpdesk.api("GET", f"/tickets/{ticket}/comments.json")["comments"]
                              if not c["public"]]) == 1, timeout=20, message="the internal note")
    finally:
        stop(second)
    [made] = billing.refunds()
    with storage.session(app) as session:
        done = session.get_one(CustomerAction, action.id)
        assert (done.state, done.billing_reference, done.amount) == ("done", made["id"], 1499)
    # The retry was answered from the billing system's record of the key: the refund made before the kill.
    stats = requests.get(billing.url + "/__billing/stats", timeout=5).json()
    assert stats["replayed"] == 1
