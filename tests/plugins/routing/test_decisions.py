"""Routing decided in the worker from the webhook and the cached directory: no helpdesk call on the way."""

from __future__ import annotations

import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from plugins.routing.jobs import applied_pass
from tests.conftest import ticket_event
from tests.plugins.routing.conftest import (
    BILLING,
    PARTNER_DOMAIN_REQUESTER,
    PARTNER_REQUESTER,
    PLAIN_ORG,
    PREMIUM_ORG,
    SUPPORT,
    TIER_1,
    TIER_2,
    VIEWER,
    decision,
    routed_events,
    updates,
    work,
)


def test_premium_partner_ticket_goes_to_tier_2_with_its_tags_and_priority(app, post_webhook, worker,
                                                                          known_directory):
    post_webhook(ticket_event(1001, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    row = decision(app, 1001)
    assert (row.segment, row.tier, row.group_id) == ("premium_partner", "Tier 2", TIER_2)
    assert row.priority == "high"
    assert row.reason == "organization tag premium_partner"
    assert row.reasons == [{"kind": "organization_tag", "value": "premium_partner"}]
    assert row.rule == "premium partner organization"
    assert row.status == "pending"
    [update] = updates(app, 1001)
    assert update.idempotency_key == "routing:apply:1001:1"
    assert update.payload == {"ticket_id": 1001, "ticket": {
        "group_id": TIER_2, "priority": "high", "additional_tags": ["deskmate_premium_partner", "tier_2"]}}
    assert work(app, "routing.classify") == []  # decided from the cache: no fetch was needed


def test_normal_user_ticket_goes_to_tier_1_without_a_priority(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1002, requester_id=VIEWER))
    worker.handle_events()
    row = decision(app, 1002)
    assert (row.segment, row.group_id, row.priority) == ("user", TIER_1, None)
    assert row.reason == "no rule matched: default segment user"
    assert row.reasons == [{"kind": "default", "value": "user"}]
    assert updates(app, 1002)[0].payload["ticket"] == {"group_id": TIER_1,
                                                       "additional_tags": ["deskmate_user", "tier_1"]}


def test_partner_email_domain_is_the_reason_when_it_decides(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1003, requester_id=PARTNER_DOMAIN_REQUESTER))
    worker.handle_events()
    row = decision(app, 1003)
    assert (row.segment, row.reason) == ("premium_partner", "domain partner.example")


def test_routed_ticket_is_announced_to_other_plugins_once(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1004, requester_id=PARTNER_REQUESTER, organization_id=PREMIUM_ORG))
    worker.handle_events()
    [event] = routed_events(app)
    assert event.event_key == "routing:routed:1004:1"
    assert event.ticket_id == 1004
    assert event.payload["data"] == {
        "segment": "premium_partner", "group_id": TIER_2, "group_name": "Tier 2", "priority": "high",
        "reason": "organization tag premium_partner", "rule": "premium partner organization",
        "organization_id": PREMIUM_ORG, "requester_id": PARTNER_REQUESTER, "version": 1, "tier": "Tier 2",
        "tags": ["deskmate_premium_partner", "tier_2"]}
    assert event.payload["ticket"]["id"] == 1004


def test_same_event_delivered_three_times_routes_once(app, post_webhook, worker, known_directory):
    body = ticket_event(1005, requester_id=VIEWER)
    for attempt in range(3):
        post_webhook(body, invocation_id=f"delivery-{attempt}")
    worker.run_until_idle()
    # Replayed by an operator as well: the stored decision makes it a no-op.
    with storage.session(app) as session:
        session.execute(sa.update(InboundEvent).where(InboundEvent.event_type == "ticket.created")
                        .values(state="pending", attempts=0))
    worker.handle_events()
    assert len(updates(app, 1005)) == 1
    assert len(routed_events(app)) == 1
    assert decision(app, 1005).version == 1


def test_agents_manual_move_survives_a_later_update_event(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1006, requester_id=VIEWER, updated_at="2026-11-23T09:00:00Z"))
    worker.handle_events()
    # An agent moves the ticket to Billing and takes it; later the requester joins a premium partner.
    post_webhook(ticket_event(1006, "ticket.group_assignment_changed", requester_id=VIEWER, group_id=BILLING,
                              assignee_id=7001, updated_at="2026-11-23T09:05:00Z"))
    post_webhook(ticket_event(1006, "ticket.organization_changed", requester_id=VIEWER, group_id=BILLING,
                              assignee_id=7001, organization_id=PREMIUM_ORG,
                              updated_at="2026-11-23T09:10:00Z"))
    worker.handle_events()
    row = decision(app, 1006)
    assert (row.version, row.segment) == (2, "premium_partner")
    second = updates(app, 1006)[-1]
    assert "group_id" not in second.payload["ticket"]
    assert second.payload["ticket"]["priority"] == "high"
    assert "an agent's choice is never undone" in row.note
    assert row.notes == [{"kind": "group_kept_assigned"}]


def test_ticket_still_in_the_default_group_is_moved(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1007, requester_id=VIEWER, group_id=SUPPORT))
    worker.handle_events()
    assert updates(app, 1007)[0].payload["ticket"]["group_id"] == TIER_1


def test_older_event_arriving_late_changes_nothing(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1008, requester_id=VIEWER, updated_at="2026-11-23T09:00:00Z"))
    post_webhook(ticket_event(1008, "ticket.organization_changed", requester_id=VIEWER,
                              organization_id=PLAIN_ORG, updated_at="2026-11-23T09:10:00Z"))
    worker.handle_events()
    # The helpdesk retried an old delivery: the ticket was in the premium organization for a moment.
    post_webhook(ticket_event(1008, "ticket.organization_changed", requester_id=VIEWER,
                              organization_id=PREMIUM_ORG, updated_at="2026-11-23T09:05:00Z"))
    worker.handle_events()
    assert decision(app, 1008).segment == "user"
    assert decision(app, 1008).snapshot["organization_id"] == PLAIN_ORG


def test_requester_change_to_the_same_segment_is_not_routed_again(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1009, requester_id=VIEWER, updated_at="2026-11-23T09:00:00Z"))
    worker.handle_events()
    post_webhook(ticket_event(1009, "ticket.organization_changed", requester_id=VIEWER,
                              organization_id=PLAIN_ORG, updated_at="2026-11-23T09:10:00Z"))
    worker.handle_events()
    assert decision(app, 1009).version == 1
    assert len(updates(app, 1009)) == 1


def test_ticket_already_where_it_belongs_needs_no_update(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1010, requester_id=VIEWER, group_id=TIER_1, tags=["deskmate_user", "tier_1"]))
    worker.handle_events()
    row = decision(app, 1010)
    assert (row.status, row.changes) == ("unchanged", {})
    assert updates(app, 1010) == []


def test_solved_ticket_is_not_routed(app, post_webhook, worker, known_directory):
    post_webhook(ticket_event(1011, "ticket.organization_changed", requester_id=VIEWER, status="SOLVED"))
    worker.handle_events()
    assert decision(app, 1011) is None


def test_decision_is_marked_applied_once_the_core_performed_the_update(app, post_webhook, worker,
                                                                       known_directory, account_id):
    from app.accounts import get_account
    from app.models import WorkItem
    from app.plugins import plugin_manager

    post_webhook(ticket_event(1012, requester_id=VIEWER))
    worker.handle_events()
    with storage.session(app) as session:
        session.execute(sa.update(WorkItem).where(WorkItem.idempotency_key == "routing:apply:1012:1")
                        .values(state="done", finished_at=sa.func.now()))
    with storage.session(app) as session:
        applied_pass(plugin_manager.context(app, "routing", get_account(account_id, app), session))
    row = decision(app, 1012)
    assert row.status == "applied"
    assert row.applied_at is not None
