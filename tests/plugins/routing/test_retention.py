"""Routing's purge hook: decisions of closed tickets go after the window; an open ticket's decision never does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ticket_event
from tests.plugins.routing.conftest import VIEWER, decision, updates


def stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.hook("purge")
def test_decisions_go_only_once_their_ticket_can_no_longer_change(app, post_webhook, worker, clock, runner,
                                                                   known_directory):
    now = stamp(clock.now())
    for ticket in (1, 2, 3):
        post_webhook(ticket_event(ticket, requester_id=VIEWER, created_at=now, updated_at=now))
    worker.run_until_idle()
    clock.advance(minutes=5)
    later = stamp(clock.now())
    post_webhook(ticket_event(1, "ticket.status_changed", requester_id=VIEWER, status="CLOSED", updated_at=later))
    post_webhook(ticket_event(3, "ticket.status_changed", requester_id=VIEWER, status="SOLVED", updated_at=later))
    worker.run_until_idle()
    assert all(decision(app, ticket) is not None for ticket in (1, 2, 3))

    clock.advance(days=13)  # within the 14-day window: the closed ticket's decision still shows in the sidebar
    worker.run_timers({"purge"})
    assert decision(app, 1) is not None
    clock.advance(days=2)
    assert "1 rows of routing" in runner.invoke(args=["purge", "--dry-run"]).output
    worker.run_timers({"purge"})
    assert decision(app, 1) is None  # closed: the helpdesk never changes it again, no event can route it anew
    assert decision(app, 3) is not None  # solved: the requester may still reopen it until the helpdesk closes it
    assert decision(app, 2) is not None

    clock.advance(days=28)  # solved 43 days ago: the helpdesk closed it by now (its automation waits 28 days at most)
    worker.run_timers({"purge"})
    assert decision(app, 3) is None
    open_ticket = decision(app, 2)
    assert open_ticket is not None  # open tickets keep their decision however old it is

    # A late change of the open ticket finds its decision and routes nothing a second time.
    before = len(updates(app, 2))
    post_webhook(ticket_event(2, "ticket.updated", requester_id=VIEWER,
                              updated_at=stamp(clock.now() - timedelta(minutes=1))))
    worker.run_until_idle()
    assert len(updates(app, 2)) == before
    assert decision(app, 2).version == open_ticket.version
