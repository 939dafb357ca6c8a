"""Routing end to end over real HTTP: the helpdesk emulator fires signed webhooks, the worker routes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from tests.plugins.routing.conftest import decision, updates
from tests.sandbox_fixtures import Emulator


@pytest.fixture
def desk(helpdesk: Emulator, deskmate_server: Any) -> dict[str, Any]:
    """The emulated account: a default group, Tier 1 and Tier 2, a premium partner and a plain organization."""
    api = helpdesk.api
    support = api("POST", "/groups", json={"group": {"name": "Support"}})["group"]  # the first is the default
    tier_1 = api("POST", "/groups", json={"group": {"name": "Tier 1"}})["group"]
    tier_2 = api("POST", "/groups", json={"group": {"name": "Tier 2"}})["group"]
    billing = api("POST", "/groups", json={"group": {"name": "Billing"}})["group"]
    premium = api("POST", "/organizations", json={"organization": {
        "name": "Big Studio", "tags": ["premium_partner"]}})["organization"]
    plain = api("POST", "/organizations", json={"organization": {"name": "Small Club"}})["organization"]
    partner = api("POST", "/users", json={"user": {"name": "Ops", "email": "ops@bigstudio.example",
                                                   "organization_id": premium["id"]}})["user"]
    member = api("POST", "/users", json={"user": {"name": "Fan", "email": "fan@smallclub.example",
                                                  "organization_id": plain["id"]}})["user"]
    agent = api("POST", "/users", json={"user": {"name": "Agent", "email": "agent@acme.example",
                                                 "role": "agent"}})["user"]
    return {"support": support["id"], "tier_1": tier_1["id"], "tier_2": tier_2["id"], "billing": billing["id"],
            "premium": premium["id"], "plain": plain["id"], "partner": partner["id"], "member": member["id"],
            "agent": agent["id"]}


def new_ticket(helpdesk: Emulator, requester_id: int, subject: str = "The live stream froze") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_id": requester_id, "subject": subject, "body": "At minute 12, for everyone."})
    return int(answer["ticket"]["id"])


def settle(helpdesk: Emulator, worker: Any, rounds: int = 4) -> None:
    """Let webhooks arrive and the worker act on them until both are quiet."""
    for _ in range(rounds):
        helpdesk.flush_deliveries()
        if not worker.run_until_idle():
            break


def ticket(helpdesk: Emulator, ticket_id: int) -> dict[str, Any]:
    return helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]  # type: ignore[no-any-return]


def update_calls(helpdesk: Emulator) -> int:
    return sum(count for name, count in helpdesk.stats()["by_endpoint"].items() if "update_many" in name)


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


def test_organization_that_becomes_premium_is_routed_correctly_on_its_next_ticket(app, helpdesk, worker, desk):
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
