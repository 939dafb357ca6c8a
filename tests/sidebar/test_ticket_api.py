"""The ticket API: context from the cache, every plugin's panel, and failures that stay in their panel."""

from __future__ import annotations

import pytest

from app.events import TicketSnapshot
from tests.sidebar.conftest import bearer, index_snapshot, index_ticket
from tests.sidebar.panel_plugins import broken_panel

REQUESTER = {"id": 501, "name": "Ada Viewer", "email": "Ada@Example.com", "locale": "it",
             "user_fields": {"plan": "premium"}, "organization_id": 7, "tags": []}
ORGANIZATION = {"id": 7, "name": "Streamers Ltd", "tags": ["premium_partner"],
                "domain_names": ["example.com"]}


@pytest.fixture
def app_config():
    return {"plugins": ["tests.sidebar.panel_plugins.good_panel", "tests.sidebar.panel_plugins.broken_panel"]}


@pytest.fixture(autouse=True)
def _broken_mode():
    broken_panel.mode["fail"] = "raise"
    yield
    broken_panel.mode["fail"] = "raise"


def test_cached_ticket_opens_with_its_requester_organization_and_panels(client, app, account_id,
                                                                       sidebar_session):
    index_ticket(app, account_id, 42, requester=REQUESTER, organization=ORGANIZATION, subject="Stream froze")
    response = client.get("/sidebar/api/tickets/42?locale=it", headers=bearer(sidebar_session))
    assert response.status_code == 200
    body = response.get_json()
    assert body["ticket"]["subject"] == "Stream froze"
    assert body["ticket"]["requester"]["name"] == "Ada Viewer"
    assert body["ticket"]["organization"]["name"] == "Streamers Ltd"
    assert body["meta"] == {**body["meta"], "helpdesk_calls": 0, "cached": True, "refreshing": False}
    assert [part.split(";")[0] for part in response.headers["Server-Timing"].split(", ")] == [
        "context", "panels", "total"]
    assert body["panels"]["good_panel"] == {
        "ticket_id": 42, "requester_email": "ada@example.com", "locale": "it", "plan": "premium",
        "account": "acme", "checked_at": "2026-11-23T09:00:00"}


@pytest.mark.hook("sidebar_panels")
@pytest.mark.parametrize("failure", ["raise", "sql", "not_json"])
def test_a_failing_panel_becomes_an_error_panel_and_the_others_still_show(client, app, account_id,
                                                                          sidebar_session, failure):
    broken_panel.mode["fail"] = failure
    index_ticket(app, account_id, 42, requester=REQUESTER, organization=ORGANIZATION)
    response = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session))
    assert response.status_code == 200
    panels = response.get_json()["panels"]
    assert list(panels) == ["good_panel", "broken_panel"]
    assert panels["broken_panel"] == {"error": {"message": "the broken_panel panel could not be loaded"}}
    assert panels["good_panel"]["ticket_id"] == 42


def test_requester_other_recent_tickets_come_from_the_index(client, app, account_id, sidebar_session):
    index_ticket(app, account_id, 42, requester=REQUESTER, organization=ORGANIZATION)
    for ticket_id, updated in ((40, "2026-11-20T10:00:00Z"), (41, "2026-11-22T10:00:00Z")):
        index_snapshot(app, account_id, TicketSnapshot.from_detail({
            "id": str(ticket_id), "subject": f"Earlier {ticket_id}", "status": "SOLVED",
            "requester_id": "501", "updated_at": updated}))
    index_snapshot(app, account_id, TicketSnapshot.from_detail({
        "id": "39", "subject": "Someone else's", "status": "OPEN", "requester_id": "999"}))
    body = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session)).get_json()
    assert [(t["id"], t["subject"], t["status"]) for t in body["ticket"]["recent_tickets"]] == [
        (41, "Earlier 41", "solved"), (40, "Earlier 40", "solved")]


def test_ticket_known_only_from_events_without_its_requester_needs_the_helpdesk(client, app, account_id,
                                                                                  sidebar_session):
    index_snapshot(app, account_id, TicketSnapshot.from_detail({
        "id": "42", "subject": "From the webhook", "status": "NEW", "requester_id": "501"}))
    response = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session))
    # The helpdesk is unreachable in this test: the agent still sees what the events said, with a warning.
    assert response.status_code == 200
    body = response.get_json()
    assert body["ticket"]["subject"] == "From the webhook"
    assert body["ticket"]["requester"] is None
    assert "could not be reached" in body["meta"]["warning"]
    assert body["meta"]["helpdesk_calls"] == 1


def test_unknown_ticket_with_the_helpdesk_down_is_a_502_with_a_message(client, sidebar_session):
    response = client.get("/sidebar/api/tickets/4242", headers=bearer(sidebar_session))
    assert response.status_code == 502
    assert "not known yet" in response.get_json()["error"]["message"]


def test_absurd_ticket_ids_are_a_404(client, sidebar_session):
    assert client.get("/sidebar/api/tickets/0", headers=bearer(sidebar_session)).status_code == 404
    assert client.get(f"/sidebar/api/tickets/{2**70}", headers=bearer(sidebar_session)).status_code == 404
    assert client.get("/sidebar/api/tickets/abc", headers=bearer(sidebar_session)).status_code == 404


def test_sidebar_assets_are_served_but_not_the_page_template(client):
    assert client.get("/sidebar/ui/css/sidebar.css").status_code == 200
    assert client.get("/sidebar/ui/js/main.js").status_code == 200
    assert client.get("/sidebar/ui/i18n/en.json").status_code == 200
    assert client.get("/sidebar/ui/index.html/x").status_code == 404
    assert client.get("/sidebar/ui/js/../index.html").status_code == 404
