"""What starts, stops and re-plans a first-reply clock, whatever order and however often events arrive."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from plugins.sla.models import SlaClock
from tests.plugins.sla.conftest import REQUESTER_ID, clock_of, sla_settings


def test_clock_starts_at_creation_and_gets_its_target_when_routed(app, new_ticket, route, worker, clock):
    created = clock.now()
    new_ticket(1)
    worker.run_until_idle()
    waiting = clock_of(app, 1)
    assert (waiting.state, waiting.started_at, waiting.due_at) == ("running", created, None)
    assert waiting.segment is None
    clock.advance(minutes=3)  # routing takes a moment; the clock has been running since creation
    route(1)
    worker.run_until_idle()
    routed = clock_of(app, 1)
    assert (routed.segment, routed.target_minutes, routed.due_at) == ("premium_partner", 90,
                                                                      created + timedelta(minutes=90))
    assert routed.next_due_at == created + timedelta(minutes=60)


def test_routed_before_created_is_the_same_clock(app, new_ticket, route, worker, clock):
    created = clock.now()
    route(2)
    worker.run_until_idle()
    new_ticket(2)
    worker.run_until_idle()
    clock2 = clock_of(app, 2)
    assert (clock2.started_at, clock2.segment, clock2.due_at) == (created, "premium_partner",
                                                                  created + timedelta(minutes=90))


def test_only_a_public_agent_comment_is_a_first_reply(app, new_ticket, route, comment, worker, clock):
    new_ticket(3)
    route(3)
    worker.run_until_idle()
    clock.advance(minutes=10)
    comment(3, public=False)  # internal note
    comment(3, author_id=REQUESTER_ID, staff=False)  # the requester adds detail
    comment(3, author_id=REQUESTER_ID, staff=True)  # an agent who is the requester (own ticket)
    comment(3, author_id=-1)  # the helpdesk's system user (automations)
    worker.run_until_idle()
    assert clock_of(app, 3).state == "running"
    clock.advance(minutes=5)
    comment(3)
    worker.run_until_idle()
    answered = clock_of(app, 3)
    assert (answered.state, answered.reply_minutes, answered.met_target) == ("answered", 15.0, True)


@pytest.fixture
def bot_author(app_config):
    app_config["plugin_settings"] = {"sla": sla_settings(automated_author_ids=[9999])}
    return 9999


def test_comment_by_a_configured_integration_is_not_a_reply(bot_author, app, new_ticket, route, comment,
                                                             worker):
    new_ticket(4)
    route(4)
    comment(4, author_id=bot_author)
    worker.run_until_idle()
    assert clock_of(app, 4).state == "running"


def test_redelivered_reply_keeps_the_first_reply_time(app, new_ticket, route, comment, worker, clock):
    new_ticket(5)
    route(5)
    clock.advance(minutes=20)
    comment(5)
    worker.run_until_idle()
    clock.advance(minutes=20)
    comment(5)  # a second reply (or the same one delivered again) changes nothing
    with storage.session(app) as session:
        session.execute(sa.update(InboundEvent).values(state="pending", attempts=0))  # and every event again
    worker.run_until_idle()
    assert clock_of(app, 5).reply_minutes == 20.0


@pytest.fixture
def urgent_target(app_config):
    app_config["plugin_settings"] = {"sla": sla_settings(targets=[
        {"segment": "premium_partner", "minutes": 90, "notify": True, "reminders": [30, 10]},
        {"segment": "premium_partner", "priority": "urgent", "minutes": 30, "notify": True,
         "reminders": [10]},
    ])}


def test_raised_priority_shortens_the_target(urgent_target, app, new_ticket, route, post_webhook, worker,
                                             clock, created_at):
    from tests.conftest import ticket_event
    from tests.plugins.sla.conftest import iso

    created = clock.now()
    new_ticket(6)
    route(6)
    worker.run_until_idle()
    assert clock_of(app, 6).target_minutes == 90
    clock.advance(minutes=5)
    post_webhook(ticket_event(6, "ticket.priority_changed", event={"previous": "NORMAL", "current": "URGENT"},
                              priority="URGENT", created_at=created_at[6], updated_at=iso(clock.now()),
                              requester_id=REQUESTER_ID))
    worker.run_until_idle()
    raised = clock_of(app, 6)
    assert (raised.priority, raised.target_minutes) == ("urgent", 30)
    assert raised.due_at == created + timedelta(minutes=30)
    assert raised.next_due_at == created + timedelta(minutes=20)


def test_urgent_priority_gets_the_urgent_target(urgent_target, app, new_ticket, route, worker, clock):
    created = clock.now()
    new_ticket(7, priority="URGENT")
    route(7, priority="urgent")
    worker.run_until_idle()
    urgent = clock_of(app, 7)
    assert (urgent.target_minutes, urgent.reminders) == (30, [10])
    assert urgent.due_at == created + timedelta(minutes=30)


def test_solved_without_reply_is_closed_and_not_counted_as_answered(app, new_ticket, route, status_change,
                                                                     worker, clock):
    new_ticket(8)
    route(8)
    clock.advance(minutes=30)
    status_change(8, "solved")
    worker.run_until_idle()
    closed = clock_of(app, 8)
    assert (closed.state, closed.next_due_at, closed.met_target) == ("closed", None, None)


def test_ticket_created_already_solved_gets_no_clock(app, new_ticket, worker):
    new_ticket(9, status="SOLVED")
    worker.run_until_idle()
    with storage.session(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SlaClock)) == 0


def test_reply_that_reached_us_after_the_breach_was_called_is_not_a_breach(app, new_ticket, route, comment,
                                                                           worker, clock):
    new_ticket(10)
    route(10)
    worker.run_until_idle()
    answered_at = clock.advance(minutes=85)  # the agent answered at minute 85...
    clock.advance(minutes=6)
    worker.run_until_idle(timers=True)
    assert clock_of(app, 10).state == "breached"
    comment(10, at=answered_at)  # ...but the helpdesk delivered the webhook only at minute 91
    worker.run_until_idle(timers=True)
    late = clock_of(app, 10)
    assert (late.state, late.reply_minutes, late.met_target) == ("answered", 85.0, True)
    assert late.breached_at is None


@pytest.fixture
def no_routing(app_config):
    app_config["plugin_settings"] = {"sla": sla_settings(wait_for_routing=False,
                                                         default_segment="premium_partner")}


def test_without_routing_the_default_segment_applies_at_once(no_routing, app, new_ticket, worker, clock):
    created = clock.now()
    new_ticket(11)
    worker.run_until_idle()
    assert clock_of(app, 11).due_at == created + timedelta(minutes=90)


def test_ticket_never_routed_gets_the_default_segment_after_the_grace_time(app, new_ticket, worker, clock):
    created = clock.now()
    new_ticket(12)
    worker.run_until_idle(timers=True)
    clock.advance(minutes=9)
    worker.run_until_idle(timers=True)
    assert clock_of(app, 12).segment is None
    clock.advance(minutes=1)
    worker.run_until_idle(timers=True)
    defaulted = clock_of(app, 12)
    assert (defaulted.segment, defaulted.target_minutes) == ("user", 1440)
    assert defaulted.due_at == created + timedelta(minutes=1440)


def test_ticket_opened_by_an_agent_for_a_requester_is_not_measured(app, new_ticket, route, comment, worker):
    new_ticket(13, submitter_id=7001)  # an agent (or Deskmate's follow-up) opened it for requester 501
    route(13)
    comment(13)
    worker.run_until_idle(timers=True)
    with storage.session(app) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(SlaClock)) == 0
