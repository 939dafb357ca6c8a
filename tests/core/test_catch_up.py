"""Catch-up after an outage: changes whose webhooks were lost become events, once, from the ticket export.

Real HTTP: the helpdesk emulator delivers signed webhooks to Deskmate served on loopback, with Zendesk's retry
policy and circuit breaker, and answers the incremental ticket export with its own 10-a-minute limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import catch_up
from app.accounts import active_accounts
from app.db import storage
from app.models import InboundEvent
from app.ratelimit import RateBudget
from sandbox.server import ServerThread
from sandbox.zendesk import api_admin
from tests.core import sample_plugin
from tests.sandbox_fixtures import Emulator


@pytest.fixture
def app_config(app_config):
    app_config.update(plugins=["tests.core.sample_plugin"], sidebar_warm_cache=False,
                      catch_up_interval_seconds=60, catch_up_settle_seconds=0,
                      catch_up_export_per_minute=600)  # the test of the export's limit sets its own
    sample_plugin.reset()
    return app_config


@pytest.fixture
def helpdesk(helpdesk):
    """The ticket event export leaves out the last minute, as Zendesk's does; these tests judge changes made a
    second before their pass (the settle time is 0 too)."""
    helpdesk.state.options["ticket_events_delay_seconds"] = 0
    return helpdesk


def new_ticket(helpdesk: Emulator, subject: str = "Stream froze") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "viewer@example.com", "subject": subject, "body": "At minute 3."})
    return int(answer["ticket"]["id"])


def seen(ticket_id: int) -> list[str]:
    return [kind for kind, seen_ticket in sample_plugin.seen_events
            if seen_ticket == ticket_id and kind.startswith("ticket.")]


def stored(app, ticket_id: int) -> list[tuple[str, str]]:
    with storage.session(app) as session:
        return sorted(session.execute(sa.select(InboundEvent.event_type, InboundEvent.event_key).where(
            InboundEvent.ticket_id == ticket_id, InboundEvent.source == "zendesk")).tuples().all())


def pass_now(app, clock, **options):
    """One catch-up pass, the app's clock set to the emulator's (real) time, past the change just made."""
    time.sleep(1.05)  # the export's times are whole seconds: the changes made so far are in the past
    clock.set(datetime.now(UTC).replace(microsecond=0))
    return catch_up.run_pass(app, active_accounts(app)[0], force=True, **options)


def test_tickets_created_and_changed_during_an_outage_become_events_once(app, helpdesk, worker, clock,
                                                                         deskmate_server):
    before = new_ticket(helpdesk, "Before the outage")
    helpdesk.flush_deliveries()
    worker.run_until_idle()
    first = pass_now(app, clock)
    assert (first.made, seen(before)) == ({}, ["ticket.created"])  # heard by webhook: nothing to catch up

    # The outage: Deskmate's web process is gone. Every delivery fails, is retried, and the breaker trips.
    port = deskmate_server.port
    deskmate_server.stop()
    during = [new_ticket(helpdesk, f"During the outage {n}") for n in range(12)]
    agent = helpdesk.agent()
    helpdesk.api("PUT", f"/tickets/{before}.json", as_email=agent, json={"ticket": {"status": "pending"}})
    helpdesk.flush_deliveries(30)
    breaker = next(iter(helpdesk.call("GET", "/__sandbox/deliveries")["breakers"].values()))
    assert breaker["trips"] >= 1 and breaker["dropped"] >= 1
    assert not any(attempt["ok"] for attempt in helpdesk.state.deliveries() if attempt["ticket_id"] in during)

    server = ServerThread(app, port=port).start()  # Deskmate is back; the lost deliveries are not coming
    try:
        # An agent answers one of them now: its reply arrives, but its creation is still missing.
        helpdesk.api("PUT", f"/tickets/{during[1]}.json", as_email=agent, json={"ticket": {
            "comment": {"body": "Looking into it", "public": True}}})
        helpdesk.flush_deliveries()
        worker.run_until_idle()
        assert "ticket.created" not in seen(during[1])
        result = pass_now(app, clock)
        # The reply's own webhook met the open breaker: the ticket event export brings it, after the creation.
        assert result.made == {"ticket.created": 12, "ticket.updated": 1, "ticket.comment_added": 1}, result
        worker.run_until_idle()
        for ticket_id in during:
            assert seen(ticket_id).count("ticket.created") == 1
        assert seen(during[0]) == ["ticket.created"]
        assert seen(during[1]) == ["ticket.created", "ticket.comment_added"]
        [reply] = helpdesk.api("GET", f"/tickets/{during[1]}/comments.json")["comments"][1:]
        assert ("ticket.comment_added", f"ticket:{during[1]}:comment:{reply['id']}") in stored(app, during[1])
        assert seen(before) == ["ticket.created", "ticket.updated"]

        # A second pass finds everything heard; a late delivery of a creation is a duplicate.
        assert pass_now(app, clock).made == {}
        late = next(a for a in helpdesk.state.deliveries() if a["ticket_id"] == during[0])
        answer = helpdesk.state.dispatcher._session.post(  # the same signed request, sent again
            f"{server.url}/webhooks/zendesk", data=late["body"].encode(), headers=late["headers"], timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"status": "duplicate"})
        worker.run_until_idle()
        assert seen(during[0]) == ["ticket.created"]
        assert stored(app, during[0]) == [("ticket.created", f"ticket:{during[0]}:created")]
    finally:
        server.stop()


def test_a_creation_caught_up_first_makes_its_late_webhook_a_duplicate(app, helpdesk, worker, clock,
                                                                      deskmate_server):
    pass_now(app, clock)
    helpdesk.state.dispatcher.stop()  # deliveries held back: the export sees the ticket first
    ticket_id = new_ticket(helpdesk)
    assert pass_now(app, clock).made == {"ticket.created": 1}
    worker.run_until_idle()
    envelope = {"type": "zen:event-type:ticket.created", "id": "f0e1d2c3", "time": "2026-01-01T00:00:00Z",
                "subject": f"zen:ticket:{ticket_id}", "detail": {"id": str(ticket_id), "status": "NEW"}, "event": {}}
    from app import inbox

    assert inbox.accept_webhook(app, account_id=active_accounts(app)[0].id, body=envelope, raw=b"{}",
                                invocation_id="late-1", now=clock.now()) is False
    worker.run_until_idle()
    assert seen(ticket_id) == ["ticket.created"]


def test_the_cursor_survives_a_restart(app, helpdesk, worker, clock, deskmate_server, database_url, app_config):
    from app import create_app
    from tests.conftest import base_config

    pass_now(app, clock)
    heard = catch_up.cursor_of(app, active_accounts(app)[0].id).heard_until
    deskmate_server.stop()
    lost = new_ticket(helpdesk, "While restarting")
    helpdesk.flush_deliveries(30)

    # A new process on the same database: it starts from the stored cursor, not from its lookback.
    restarted = create_app(base_config(database_url, **app_config, catch_up_initial_lookback_minutes=0),
                           app_clock=clock)
    try:
        with restarted.app_context():
            assert catch_up.cursor_of(restarted, active_accounts(restarted)[0].id).heard_until == heard
            result = pass_now(restarted, clock)
            assert result.made == {"ticket.created": 1}
            assert stored(restarted, lost) == [("ticket.created", f"ticket:{lost}:created")]
            cursor = catch_up.cursor_of(restarted, active_accounts(restarted)[0].id)
            assert cursor.heard_until > heard and cursor.events_made == 1 and cursor.leased_by is None
    finally:
        storage.dispose(restarted)


def test_the_exports_own_rate_limit_is_kept(app, helpdesk, clock, deskmate_server, monkeypatch):
    """A backlog of 10 export pages, read at the export's pace: never more than 85% of 10 requests in any
    minute, so the emulator (whose export allows 10 a minute) never answers 429."""
    # One timeline for both sides, moved by the budget's waits instead of sleeping through them.
    helpdesk.state.clock = lambda: clock.now().timestamp()
    settings = app.config["DESKMATE"]
    monkeypatch.setattr(settings, "catch_up_export_per_minute", 10)
    monkeypatch.setattr(settings, "catch_up_initial_lookback_minutes", 60)  # the first pass reads the backlog
    monkeypatch.setattr(catch_up, "export_budget", lambda app, account: RateBudget(
        storage.engine(app), account.id, per_minute=10, share=settings.rate_budget_share, now=clock.now,
        api=catch_up.EXPORT_API, sleep=lambda seconds: clock.advance(seconds=seconds)))
    calls: list[float] = []
    taken = helpdesk.state.take_rate_slot

    def counted(incremental: bool = False):
        if incremental:
            calls.append(helpdesk.state.now())
        return taken(incremental)

    monkeypatch.setattr(helpdesk.state, "take_rate_slot", counted)
    helpdesk.state.dispatcher.stop()
    for n in range(30):
        new_ticket(helpdesk, f"Spike {n}")
    monkeypatch.setattr(api_admin, "EXPORT_PAGE", 3)  # three tickets a page: the backlog needs many requests
    clock.advance(seconds=2)
    result = catch_up.run_pass(app, active_accounts(app)[0], force=True)
    # Ten pages of the ticket export, then two of the ticket event export: the 30 creations share a second, so
    # its second page ends where it started and the pass leaves the rest of that second to the next one.
    assert (result.pages, result.made, result.stopped_by) == (12, {"ticket.created": 30}, None)
    assert len(calls) == 12 and helpdesk.stats().get("responses_429", 0) == 0
    for n, moment in enumerate(calls):
        assert sum(1 for later in calls[n:] if later < moment + 60) <= 8.5
    assert calls[-1] - calls[0] >= 60  # paced, not sent in a burst


def test_a_helpdesk_refusal_ends_the_pass_and_is_recorded(app, helpdesk, clock, deskmate_server, monkeypatch):
    monkeypatch.setattr(app.config["DESKMATE"], "catch_up_initial_lookback_minutes", 60)
    helpdesk.faults(error_seconds=30, error_status=500)
    result = pass_now(app, clock)
    assert result.stopped_by and "500" in result.stopped_by and result.made == {}
    cursor = catch_up.cursor_of(app, active_accounts(app)[0].id)
    assert "500" in (cursor.last_error or "") and cursor.leased_by is None
    assert cursor.heard_until <= clock.now() - timedelta(minutes=59)  # not moved past what was never read


def test_a_creation_is_judged_by_its_own_time_not_by_its_latest_change(app, helpdesk, clock, deskmate_server,
                                                                       monkeypatch):
    """Created during the outage and changed again just before the pass: the change is too young to judge yet,
    the creation is not, and it must not be lost once the cursor moves past it."""
    monkeypatch.setattr(app.config["DESKMATE"], "catch_up_settle_seconds", 30)
    helpdesk.state.clock = lambda: clock.now().timestamp()
    account = active_accounts(app)[0]
    catch_up.run_pass(app, account, force=True)
    helpdesk.state.dispatcher.stop()
    clock.advance(seconds=5)
    ticket_id = new_ticket(helpdesk)
    clock.advance(seconds=40)
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", as_email=helpdesk.agent(), json={"ticket": {"status": "pending"}})
    assert catch_up.run_pass(app, account, force=True).made == {"ticket.created": 1}
    clock.advance(seconds=60)  # the change is old enough now: the creation stored carries it already
    assert catch_up.run_pass(app, account, force=True).made == {}
    assert stored(app, ticket_id) == [("ticket.created", f"ticket:{ticket_id}:created")]


def test_what_is_surely_heard_lags_only_after_deliveries_were_lost(app, helpdesk, clock, deskmate_server,
                                                                   monkeypatch):
    """``heard_until`` is now while nothing is lost; the catch-up's position from the pass that finds a loss, or
    the first pass after Deskmate was down, until a later pass has read past it."""
    monkeypatch.setattr(app.config["DESKMATE"], "catch_up_settle_seconds", 30)
    helpdesk.state.clock = lambda: clock.now().timestamp()
    account = active_accounts(app)[0]

    def heard():
        return catch_up.heard_until(app, account.id, clock.now())

    catch_up.run_pass(app, account, force=True)
    assert heard() == clock.now()
    helpdesk.state.dispatcher.stop()  # the web process fails: deliveries are lost from here
    clock.advance(seconds=40)
    new_ticket(helpdesk)
    clock.advance(seconds=40)
    finding = clock.now()
    assert catch_up.run_pass(app, account, force=True).made == {"ticket.created": 1}
    clock.advance(seconds=5)
    assert heard() == finding - timedelta(seconds=30)  # what the pass read, not now
    clock.advance(seconds=55)
    assert catch_up.run_pass(app, account, force=True).made == {}  # read past the moment of the loss
    assert heard() == clock.now()

    clock.advance(minutes=5)  # Deskmate down: no pass for five minutes
    assert heard() == finding + timedelta(seconds=30)  # the last pass's position: nothing since is known
    back = clock.now()
    assert catch_up.run_pass(app, account, force=True).made == {}
    assert heard() == back - timedelta(seconds=30)  # the first pass after cannot vouch for its last 30 s
    clock.advance(seconds=60)
    catch_up.run_pass(app, account, force=True)
    assert heard() == clock.now()
