"""Routing end to end over real HTTP: the helpdesk emulator fires signed webhooks, the worker routes."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from tests.plugins.routing.conftest import decision, new_ticket, settle, ticket, update_calls, updates


def test_premium_partner_ticket_lands_in_tier_2_with_tags_and_priority(app, helpdesk, worker, desk):
    ticket_id = new_ticket(helpdesk, desk["partner"])
    settle(helpdesk, worker)
    routed = ticket(helpdesk, ticket_id)
    assert routed["group_id"] == desk["tier_2"]
    assert routed["priority"] == "high"
    assert {"deskmate_premium_partner", "tier_2"} <= set(routed["tags"])
    row = decision(app, ticket_id)
    assert (row.segment, row.reason, row.status) == ("premium_partner", "organization tag premium_partner",
                                                     "pending")


def test_normal_user_ticket_lands_in_tier_1(app, helpdesk, worker, desk):
    ticket_id = new_ticket(helpdesk, desk["member"])
    settle(helpdesk, worker)
    routed = ticket(helpdesk, ticket_id)
    assert routed["group_id"] == desk["tier_1"]
    assert routed["priority"] is None
    assert "deskmate_user" in routed["tags"]
    assert decision(app, ticket_id).segment == "user"


def test_agents_manual_move_survives_a_later_update_event(app, helpdesk, worker, desk):
    ticket_id = new_ticket(helpdesk, desk["member"])
    settle(helpdesk, worker)
    assert ticket(helpdesk, ticket_id)["group_id"] == desk["tier_1"]
    # An agent moves it to Billing and takes it; then the requester is found to belong to the premium partner.
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {
        "group_id": desk["billing"], "assignee_id": desk["agent"]}})
    settle(helpdesk, worker)
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {"organization_id": desk["premium"]}})
    settle(helpdesk, worker)
    after = ticket(helpdesk, ticket_id)
    assert after["group_id"] == desk["billing"]
    assert after["assignee_id"] == desk["agent"]
    row = decision(app, ticket_id)
    assert (row.segment, row.version) == ("premium_partner", 2)
    assert "never undone" in row.note
    assert after["priority"] == "high"  # raising the priority does not undo the agent's choice


def test_same_event_delivered_three_times_causes_one_update(app, helpdesk, worker, desk):
    helpdesk.faults(duplicate_webhooks=2)
    helpdesk.call("POST", "/__sandbox/stats/reset")
    ticket_id = new_ticket(helpdesk, desk["partner"])
    settle(helpdesk, worker)
    deliveries = [d for d in helpdesk.call("GET", "/__sandbox/deliveries")["deliveries"]
                  if d["event_type"].endswith("ticket.created") and d["ticket_id"] == ticket_id]
    assert len({d["delivery_id"] for d in deliveries}) == 3  # a retried invocation and a second one
    # And replayed from the stored events by an operator, for good measure.
    with storage.session(app) as session:
        session.execute(sa.update(InboundEvent).values(state="pending", attempts=0))
    settle(helpdesk, worker)
    assert update_calls(helpdesk) == 1
    assert len(updates(app, ticket_id)) == 1
    audits = helpdesk.api("GET", f"/tickets/{ticket_id}/audits.json")["audits"]
    group_changes = [event for audit in audits for event in audit["events"]
                     if event.get("field_name") == "group_id"]
    assert len(group_changes) == 1


def test_organization_that_becomes_premium_is_routed_correctly_on_its_next_ticket(app, helpdesk, worker,
                                                                                   desk):
    first = new_ticket(helpdesk, desk["member"])
    settle(helpdesk, worker)
    assert ticket(helpdesk, first)["group_id"] == desk["tier_1"]
    helpdesk.api("PUT", f"/organizations/{desk['plain']}.json",
                 json={"organization": {"tags": ["premium_partner"]}})
    worker.run_timers({"directory"})  # the incremental export pass notices the change
    settle(helpdesk, worker)
    second = new_ticket(helpdesk, desk["member"])
    settle(helpdesk, worker)
    assert ticket(helpdesk, second)["group_id"] == desk["tier_2"]
    assert decision(app, second).reason == "organization tag premium_partner"
    assert ticket(helpdesk, first)["group_id"] == desk["tier_1"]  # earlier tickets are not moved


def test_recheck_that_fetches_a_new_organization_and_finds_the_same_segment_changes_nothing(
        app, helpdesk, worker, desk):
    ticket_id = new_ticket(helpdesk, desk["member"])
    settle(helpdesk, worker)
    other = helpdesk.api("POST", "/organizations", json={"organization": {"name": "Other Club"}})["organization"]
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {"organization_id": other["id"]}})
    settle(helpdesk, worker)
    row = decision(app, ticket_id)
    assert (row.version, row.segment) == (1, "user")
    assert row.status in ("pending", "applied")
    assert len(updates(app, ticket_id)) == 1
