"""The cached directory: kept honest by events and the export, fetched in bulk when a ticket needs it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from app.accounts import active_accounts
from app.db import storage
from app.mirror import Mirror
from app.mirror.models import HelpdeskOrganization, HelpdeskUser
from tests.conftest import ticket_event
from tests.plugins.routing.conftest import (
    PLAIN_ORG,
    VIEWER,
    decision,
    new_ticket,
    organization,
    seed_groups,
    settle,
    ticket,
    user,
    work,
)
from tests.sandbox_fixtures import Emulator


def directory_event(kind: str, subject: str, record_id: int, **detail: Any) -> dict[str, Any]:
    """An organization or user event in the envelope Zendesk sends (ids as strings)."""
    return {"type": f"zen:event-type:{kind}", "account_id": 9001, "id": str(uuid.uuid4()),
            "time": "2026-11-23T09:30:00Z", "zendesk_event_version": "2022-06-20",
            "subject": f"zen:{subject}:{record_id}",
            "detail": {"id": str(record_id), "updated_at": "2026-11-23T09:30:00Z", **detail}, "event": {}}


def cached_organization(app, org_id: int) -> HelpdeskOrganization:
    with storage.session(app) as session:
        return session.scalar(sa.select(HelpdeskOrganization).where(
            HelpdeskOrganization.organization_id == org_id))


def show_many_calls(helpdesk: Emulator) -> dict[str, int]:
    calls = helpdesk.stats()["by_endpoint"]
    return {name: count for name, count in calls.items() if "show_many" in name}


def test_organization_tag_change_event_makes_its_next_ticket_wait_for_fresh_data(
        app, post_webhook, worker, warm_cache, account_id, clock):
    seed_groups(app, account_id, clock)
    warm_cache(organizations=[organization(PLAIN_ORG)],
               users=[user(VIEWER, "fan@smallclub.example", organization_id=PLAIN_ORG)])
    post_webhook(directory_event("organization.tags_changed", "organization", PLAIN_ORG, name="Small Club"))
    worker.handle_events()
    assert cached_organization(app, PLAIN_ORG).complete is False
    post_webhook(ticket_event(3001, requester_id=VIEWER, organization_id=PLAIN_ORG))
    worker.handle_events()
    assert decision(app, 3001).status == "waiting"
    [classify] = work(app, "routing.classify")
    assert classify.idempotency_key == "routing:classify:3001:1"


def test_user_event_email_lets_a_domain_rule_decide_without_a_fetch(app, post_webhook, worker, account_id,
                                                                    clock):
    seed_groups(app, account_id, clock)
    post_webhook(directory_event("user.created", "user", 777, email="Lead@Studio.Partner.example",
                                 organization_id="0", role="end-user"))
    post_webhook(ticket_event(3002, requester_id=777))
    worker.handle_events()
    row = decision(app, 3002)
    assert (row.segment, row.reason) == ("premium_partner", "domain partner.example")
    assert work(app, "routing.classify") == []


def test_older_directory_event_does_not_overwrite_newer_data(app, post_webhook, worker, warm_cache):
    warm_cache(users=[user(VIEWER, "new@mail.example") | {"updated_at": "2026-11-23T10:00:00Z"}])
    post_webhook(directory_event("user.email_changed", "user", VIEWER, email="old@mail.example"))
    worker.handle_events()
    with storage.session(app) as session:
        cached = session.scalar(sa.select(HelpdeskUser).where(HelpdeskUser.user_id == VIEWER))
    assert (cached.email, cached.complete) == ("new@mail.example", True)


@pytest.fixture
def without_warm_up(app_config: dict[str, Any]) -> None:
    app_config["sidebar_warm_cache"] = False  # routing alone: the sidebar reads no requester first


def test_a_burst_of_unknown_requesters_is_fetched_in_one_call_each_for_users_and_organizations(
        without_warm_up, app, helpdesk, worker, desk):
    fans = [helpdesk.api("POST", "/users", json={"user": {
        "name": f"Fan {n}", "email": f"fan{n}@viewers.example"}})["user"]["id"] for n in range(30)]
    helpdesk.call("POST", "/__sandbox/stats/reset")
    ids = [new_ticket(helpdesk, requester) for requester in [*fans, desk["partner"], desk["member"]]]
    settle(helpdesk, worker)
    calls = show_many_calls(helpdesk)
    assert sum(calls.values()) == 2, calls  # one for the 32 users, one for their 2 organizations
    assert ticket(helpdesk, ids[-2])["group_id"] == desk["tier_2"]
    assert {ticket(helpdesk, ticket_id)["group_id"] for ticket_id in ids[:30]} == {desk["tier_1"]}


def test_requesters_the_sidebar_already_read_are_not_fetched_again_for_routing(app, helpdesk, worker, desk):
    """One mirror: the sidebar's warm-up reads each new ticket with its requester, and routing reuses that."""
    fans = [helpdesk.api("POST", "/users", json={"user": {
        "name": f"Fan {n}", "email": f"fan{n}@viewers.example"}})["user"]["id"] for n in range(3)]
    helpdesk.call("POST", "/__sandbox/stats/reset")
    ids = [new_ticket(helpdesk, requester) for requester in [*fans, desk["partner"]]]
    settle(helpdesk, worker)
    assert show_many_calls(helpdesk) == {}
    assert helpdesk.stats()["by_endpoint"].get("GET /api/v2/tickets/<int:ticket_id>", 0) >= len(ids)
    assert ticket(helpdesk, ids[-1])["group_id"] == desk["tier_2"]
    assert {ticket(helpdesk, ticket_id)["group_id"] for ticket_id in ids[:3]} == {desk["tier_1"]}
    with storage.session(app) as session:
        cached = Mirror(session, active_accounts(app)[0].id).users(fans, whole=True)
    assert [(user.complete, user.has_data, user.data is not None) for user in cached.values()] == [(True,) * 3] * 3


def test_requester_the_helpdesk_no_longer_knows_is_routed_by_default(app, helpdesk, worker, desk):
    ticket_id = new_ticket(helpdesk, desk["member"])
    helpdesk.state.users.pop(desk["member"])  # deleted between the ticket's creation and the fetch
    settle(helpdesk, worker)
    assert decision(app, ticket_id).segment == "user"
    with storage.session(app) as session:
        cached = session.scalar(sa.select(HelpdeskUser).where(HelpdeskUser.user_id == desk["member"]))
    assert (cached.missing, cached.complete) == (True, True)


def test_export_pass_warms_the_cache_so_tickets_need_no_fetch(app, helpdesk, worker, desk):
    worker.run_timers({"directory"})
    settle(helpdesk, worker)
    helpdesk.call("POST", "/__sandbox/stats/reset")
    ticket_id = new_ticket(helpdesk, desk["partner"])
    settle(helpdesk, worker)
    assert ticket(helpdesk, ticket_id)["group_id"] == desk["tier_2"]
    assert show_many_calls(helpdesk) == {}


def test_classification_that_fails_for_good_shows_as_a_failed_decision(app, post_webhook, worker, clock,
                                                                        account_id):
    seed_groups(app, account_id, clock)
    # Nothing cached and the helpdesk unreachable (the app points at a closed port): the fetch keeps failing.
    post_webhook(ticket_event(3003, requester_id=VIEWER))
    for _ in range(12):
        worker.run_until_idle()
        clock.advance(hours=2)
    [classify] = work(app, "routing.classify")
    assert classify.state == "failed"
    worker.run_timers({"applied"})
    row = decision(app, 3003)
    assert row.status == "failed"
    assert "Connection" in row.last_error
