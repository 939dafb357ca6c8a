""""Take it" end to end: a signed click from the Slack emulator, the assignment in the helpdesk emulator."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
import requests
import sqlalchemy as sa

from app.db import storage
from app.models import WorkItem
from tests.conftest import SLACK_SIGNING_SECRET
from tests.plugins.sla.conftest import PREMIUM_CHANNEL, SLACK_AGENT, arrivals, clock_of


@pytest.fixture
def announced(desk, route, slack_emulator, deskmate_server, worker):
    """A premium partner's ticket announced in Slack, with the emulator's buttons pointing at Deskmate."""
    slack_emulator.call("POST", "/__sandbox/config",
                        json={"interactivity_url": f"{deskmate_server.url}/slack/interactions"})
    ticket_id = desk.new_ticket()
    route(ticket_id)
    worker.run_until_idle(timers=True)
    [arrival] = arrivals(slack_emulator)
    return ticket_id, arrival["ts"]


def click(slack_emulator, ts, user=SLACK_AGENT):
    answer = slack_emulator.call("POST", "/__sandbox/interact", json={
        "channel": PREMIUM_CHANNEL, "ts": ts, "action_id": "sla_take", "user": user})
    assert answer["status"] == 200 and not answer["too_slow"], answer
    return answer


def ephemeral(slack_emulator):
    return [e["text"] for e in slack_emulator.call("GET", "/__sandbox/messages")["ephemeral"]]


def test_take_it_assigns_the_ticket_and_shows_who_took_it(announced, desk, helpdesk, slack_emulator, worker):
    ticket_id, ts = announced
    click(slack_emulator, ts)
    worker.run_until_idle(timers=True)
    ticket = helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]
    assert ticket["assignee_id"] == desk.agent_id
    [arrival] = arrivals(slack_emulator)
    assert f"Taken by <@{SLACK_AGENT}>" in json.dumps(arrival["blocks"])
    assert "sla_take" not in json.dumps(arrival["blocks"])  # nobody else can take it from the message
    assert clock_of(worker.app, ticket_id).taken_by == SLACK_AGENT
    assert ephemeral(slack_emulator) == []


def test_a_double_click_assigns_once_and_updates_the_message_once(announced, desk, helpdesk, slack_emulator,
                                                                   worker):
    ticket_id, ts = announced
    click(slack_emulator, ts)
    click(slack_emulator, ts)  # before the message changes, the button is still there
    worker.run_until_idle()
    assert helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["assignee_id"] == desk.agent_id
    assert len(arrivals(slack_emulator)[0]["history"]) == 1  # one update of the message: "taken"
    assert ephemeral(slack_emulator) == []


def test_slack_user_without_helpdesk_account_is_told_why(announced, helpdesk, slack_emulator, worker):
    ticket_id, ts = announced
    slack_emulator.state.add_user("bob", "Bob Visitor", "bob@elsewhere.example", user_id="U0200BOB")
    click(slack_emulator, ts, user="U0200BOB")
    worker.run_until_idle()
    assert ephemeral(slack_emulator) == [f"I could not assign ticket #{ticket_id} to you: "
                                         "no helpdesk agent has the email bob@elsewhere.example."]
    assert helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["assignee_id"] is None


def test_ticket_assigned_to_someone_else_is_not_taken_over(announced, helpdesk, slack_emulator, worker):
    ticket_id, ts = announced
    carla = {"name": "Carla Colleague", "email": "carla@acme.example", "role": "agent"}
    other = helpdesk.api("POST", "/users", json={"user": carla})["user"]["id"]
    helpdesk.api("PUT", f"/tickets/{ticket_id}.json", json={"ticket": {"assignee_id": other}})
    click(slack_emulator, ts)
    worker.run_until_idle()
    assert ephemeral(slack_emulator) == [f"I could not assign ticket #{ticket_id} to you: "
                                         f"ticket #{ticket_id} is already assigned to Carla Colleague."]
    assert helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["assignee_id"] == other


def test_end_user_with_the_same_email_is_not_an_agent(announced, helpdesk, slack_emulator, worker):
    _, ts = announced
    helpdesk.api("POST", "/users", json={"user": {"name": "Eve", "email": "eve@acme.example",
                                                  "role": "end-user"}})
    slack_emulator.state.add_user("eve", "Eve", "eve@acme.example", user_id="U0300EVE")
    click(slack_emulator, ts, user="U0300EVE")
    worker.run_until_idle()
    assert "no helpdesk agent has the email eve@acme.example" in ephemeral(slack_emulator)[0]


# --- the core route refuses what Slack did not sign (tested here too: this plugin depends on it) ---

def signed(body: bytes, timestamp: int, secret: str = SLACK_SIGNING_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    signature = "v0=" + digest
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(timestamp),
            "Content-Type": "application/x-www-form-urlencoded"}


def take_click_body(ticket_id: int) -> bytes:
    payload = {"type": "block_actions", "team": {"id": "T0SANDBOX"}, "user": {"id": SLACK_AGENT},
               "channel": {"id": PREMIUM_CHANNEL},
               "actions": [{"action_id": "sla_take", "value": str(ticket_id), "action_ts": "1.2"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("secret, age, status", [
    ("not-the-signing-secret", 0, 401),
    (SLACK_SIGNING_SECRET, 301, 401),
    (SLACK_SIGNING_SECRET, -301, 401),
    (SLACK_SIGNING_SECRET, 0, 200),
])
def test_clicks_with_a_bad_or_stale_signature_take_nothing(announced, deskmate_server, helpdesk, worker,
                                                            clock, secret, age, status):
    ticket_id, _ = announced
    body = take_click_body(ticket_id)
    stamp = int(clock.now().timestamp()) - age
    answer = requests.post(f"{deskmate_server.url}/slack/interactions", data=body,
                           headers=signed(body, stamp, secret), timeout=10)
    assert answer.status_code == status
    worker.run_until_idle()
    assignee = helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["assignee_id"]
    assert (assignee is not None) == (status == 200)


def test_unsigned_click_is_refused(announced, deskmate_server):
    body = take_click_body(announced[0])
    answer = requests.post(f"{deskmate_server.url}/slack/interactions", data=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"]


def test_the_click_is_answered_well_within_three_seconds(announced, slack_emulator):
    started = time.monotonic()
    answer = click(slack_emulator, announced[1])
    assert answer["elapsed_ms"] < 3000
    assert time.monotonic() - started < 3


def test_a_click_by_a_user_slack_does_not_know_is_answered_once_not_retried(announced, deskmate_server, helpdesk,
                                                                            slack_emulator, worker, clock):
    # A user of another workspace in a shared channel, or one deactivated since: users.info -> user_not_found.
    ticket_id, _ = announced
    payload = {"type": "block_actions", "team": {"id": "T0SANDBOX"}, "user": {"id": "U0GHOST"},
               "channel": {"id": PREMIUM_CHANNEL},
               "actions": [{"action_id": "sla_take", "value": str(ticket_id), "action_ts": "2.3"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    answer = requests.post(f"{deskmate_server.url}/slack/interactions", data=body,
                           headers=signed(body, int(clock.now().timestamp())), timeout=10)
    assert answer.status_code == 200
    asked_before = slack_emulator.stats()["calls"].get("users.info", 0)
    worker.run_until_idle()
    clock.advance(hours=1)  # past any backoff: a retried item would be asked again now
    worker.run_until_idle()
    with storage.session(worker.app) as session:
        [item] = session.scalars(sa.select(WorkItem).where(WorkItem.kind == "sla.take_ticket")).all()
    assert (item.state, item.attempts) == ("done", 1), (item.state, item.last_error)
    assert "user_not_found" in item.result["refused"]
    assert item.result["told"] is False  # the emulator, like Slack, has no member U0GHOST to show it to
    assert slack_emulator.stats()["calls"].get("users.info", 0) - asked_before == 1
    assert helpdesk.api("GET", f"/tickets/{ticket_id}.json")["ticket"]["assignee_id"] is None
