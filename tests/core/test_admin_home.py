"""The admin home: what matters now (failed work, the worker, every plugin's cards), in the admin's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import workqueue
from app.db import storage
from app.models import InboundEvent, WorkerHeartbeat, WorkItem
from tests.core.test_admin import sign_in

pytestmark = pytest.mark.hook("admin_summary")


@pytest.fixture
def app_config():
    return {"plugins": ["tests.core.summary_plugin", "tests.core.broken_summary_plugin"]}


def fail_work(app, account_id, clock, count):
    with storage.session(app) as session:
        for n in range(count):
            workqueue.enqueue(session, account_id=account_id, kind="x.y", key=f"broken-{n}", payload={},
                              now=clock.now())
        session.execute(sa.update(WorkItem).values(state="failed", last_error="boom", attempts=8,
                                                   finished_at=clock.now()))


def beat(app, at):
    with storage.session(app) as session:
        session.add(WorkerHeartbeat(worker_id="w1", hostname="host", pid=1, started_at=at, last_seen_at=at))


def test_home_shows_failed_work_with_a_link_and_the_worker(app, client, admin_token, account_id, clock):
    fail_work(app, account_id, clock, 2)
    beat(app, clock.now() - timedelta(seconds=20))
    sign_in(client, admin_token)
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert '<a href="/admin/work">2</a>' in page
    assert "2 work items and 0 events, waiting for a retry" in page
    assert "Last seen 20 seconds ago." in page
    assert "Running" in page
    assert "<h2>Pages</h2>" not in page  # the menu is in the header, not repeated


def test_home_says_when_no_worker_runs_in_french(app, client, admin_token, account_id, clock):
    fail_work(app, account_id, clock, 1)
    beat(app, clock.now() - timedelta(minutes=10))
    sign_in(client, admin_token)
    page = client.get("/admin/?lang=fr").get_data(as_text=True)
    assert "Travail en échec" in page
    assert "1 tâche et 0 événement, en attente d\u2019une nouvelle tentative" in page
    assert "Vu pour la dernière fois il y a 10 minutes : « flask worker » tourne-t-il ?" in page
    assert "Arrêté" in page


def test_plugin_cards_show_and_a_failing_plugin_is_only_unavailable(app, client, admin_token, account_id, clock,
                                                                   caplog):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="x.y", key="waiting", payload={}, now=clock.now())
    sign_in(client, admin_token)
    answer = client.get("/admin/?lang=it")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Tickets waiting" in page and "2 tickets past their target" in page  # its own (untranslated) texts
    assert 'href="/admin/sla">1</a>' in page
    assert "Broken summary plugin" in page
    assert "Questo riepilogo non è disponibile" in page
    assert any("broken_summary_plugin failed in admin_summary" in r.getMessage() for r in caplog.records)
    # The other cards still read the database after the broken plugin's failed query.
    assert "Lavoro non riuscito" in page and "Nessun worker è ancora stato avviato" in page


def test_home_counts_only_this_accounts_failures(app, client, admin_token, clock):
    from app.accounts import upsert_account

    other = upsert_account(app, subdomain="other", now=clock.now(), zendesk_account_id=42)
    fail_work(app, other.id, clock, 3)
    with storage.session(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)) == 0
    sign_in(client, admin_token)
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Nothing has failed." in page


def test_worker_card_counts_what_waits_with_plurals(app, client, admin_token, account_id, clock):
    with storage.session(app) as session:
        for key in ("one", "two"):
            workqueue.enqueue(session, account_id=account_id, kind="x.y", key=key, payload={}, now=clock.now())
    beat(app, clock.now() - timedelta(seconds=20))
    sign_in(client, admin_token)
    page = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Waiting: 0 events, 2 work items." in page and "Busy" in page
