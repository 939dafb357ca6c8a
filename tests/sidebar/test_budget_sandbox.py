"""Against the helpdesk emulator: an open costs at most one helpdesk call, none once cached or warmed."""

from __future__ import annotations

import pytest

from tests.sandbox_fixtures import Emulator
from tests.sidebar.conftest import bearer


@pytest.fixture(autouse=True)
def _core_only(app_config):
    """Only the core's sidebar: the counts below are the sidebar's own helpdesk calls, nobody else's."""
    app_config["plugins"] = []


def ticket_calls(helpdesk: Emulator) -> int:
    """Helpdesk API calls made for single tickets (``GET /api/v2/tickets/<id>``) since the last reset."""
    return sum(count for endpoint, count in helpdesk.stats()["by_endpoint"].items()
               if endpoint.startswith("GET /api/v2/tickets/<int:ticket_id>"))


def new_ticket(helpdesk: Emulator, email: str, subject: str = "Stream froze") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": email, "subject": subject, "body": "It stopped at minute 3."})
    return int(answer["ticket"]["id"])


@pytest.fixture
def partner(helpdesk: Emulator) -> dict:
    organization = helpdesk.api("POST", "/organizations", json={"organization": {
        "name": "Studio Aurora", "domain_names": ["studio-aurora.example"], "tags": ["premium_partner"],
        "organization_fields": {"plan": "Partner Pro"}}})["organization"]
    helpdesk.api("POST", "/users", json={"user": {
        "name": "Aurora Ops", "email": "ops@studio-aurora.example", "organization_id": organization["id"],
        "user_fields": {"plan": "Partner Pro"}}})
    return organization


def test_uncached_open_costs_one_call_and_the_next_open_none(app_config, helpdesk, client, sidebar_session,
                                                             partner, account_id):
    ticket_id = new_ticket(helpdesk, "ops@studio-aurora.example")
    helpdesk.call("POST", "/__sandbox/stats/reset")
    first = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session))
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["ticket"]["requester"]["email"] == "ops@studio-aurora.example"
    assert body["ticket"]["organization"]["name"] == "Studio Aurora"
    assert body["meta"]["helpdesk_calls"] == 1
    assert helpdesk.stats()["api_calls"] == 1
    for _ in range(3):
        again = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session)).get_json()
        assert again["meta"]["helpdesk_calls"] == 0
    assert helpdesk.stats()["api_calls"] == 1


def test_new_tickets_are_warmed_by_the_worker_so_the_first_open_costs_nothing(
        helpdesk, deskmate_server, client, sidebar_session, worker, partner):
    ticket_id = new_ticket(helpdesk, "ops@studio-aurora.example")
    helpdesk.flush_deliveries()
    worker.run_until_idle()
    assert ticket_calls(helpdesk) == 1  # the warm-up fetch, made by the worker
    helpdesk.call("POST", "/__sandbox/stats/reset")
    body = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session)).get_json()
    assert body["meta"]["helpdesk_calls"] == 0
    assert body["ticket"]["organization"]["name"] == "Studio Aurora"
    assert helpdesk.stats()["api_calls"] == 0


def test_a_known_requesters_next_ticket_needs_no_warm_up_call(helpdesk, deskmate_server, client, worker,
                                                              sidebar_session, partner):
    new_ticket(helpdesk, "ops@studio-aurora.example", "first")
    helpdesk.flush_deliveries()
    worker.run_until_idle()
    helpdesk.call("POST", "/__sandbox/stats/reset")
    second = new_ticket(helpdesk, "ops@studio-aurora.example", "second")
    helpdesk.flush_deliveries()
    worker.run_until_idle()
    body = client.get(f"/sidebar/api/tickets/{second}", headers=bearer(sidebar_session)).get_json()
    assert body["meta"]["helpdesk_calls"] == 0
    assert [t["subject"] for t in body["ticket"]["recent_tickets"]] == ["first"]
    assert ticket_calls(helpdesk) == 0


def test_old_cache_is_served_at_once_and_refreshed_in_the_background(helpdesk, client, sidebar_session, clock,
                                                                      worker, partner):
    ticket_id = new_ticket(helpdesk, "ops@studio-aurora.example")
    client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session))
    helpdesk.api("PUT", f"/organizations/{partner['id']}.json",
                 json={"organization": {"name": "Studio Aurora Group"}})
    clock.advance(minutes=11)
    helpdesk.call("POST", "/__sandbox/stats/reset")
    stale = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session)).get_json()
    assert stale["ticket"]["organization"]["name"] == "Studio Aurora"
    assert stale["meta"] == {**stale["meta"], "helpdesk_calls": 0, "refreshing": True}
    assert helpdesk.stats()["api_calls"] == 0
    worker.run_until_idle()
    fresh = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session)).get_json()
    assert fresh["ticket"]["organization"]["name"] == "Studio Aurora Group"
    assert fresh["meta"]["refreshing"] is False
    assert ticket_calls(helpdesk) == 1


def test_deleted_ticket_is_a_404(helpdesk, client, sidebar_session, partner):
    ticket_id = new_ticket(helpdesk, "ops@studio-aurora.example")
    helpdesk.api("DELETE", f"/tickets/{ticket_id}.json")
    response = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=bearer(sidebar_session))
    assert response.status_code == 404
    assert "does not exist" in response.get_json()["error"]["message"]


@pytest.fixture
def impatient(app_config):
    app_config["sidebar_helpdesk_timeout_seconds"] = 0.2


def test_slow_helpdesk_gives_up_at_the_timeout_and_says_so(impatient, helpdesk, client, sidebar_session):
    helpdesk.faults(latency_ms=1000)
    response = client.get("/sidebar/api/tickets/1", headers=bearer(sidebar_session))
    assert response.status_code == 502
    assert "could not be reached" in response.get_json()["error"]["message"]
