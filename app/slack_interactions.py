"""``POST /slack/interactions``: Slack's interactive callbacks (button clicks), verified and stored.

Slack wants an answer within 3 seconds, so like the helpdesk webhook this route only verifies the v0
signature (``slack_sdk.signature.SignatureVerifier``: HMAC-SHA256 over ``v0:timestamp:body``, 5-minute window),
stores the payload in the inbox (``app.inbox``) as an inbound event of type ``slack.<payload type>``
(``slack.block_actions``) and answers 200. Plugins act on it in the worker like on any other event.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Blueprint, current_app, request
from slack_sdk.signature import Clock, SignatureVerifier

from app import inbox, metrics
from app.accounts import account_secrets, find_by_slack_team
from app.clock import get_clock
from app.logs import bind
from app.web import BadField, check_storable_json, json_error, loads_strict

bp = Blueprint("slack_interactions", __name__)
HANDLED_TYPES = frozenset({"block_actions", "view_submission", "shortcut", "message_action"})
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds


@bp.post("/slack/interactions")
def interactions() -> Any:
    raw = request.get_data(cache=True)
    if len(raw) > 256_000:
        return json_error(413, "the interaction payload is too large")
    text = request.form.get("payload", "")
    try:
        parsed = loads_strict(text)
    except ValueError:
        parsed = None
    # Read before the signature can be checked (the team says whose secret to check it with), so it is
    # treated as the untrusted input it still is: anything but {"team": {"id": "T..."}} is refused here.
    payload: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    team = payload.get("team")
    team_id = team.get("id") if isinstance(team, dict) else None
    if not isinstance(team_id, str) or not team_id:
        return json_error(400, "expected a form field 'payload' holding a Slack interaction with its team.id",
                          field="payload")
    account = find_by_slack_team(current_app, team_id)
    if account is None:
        metrics.WEBHOOKS.labels("slack_unknown_account").inc()
        return json_error(404, "no Deskmate account matches this Slack workspace")
    bind(account=account.subdomain)
    secret = account_secrets(current_app, account.id).slack_signing_secret
    if not secret:
        return json_error(403, "Slack interactions are refused until a signing secret is configured")
    now = get_clock().now()
    verifier = SignatureVerifier(secret, clock=_SlackClock(now.timestamp()))
    # The verifier calls int() on the timestamp: anything but ASCII digits would raise there.
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not verifier.is_valid_request(raw, dict(request.headers)):
        metrics.WEBHOOKS.labels("slack_bad_signature").inc()
        return json_error(401, "the Slack signature is missing, wrong or too old")
    if payload.get("type") not in HANDLED_TYPES:
        return json_error(400, "expected a form field 'payload' holding an interaction of a known type")
    try:
        check_storable_json(text.encode(), payload, integers=False, prefix="payload")
    except BadField as exc:
        return json_error(422, str(exc.description), field=exc.field)
    # Slack retries a slow callback with the same body; the body's hash makes the retry a duplicate.
    key = "slack:" + hashlib.sha256(raw).hexdigest()
    inbox.store(current_app, account_id=account.id, source="slack", event_type=f"slack.{payload['type']}",
                ticket_id=None, event_key=key, payload=inbox.inbox_payload(data=payload, now=now), now=now)
    metrics.WEBHOOKS.labels("slack_stored").inc()
    return "", 200


class _SlackClock(Clock):
    """The verifier's clock, taken from the app's clock so that tests can move time."""

    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now
