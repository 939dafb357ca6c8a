"""POST /slack/interactions: Slack's signature verified, the click stored as an event, answered at once."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from tests.conftest import SLACK_SIGNING_SECRET


def click_body(action_id: str = "sla_take", value: str = "4711") -> bytes:
    payload = {"type": "block_actions", "team": {"id": "T0001"}, "user": {"id": "U123", "name": "ana"},
               "actions": [{"action_id": action_id, "value": value, "type": "button"}],
               "container": {"channel_id": "C1", "message_ts": "1700000000.000100"},
               "response_url": "http://127.0.0.1:9/response"}
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(body: bytes, timestamp: int, secret: str = SLACK_SIGNING_SECRET) -> dict[str, str]:
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(timestamp),
            "Content-Type": "application/x-www-form-urlencoded"}


def events(app):
    with storage.session(app) as session:
        return list(session.scalars(sa.select(InboundEvent)))


def test_signed_click_is_stored_as_an_event(app, client, clock):
    body = click_body()
    answer = client.post("/slack/interactions", data=body, headers=signed_headers(body, int(clock.now().timestamp())))
    assert answer.status_code == 200
    [event] = events(app)
    assert (event.source, event.event_type) == ("slack", "slack.block_actions")
    assert event.payload["data"]["actions"][0]["action_id"] == "sla_take"


def test_click_retried_by_slack_is_stored_once(app, client, clock):
    body = click_body()
    headers = signed_headers(body, int(clock.now().timestamp()))
    assert client.post("/slack/interactions", data=body, headers=headers).status_code == 200
    assert client.post("/slack/interactions", data=body, headers=headers).status_code == 200
    assert len(events(app)) == 1


def test_bad_signature_is_refused(app, client, clock):
    body = click_body()
    answer = client.post("/slack/interactions", data=body,
                         headers=signed_headers(body, int(clock.now().timestamp()), secret="wrong"))
    assert answer.status_code == 401
    assert answer.is_json
    assert events(app) == []


def test_stale_signature_is_refused(app, client, clock):
    body = click_body()
    stale = int(clock.now().timestamp()) - 301
    answer = client.post("/slack/interactions", data=body, headers=signed_headers(body, stale))
    assert answer.status_code == 401
    assert events(app) == []


def test_unknown_payload_type_is_refused_after_the_signature(app, client, clock):
    body = urlencode({"payload": json.dumps({"type": "nonsense", "team": {"id": "T1"}})}).encode()
    answer = client.post("/slack/interactions", data=body,
                         headers=signed_headers(body, int(clock.now().timestamp())))
    assert answer.status_code == 400
    assert events(app) == []
