"""One bad event never blocks the others (issue 16): whatever fails while one event is handled fails that event
alone, with its reason, retried with backoff for what failed, failed for good after the configured attempts,
listed in the admin's Failed work and queued again from there."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import inbox, workqueue
from app.db import storage
from app.models import InboundEvent
from tests.conftest import ticket_event
from tests.core import counting_plugin, sample_plugin
from tests.core.test_admin import csrf_from, sign_in

MAX_ATTEMPTS = 3


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.counting_plugin", "tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False
    app_config["work_max_attempts"] = MAX_ATTEMPTS
    sample_plugin.reset()
    counting_plugin.reset()
    return app_config


def store(app, account_id, clock, body):
    """Store a body as the inbox held it before ingest refused malformed ones (no check at the door)."""
    inbox.store(app, account_id=account_id, source="zendesk", event_type=body["type"].rsplit(":", 1)[-1],
                ticket_id=int(body["detail"]["id"]), event_key=f"evt:{body['id']}", payload=body, now=clock.now())


def zendesk_events(app) -> dict[int, InboundEvent]:
    with storage.session(app) as session:
        rows = session.scalars(sa.select(InboundEvent).where(InboundEvent.source == "zendesk"))
        return {e.ticket_id: e for e in rows}


def test_the_oops_event_fails_alone_and_the_events_after_it_in_its_batch_are_handled(app, post_webhook, worker,
                                                                                      clock, account_id):
    # The case: a validly signed event whose 'event' is a string. At the door it is now a 422 naming
    # the field; a row stored before that (or by any other path) must fail alone in the worker.
    oops = {"type": "zen:event-type:ticket.priority_changed", "id": "u1", "subject": "zen:ticket:2",
            "detail": {"id": "2"}, "event": "oops"}
    refused = post_webhook(oops)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "event"
    store(app, account_id, clock, ticket_event(1))
    store(app, account_id, clock, oops)
    for ticket_id in range(3, 53):  # valid events sent just after it, claimed in the same batch
        store(app, account_id, clock, ticket_event(ticket_id))
    assert worker.handle_events() == 52
    events = zendesk_events(app)
    assert events[2].state == "failed"
    assert events[2].last_error == "unreadable event: 'event' must be an object"
    assert all(events[t].state == "done" for t in [1, *range(3, 53)])
    assert {t for _, t in counting_plugin.seen} == {1, *range(3, 53)}
    # Nothing is left processing, so nothing is claimed again after the lease, and no claim fails it again.
    clock.advance(seconds=app.config["DESKMATE"].worker_lease_seconds + 1)
    worker.handle_events()
    assert zendesk_events(app)[2].attempts == 1


def test_a_core_error_on_one_event_is_retried_with_backoff_then_failed_for_good_and_listed(
        app, worker, clock, account_id, monkeypatch, client, admin_token):
    for ticket_id in (41, 42, 43):
        store(app, account_id, clock, ticket_event(ticket_id))
    broken = zendesk_events(app)[42].id
    real_event_of = inbox.event_of

    def event_of(row):  # the core failing on this one row only, with an error nobody foresaw
        if row.id == broken:
            raise LookupError("the core tripped over this event")
        return real_event_of(row)

    monkeypatch.setattr(inbox, "event_of", event_of)
    assert worker.handle_events() == 3
    events = zendesk_events(app)
    assert (events[41].state, events[43].state) == ("done", "done")
    assert (events[42].state, events[42].locked_by) == ("pending", None)
    assert events[42].last_error == "LookupError: the core tripped over this event"
    assert events[42].next_attempt_at > clock.now()  # backoff, not at once and not after a whole lease
    worker.run_until_idle()  # the others' follow-up events; the failed one waits for its backoff
    assert (zendesk_events(app)[42].state, zendesk_events(app)[42].attempts) == ("pending", 1)

    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(hours=1)
        assert worker.handle_events() == 1
        assert zendesk_events(app)[42].attempts == attempt
    failed = zendesk_events(app)[42]
    assert (failed.state, failed.attempts) == ("failed", MAX_ATTEMPTS)
    clock.advance(hours=1)
    assert worker.handle_events() == 0  # failed for good: never claimed again on its own

    # Listed in Failed work, with its reason; the retry button (a POST with the CSRF token) queues it again.
    assert sign_in(client, admin_token).status_code == 302
    page = client.get("/admin/work").get_data(as_text=True)
    assert "1 failed event<" in page and "LookupError: the core tripped over this event" in page
    assert client.post("/admin/work", data={"what": "events", "ids": [str(broken)]}).status_code == 403
    answer = client.post("/admin/work", data={"what": "events", "ids": [str(broken)], "csrf_token": csrf_from(page)})
    assert answer.status_code == 302
    monkeypatch.setattr(inbox, "event_of", real_event_of)  # the cause fixed
    assert worker.handle_events() == 1
    assert zendesk_events(app)[42].state == "done"
    assert counting_plugin.seen[(account_id, 42)] == 1  # the core failed before handing it to any plugin


def test_a_failing_plugin_is_retried_alone_then_failed_for_good_and_retried_from_the_api(
        app, post_webhook, worker, clock, account_id, client, admin_headers):
    sample_plugin.failures["handle_event"] = True
    assert post_webhook(ticket_event(61)).status_code == 202
    worker.handle_events()
    # Handed to the other plugin in the plain transaction (rolled back when sample_plugin raised) and again in
    # its savepoint, where its work was kept.
    first_attempt = counting_plugin.seen[(account_id, 61)]
    assert first_attempt == 2
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(hours=1)
        worker.handle_events()
    event = zendesk_events(app)[61]
    assert (event.state, event.attempts, event.pending_plugins) == ("failed", MAX_ATTEMPTS, ["sample_plugin"])
    assert event.last_error == "plugins failed on every attempt: sample_plugin"
    assert counting_plugin.seen[(account_id, 61)] == first_attempt  # retries were for the failed plugin only

    listed = client.get("/admin/api/events?state=failed", headers=admin_headers).get_json()["events"]
    assert [(e["ticket_id"], e["pending_plugins"]) for e in listed] == [(61, ["sample_plugin"])]
    for bad in ({"ids": [2**64]}, {"ids": "all"}, {"ids": [True]}):
        assert client.post("/admin/api/events/retry", json=bad, headers=admin_headers).status_code in (400, 422)
    assert client.post("/admin/api/events/retry", json={"ids": [event.id]},
                       headers=admin_headers).get_json() == {"retried": 1}
    sample_plugin.failures.clear()
    assert worker.handle_events() == 1
    event = zendesk_events(app)[61]
    assert (event.state, event.pending_plugins) == ("done", None)
    assert ("ticket.created", 61) in sample_plugin.seen_events
    assert counting_plugin.seen[(account_id, 61)] == first_attempt


def test_a_plugin_whose_writes_the_database_refuses_fails_alone(app, worker, clock, account_id):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="counting_plugin.x", key="taken", payload={},
                          now=clock.now())
    counting_plugin.modes.update(duplicate_key="taken", on_ticket=72)
    for ticket_id in (71, 72, 73):
        store(app, account_id, clock, ticket_event(ticket_id))
    assert worker.handle_events() == 3
    events = zendesk_events(app)
    assert (events[71].state, events[73].state) == ("done", "done")
    assert (events[72].state, events[72].pending_plugins) == ("pending", ["counting_plugin"])
    # the other plugin's work for that event was kept
    with storage.session(app) as session:
        keys = set(session.scalars(sa.text("SELECT idempotency_key FROM work_items")))
    assert "sample_plugin:record:72" in keys
    counting_plugin.modes.clear()
    clock.advance(hours=1)
    assert worker.handle_events() >= 1
    assert zendesk_events(app)[72].state == "done"


def test_an_event_whose_worker_keeps_dying_fails_at_claim_after_its_attempts(app, worker, clock, account_id):
    store(app, account_id, clock, ticket_event(81))
    lease = app.config["DESKMATE"].worker_lease_seconds
    for _ in range(MAX_ATTEMPTS):  # claimed, then the worker dies before recording anything
        assert inbox.claim(storage.engine(app), worker_id="doomed", now=clock.now(), lease_seconds=lease,
                           limit=10, max_attempts=MAX_ATTEMPTS)
        clock.advance(seconds=lease + 1)
    assert worker.handle_events() == 0
    event = zendesk_events(app)[81]
    assert (event.state, event.locked_by) == ("failed", None)
    assert "attempts exhausted" in event.last_error


def test_claimed_events_keep_their_lease_while_the_worker_lives(app, worker, clock, account_id):
    from app.worker import Worker

    for ticket_id in (91, 92, 93):
        store(app, account_id, clock, ticket_event(ticket_id))
    lease = app.config["DESKMATE"].worker_lease_seconds
    ids = inbox.claim(storage.engine(app), worker_id="test-worker", now=clock.now(), lease_seconds=lease, limit=10)
    worker.events.held = set(ids)  # claimed by one of the worker's threads, still working through them
    clock.advance(seconds=lease - 10)
    worker.renew_leases()  # the lease keeper's pass: events too, not only work items
    clock.advance(seconds=lease - 10)  # past the first lease, within the renewed one
    other = Worker(app, worker_id="other")
    assert other.handle_events() == 0
    clock.advance(seconds=20)  # the keeper stopped (the worker died): the leases lapse
    assert other.handle_events() == 3
    assert all(e.state == "done" for e in zendesk_events(app).values())


def test_failed_events_are_listed_and_retried_from_the_command_line(app, post_webhook, worker, clock, account_id):
    """``flask events list`` and ``flask events retry``: what an operator without the admin pages uses."""
    sample_plugin.failures["handle_event"] = True
    assert post_webhook(ticket_event(71)).status_code == 202
    for _ in range(MAX_ATTEMPTS):
        worker.handle_events()
        clock.advance(hours=1)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["events", "list"])
    assert listed.exit_code == 0, listed.output
    failed = zendesk_events(app)[71]
    assert failed.state == "failed"
    assert f"│ {failed.id} " in listed.output and "failed: 1" in listed.output  # (narrow columns wrap the rest)
    assert runner.invoke(args=["events", "retry", "999999"]).output.strip() == "0 event(s) will be handled again"
    sample_plugin.failures.clear()
    assert runner.invoke(args=["events", "retry"]).output.strip() == "1 event(s) will be handled again"
    assert worker.handle_events() == 1
    assert zendesk_events(app)[71].state == "done"
    assert "failed: 0" in runner.invoke(args=["events", "list"]).output
