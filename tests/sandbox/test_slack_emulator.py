"""Unmodified slack-sdk works against the Slack emulator; limits, files and interactions behave like Slack."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from sandbox.testing import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, RunningSlack, WebhookReceiver

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
BUTTONS: list[dict[str, Any]] = [
    {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "*Ticket #42* breached"}},
    {
        "type": "actions",
        "block_id": "act",
        "elements": [
            {
                "type": "button",
                "action_id": "ack_breach",
                "value": "42",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Acknowledge"},
            }
        ],
    },
]


def test_post_update_and_read_back_with_metadata(slack_client: WebClient, slack: RunningSlack) -> None:
    posted = slack_client.chat_postMessage(
        channel="#sla-alerts",
        text="Ticket 42 breaches in 10 min",
        blocks=BUTTONS,
        metadata={"event_type": "sla_warning", "event_payload": {"ticket_id": 42}},
    )
    assert posted["ok"] is True and posted["channel"] == "C03SLA"
    assert posted["ts"].count(".") == 1 and len(posted["ts"].split(".")[1]) == 6
    assert posted["message"]["bot_id"] == "B0DESKMATE"
    reply = slack_client.chat_postMessage(channel=posted["channel"], thread_ts=posted["ts"], text="Assigned")
    slack_client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Acknowledged", blocks=[])
    history = slack_client.conversations_history(channel="C03SLA", include_all_metadata=True)["messages"]
    assert [m["ts"] for m in history] == [posted["ts"]]  # replies stay in the thread
    assert history[0]["metadata"] == {"event_type": "sla_warning", "event_payload": {"ticket_id": 42}}
    assert history[0]["reply_count"] == 1 and history[0]["text"] == "Acknowledged"
    plain = slack_client.conversations_history(channel="C03SLA")["messages"][0]
    assert "metadata" not in plain
    thread = slack_client.conversations_replies(channel="C03SLA", ts=posted["ts"])["messages"]
    assert [m["ts"] for m in thread] == [posted["ts"], reply["ts"]]
    recorded = slack.control("GET", "/messages", params={"channel": "sla-alerts"}).json()["messages"]
    assert recorded[0]["history"][0]["text"] == "Ticket 42 breaches in 10 min"
    link = slack_client.chat_getPermalink(channel="C03SLA", message_ts=posted["ts"])["permalink"]
    assert link.endswith("/archives/C03SLA/p" + posted["ts"].replace(".", ""))
    page = requests.get(link, timeout=5)
    assert page.status_code == 200 and "Acknowledge" in page.text and "sla_warning" in page.text


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_errors_answer_like_slack(slack_client: WebClient, slack: RunningSlack) -> None:
    with pytest.raises(SlackApiError) as missing:
        slack_client.chat_postMessage(channel="#nowhere", text="x")
    assert missing.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as empty:
        slack_client.chat_postMessage(channel="#support")
    assert empty.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as unknown:
        slack_client.users_info(user="U404")
    assert unknown.value.response["error"] == "user_not_found"
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as auth:
        bad.auth_test()
    assert auth.value.response["error"] == "invalid_auth"
    form_token = requests.post(
        f"{slack.url}/api/auth.test", data={"token": SLACK_BOT_TOKEN}, timeout=5
    ).json()
    assert form_token["ok"] is True and form_token["user_id"] == "U0DESKMATE"
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as blocks:
        slack_client.chat_postMessage(channel="#support", blocks=too_many, text="x")
    assert blocks.value.response["error"] == "invalid_blocks"


def test_users_lookup(slack_client: WebClient, slack: RunningSlack) -> None:
    agent = slack.state.add_user("marta", "Marta Rossi", "marta.rossi@deskmate.example")
    found = slack_client.users_lookupByEmail(email="Marta.Rossi@deskmate.example")["user"]
    assert found["id"] == agent["id"] and found["profile"]["email"] == "marta.rossi@deskmate.example"
    assert slack_client.users_info(user=agent["id"])["user"]["real_name"] == "Marta Rossi"
    with pytest.raises(SlackApiError) as nobody:
        slack_client.users_lookupByEmail(email="ghost@deskmate.example")
    assert nobody.value.response["error"] == "users_not_found"


def test_channel_rate_limit_answers_429_with_retry_after(slack: RunningSlack) -> None:
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack.api_url)
    burst = slack.state.post_burst
    for n in range(burst):
        client.chat_postMessage(channel="#incidents", text=f"update {n}")
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="#incidents", text="one too many")
    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert int(limited.value.response.headers["Retry-After"]) >= 1
    assert client.chat_postMessage(channel="#support", text="other channels are unaffected")["ok"]


def test_retry_handler_rides_out_a_429_storm(slack: RunningSlack) -> None:
    client = WebClient(token=SLACK_BOT_TOKEN, base_url=slack.api_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    slack.control("POST", "/faults", json={"storm_seconds": 1})
    started = time.monotonic()
    assert client.chat_postMessage(channel="#support", text="after the storm")["ok"]
    assert time.monotonic() - started >= 1
    assert slack.control("GET", "/stats").json()["calls"]["chat.postMessage"] >= 2


def test_files_upload_v2_keeps_the_png(slack_client: WebClient, slack: RunningSlack) -> None:
    uploaded = slack_client.files_upload_v2(
        channel="C01SUPPORT",
        filename="queue.png",
        content=PNG,
        title="Queue chart",
        initial_comment="Today's queue",
    )
    file_id = uploaded["file"]["id"]
    assert slack.state.files[file_id]["data"] == PNG
    message = slack.control("GET", "/messages", params={"channel": "support"}).json()["messages"][-1]
    assert message["text"] == "Today's queue" and message["files"][0]["id"] == file_id
    image = requests.get(message["files"][0]["url_private"], timeout=5)
    assert image.headers["Content-Type"] == "image/png" and image.content == PNG


def test_interaction_is_signed_and_reports_deskmates_answer(
    slack_client: WebClient, slack: RunningSlack, webhook_receiver: WebhookReceiver
) -> None:
    agent = slack.state.add_user("luca", "Luca Bianchi", "luca@deskmate.example")
    posted = slack_client.chat_postMessage(channel="#sla-alerts", text="breach", blocks=BUTTONS)
    slack.control("POST", "/config", json={"interactivity_url": webhook_receiver.url})
    answer = slack.control(
        "POST",
        "/interact",
        json={
            "channel": "sla-alerts",
            "ts": posted["ts"],
            "action_id": "ack_breach",
            "user": agent["profile"]["email"],
        },
    )
    assert answer.status_code == 200 and answer.json()["status"] == 200
    received = webhook_receiver.requests[0]
    body = received.body.decode()
    verifier = SignatureVerifier(SLACK_SIGNING_SECRET)
    assert verifier.is_valid(
        body, received.headers["X-Slack-Request-Timestamp"], received.headers["X-Slack-Signature"]
    )
    payload: dict[str, Any] = json.loads(parse_qs(body)["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == agent["id"]
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C03SLA",
        "is_ephemeral": False,
    }
    assert payload["actions"][0]["action_id"] == "ack_breach" and payload["actions"][0]["value"] == "42"
    assert payload["actions"][0]["block_id"] == "act"
    replaced = requests.post(
        payload["response_url"], json={"replace_original": True, "text": "Acked by Luca"}, timeout=5
    )
    assert replaced.json() == {"ok": True}
    assert slack.state.find_message("C03SLA", posted["ts"])["text"] == "Acked by Luca"


def test_interaction_needs_a_known_action(slack_client: WebClient, slack: RunningSlack) -> None:
    posted = slack_client.chat_postMessage(channel="#support", text="no buttons")
    answer = slack.control(
        "POST",
        "/interact",
        json={
            "channel": "support",
            "ts": posted["ts"],
            "action_id": "missing",
            "user": "U0DESKMATE",
            "url": "http://127.0.0.1:9/",
        },
    )
    assert answer.status_code == 404 and answer.json()["error"] == "action_not_found"
