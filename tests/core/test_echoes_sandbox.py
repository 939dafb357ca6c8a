"""Deskmate's own echoes: helpdesk events caused by its own updates are not handed to plugins.

Real events from the helpdesk emulator, whose ``actor_id`` is whoever made the change over the API.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts import active_accounts
from app.db import storage
from app.mirror.models import HelpdeskTicket
from app.models import InboundEvent
from app.zendesk import zendesk_clients
from tests.core import sample_plugin
from tests.sandbox_fixtures import Emulator


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["tests.core.sample_plugin"]
    app_config["sidebar_warm_cache"] = False
    sample_plugin.reset()
    return app_config


@pytest.fixture(autouse=True)
def _served(deskmate_server):
    """The emulator delivers its signed webhooks to Deskmate served on loopback."""


def new_ticket(helpdesk: Emulator) -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "viewer@example.com", "subject": "Stream froze", "body": "At minute 3."})
    return int(answer["ticket"]["id"])


def settle(helpdesk: Emulator, worker) -> None:
    helpdesk.flush_deliveries()
    worker.run_until_idle()


def seen(ticket_id: int) -> list[str]:
    """The helpdesk events the sample plugin was handed for this ticket."""
    return [kind for kind, seen_ticket in sample_plugin.seen_events
            if seen_ticket == ticket_id and kind.startswith("ticket.")]


def test_changes_by_deskmates_own_user_are_marked_done_without_reaching_plugins(app, helpdesk, worker):
    ticket_id = new_ticket(helpdesk)
    settle(helpdesk, worker)
    # Deskmate's own kind of update (routing's): group, priority and tags, with Deskmate's credentials.
    group = helpdesk.api("POST", "/groups", json={"group": {"name": "Tier 2"}})["group"]
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {
        "group_id": group["id"], "priority": "high", "additional_tags": ["tier_2"]}})
    settle(helpdesk, worker)
    assert seen(ticket_id) == ["ticket.created"]
    with storage.session(app) as session:
        echoes = session.execute(sa.select(InboundEvent.event_type, InboundEvent.state).where(
            InboundEvent.ticket_id == ticket_id, InboundEvent.source == "zendesk",
            InboundEvent.event_type != "ticket.created")).all()
    assert sorted(echoes) == [("ticket.group_assignment_changed", "done"), ("ticket.priority_changed", "done"),
                              ("ticket.tags_changed", "done")]
    # The core's own sidebar index still follows the ticket: the agent's sidebar lists it as it now is.
    with storage.session(app) as session:
        indexed = session.get(HelpdeskTicket, (active_accounts(app)[0].id, ticket_id))
    assert (indexed.priority, indexed.group_id, "tier_2" in indexed.tags) == ("high", group["id"], True)


def test_the_same_changes_by_an_agent_reach_plugins(app, helpdesk, worker):
    ticket_id = new_ticket(helpdesk)
    settle(helpdesk, worker)
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", as_email=helpdesk.agent(),
                 json={"ticket": {"priority": "high", "additional_tags": ["moved_by_hand"]}})
    settle(helpdesk, worker)
    assert sorted(seen(ticket_id)) == ["ticket.created", "ticket.priority_changed", "ticket.tags_changed"]


def test_comments_and_status_changes_by_deskmate_still_reach_plugins(app, helpdesk, worker):
    ticket_id = new_ticket(helpdesk)
    settle(helpdesk, worker)
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {
        "status": "pending", "comment": {"body": "Your feature shipped.", "public": True}}})
    settle(helpdesk, worker)
    assert sorted(seen(ticket_id)) == ["ticket.comment_added", "ticket.created", "ticket.status_changed"]


def test_while_its_own_user_is_unknown_nothing_is_skipped(app, helpdesk, worker):
    ticket_id = new_ticket(helpdesk)
    settle(helpdesk, worker)
    # The helpdesk refuses Deskmate's credentials for a moment: the look-up fails (and waits a minute before
    # trying again), and meanwhile every event is handed out, Deskmate's own included.
    token = helpdesk.state.api_token
    helpdesk.state.api_token = "rotated"
    try:
        client = zendesk_clients.for_account(active_accounts(app)[0], app)
        client._own_user_id, client._own_user_retry_at = None, 0.0
        assert client.own_user_id() is None
    finally:
        helpdesk.state.api_token = token
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {"priority": "urgent"}})
    settle(helpdesk, worker)
    assert "ticket.priority_changed" in seen(ticket_id)
