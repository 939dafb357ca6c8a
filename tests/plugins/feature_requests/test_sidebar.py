"""The sidebar: the ticket's panel (linked requests, suggestions) and the routes an agent's sidebar calls."""

from __future__ import annotations

from typing import Any

import pytest

from app.accounts import get_account
from app.sidebar.auth import issue_session
from tests.plugins.feature_requests.conftest import links

SIDEBAR = "/sidebar/api/feature-requests"
AGENT_ID = 7001


@pytest.fixture
def agent_headers(app: Any, account_id: int) -> dict[str, str]:
    token, _ = issue_session(app, account=get_account(account_id, app), installation_id=1, agent_id=AGENT_ID)
    return {"Authorization": f"Bearer {token}"}


def test_panel_shows_linked_requests_and_suggestions_for_the_subject(client, helpdesk, agent_headers,
                                                                     new_request, api):
    downloads = new_request("Download videos in 4K", "Offline downloads in 4K")
    dark = new_request("Dark mode", "A darker player theme")
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "ana@viewers.example", "subject": "Can I download videos in 4K?", "body": "?"})
    ticket_id = int(ticket["ticket"]["id"])
    body = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=agent_headers).get_json()
    assert body["meta"]["modules"] == {"feature_requests": "/sidebar/ui/plugins/feature_requests/panel.js"}
    panel = body["panels"]["feature_requests"]["data"]
    assert panel["linked"] == []
    assert [s["id"] for s in panel["suggestions"]][:1] == [downloads]
    assert dark not in [s["id"] for s in panel["suggestions"]]
    api("POST", f"/{downloads}/links", json={"ticket_id": ticket_id, "requester_id": 1})
    panel = client.get(f"/sidebar/api/tickets/{ticket_id}", headers=agent_headers).get_json()["panels"][
        "feature_requests"]["data"]
    assert [r["id"] for r in panel["linked"]] == [downloads]
    assert downloads not in [s["id"] for s in panel["suggestions"]]


def test_agent_links_searches_and_unlinks_from_the_sidebar(app, client, agent_headers, new_request):
    request_id = new_request("Shared playlists", "Playlists with friends")
    found = client.get(f"{SIDEBAR}/search?q=playlist", headers=agent_headers).get_json()["results"]
    assert [r["id"] for r in found] == [request_id]
    assert client.get(f"{SIDEBAR}/search?q=%23{request_id}", headers=agent_headers).get_json()["results"][0][
        "id"] == request_id
    answer = client.post(f"{SIDEBAR}/link", headers=agent_headers, json={
        "feature_request_id": request_id, "ticket_id": 40, "requester_id": 801, "organization_id": 3})
    assert answer.status_code == 201
    assert answer.get_json()["link"]["linked_by"] == f"agent:{AGENT_ID}"
    assert links(app) == [(request_id, 40, 801, "sidebar")]
    answer = client.post(f"{SIDEBAR}/unlink", headers=agent_headers,
                         json={"feature_request_id": request_id, "ticket_id": 40})
    assert answer.get_json() == {"removed": 1}
    assert links(app) == []


def test_agent_creates_a_request_from_the_ticket(app, client, agent_headers):
    answer = client.post(SIDEBAR, headers=agent_headers, json={
        "title": "Picture in picture", "description": "Keep watching while browsing", "ticket_id": 41,
        "requester_id": 802})
    assert answer.status_code == 201
    created = answer.get_json()
    assert created["feature_request"]["title"] == "Picture in picture"
    assert links(app) == [(created["feature_request"]["id"], 41, 802, "sidebar")]


def test_sidebar_routes_need_a_sidebar_session(client, admin_headers):
    for method, path in (("GET", "/search?q=x"), ("GET", "/suggestions?text=x"), ("GET", "/tickets/1"),
                         ("POST", "/link"), ("POST", "/unlink"), ("POST", "")):
        assert client.open(SIDEBAR + path, method=method, json={}).status_code == 401
        # An admin token is not a sidebar session.
        assert client.open(SIDEBAR + path, method=method, json={}, headers=admin_headers).status_code == 401


def test_sidebar_refuses_bad_input_with_a_message(client, agent_headers):
    answer = client.post(f"{SIDEBAR}/link", headers=agent_headers, json={"feature_request_id": "x"})
    assert answer.status_code == 400
    assert "feature_request_id" in answer.get_json()["error"]["message"]
    assert client.post(f"{SIDEBAR}/link", headers=agent_headers,
                       json={"feature_request_id": 999, "ticket_id": 1}).status_code == 404
    assert client.post(SIDEBAR, headers=agent_headers, json={"title": ""}).status_code == 400
    assert client.get(f"{SIDEBAR}/search?q=" + "x" * 501, headers=agent_headers).status_code == 400


def test_a_refused_create_leaves_no_request_behind(client, agent_headers, api):
    answer = client.post(SIDEBAR, headers=agent_headers, json={"title": "Half done", "ticket_id": 42,
                                                               "requester_id": "801"})
    assert answer.status_code == 400
    assert api("GET", "")[1]["total"] == 0
