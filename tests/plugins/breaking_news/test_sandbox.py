"""End to end over real HTTP: the helpdesk and Slack emulators, Deskmate served on loopback, the worker."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from app.accounts import upsert_account
from tests.plugins.breaking_news.conftest import HELP_CENTER

CHANNEL = "C0INCIDENTS"


@pytest.fixture
def incidents_channel(slack_emulator: Any) -> str:
    slack_emulator.state.add_channel("incidents", CHANNEL)
    return CHANNEL


@pytest.fixture
def configured(app: Any, clock: Any, deskmate_server: Any, incidents_channel: str) -> Any:
    upsert_account(app, subdomain="acme", now=clock.now(), settings={"breaking_news": {
        "slack_channel": incidents_channel, "allowed_origins": [HELP_CENTER]}})
    return deskmate_server


def admin(server: Any, token: str, method: str, path: str, **body: Any) -> dict[str, Any]:
    answer = requests.request(method, f"{server.url}/admin/api/news{path}", json=body, timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()  # type: ignore[no-any-return]


def channel_messages(slack: Any) -> list[dict[str, Any]]:
    return list(slack.call("GET", f"/__sandbox/messages?channel={CHANNEL}")["messages"])


def new_ticket(helpdesk: Any, subject: str, email: str) -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "subject": subject, "body": "It just shows nothing.", "requester_email": email,
        "name": "Vera Viewer"})
    helpdesk.flush_deliveries()
    return int(answer["ticket"]["id"])


def test_incident_lifecycle_tags_counts_announces_and_tells_requesters(
        configured, helpdesk, slack_emulator, worker, admin_token):
    incident = admin(configured, admin_token, "POST", "/incidents", title="Black screen in the TV app",
                     body="Some viewers see a black screen.", severity="outage",
                     affected_features=["TV app"], keywords=["black screen"],
                     notify_requesters=True)["incident"]
    worker.run_until_idle()
    [announcement] = channel_messages(slack_emulator)
    assert "Outage: Black screen in the TV app" in announcement["text"]

    about = new_ticket(helpdesk, "Black screen since this morning", "vera@example.com")
    unrelated = new_ticket(helpdesk, "Change my invoice address", "otto@example.com")
    worker.run_until_idle()
    helpdesk.flush_deliveries()  # our own tag change comes back as a tags_changed event
    worker.run_until_idle()
    tag = f"incident_{incident['id']}"
    assert tag in helpdesk.api("GET", f"/tickets/{about}.json")["ticket"]["tags"]
    assert tag not in helpdesk.api("GET", f"/tickets/{unrelated}.json")["ticket"]["tags"]
    counted = admin(configured, admin_token, "GET", f"/incidents/{incident['id']}/tickets")
    assert counted["ticket_count"] == 1
    assert counted["tickets"][0]["ticket_id"] == about

    admin(configured, admin_token, "POST", f"/incidents/{incident['id']}/resolve",
          body="Fixed by a new build.")
    worker.run_until_idle()
    comments = helpdesk.api("GET", f"/tickets/{about}/comments.json")["comments"]
    assert "has been fixed" in comments[-1]["body"] and "Black screen in the TV app" in comments[-1]["body"]
    assert comments[-1]["public"] is True
    assert len(helpdesk.api("GET", f"/tickets/{unrelated}/comments.json")["comments"]) == 1
    messages = channel_messages(slack_emulator)
    [parent] = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
    assert "(resolved)" in parent["text"]
    replies = [m["text"] for m in messages if m.get("thread_ts") not in (None, m["ts"])]
    assert replies == ["Resolved: Fixed by a new build."]

    worker.run_until_idle()  # running again tells nobody twice
    assert len(helpdesk.api("GET", f"/tickets/{about}/comments.json")["comments"]) == len(comments)
    summary = admin(configured, admin_token, "GET", f"/incidents/{incident['id']}")["requester_notices"]
    assert (summary["total"], summary["delivered"]) == (1, 1)


def test_public_documents_over_http(configured, admin_token):
    admin(configured, admin_token, "POST", "/incidents", title="Chat is slow", severity="degraded")
    answer = requests.get(f"{configured.url}/news/active.json", headers={"Origin": HELP_CENTER}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == HELP_CENTER
    assert answer.json()["incidents"][0]["title"] == "Chat is slow"
    again = requests.get(f"{configured.url}/news/active.json", timeout=10,
                         headers={"Origin": HELP_CENTER, "If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304
    feed = requests.get(f"{configured.url}/news/feed.atom", timeout=10)
    assert b"Chat is slow" in feed.content
