"""``POST /webhooks/zendesk``: verify, de-duplicate, store, answer. Nothing else happens on the way in.

The signature is Zendesk's: base64(HMAC-SHA256(secret, timestamp + raw body)), compared in constant time. An
account without a webhook secret refuses everything (fail closed). Duplicates (the same invocation id, or the
same event id) are stored once and answered 200, so that the helpdesk stops retrying them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, request

from app import metrics
from app.accounts import account_secrets, find_for_webhook
from app.clock import get_clock
from app.db import storage
from app.events import EventError, parse_webhook
from app.ingest import GroupCommitter, single_insert
from app.web import json_error

bp = Blueprint("webhooks", __name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's webhook signature of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _refuse(status: int, message: str, result: str) -> Any:
    metrics.WEBHOOKS.labels(result).inc()
    current_app.logger.warning("webhook refused: %s", message, extra={"result": result})
    return json_error(status, message)


def _parse_timestamp(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@bp.post("/webhooks/zendesk")
@bp.post("/webhooks/zendesk/<subdomain>")
def receive(subdomain: str | None = None) -> Any:
    settings = current_app.config["DESKMATE"]
    if request.content_length is not None and request.content_length > settings.webhook_max_body_bytes:
        return _refuse(413, f"the body is larger than {settings.webhook_max_body_bytes} bytes", "too_large")
    raw = request.get_data(cache=False)
    if len(raw) > settings.webhook_max_body_bytes:
        return _refuse(413, f"the body is larger than {settings.webhook_max_body_bytes} bytes", "too_large")

    account = find_for_webhook(current_app, request.headers.get("X-Zendesk-Account-Id"), subdomain)
    if account is None:
        return _refuse(404, "no Deskmate account matches this webhook", "unknown_account")
    secret = account_secrets(current_app, account.id).webhook_secret
    if not secret:
        return _refuse(403, "webhooks are refused until a signing secret is configured for this account",
                       "no_secret")
    signature = request.headers.get("X-Zendesk-Webhook-Signature", "")
    timestamp = request.headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
    if not signature or not timestamp:
        return _refuse(401, "missing X-Zendesk-Webhook-Signature or its timestamp", "unsigned")
    if not hmac.compare_digest(sign(secret, timestamp, raw), signature):
        return _refuse(401, "the webhook signature does not match", "bad_signature")
    sent_at = _parse_timestamp(timestamp)
    now = get_clock().now()
    if sent_at is None or abs((now - sent_at).total_seconds()) > settings.webhook_max_age_seconds:
        return _refuse(401, "the signature timestamp is missing, malformed or too old", "stale")

    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _refuse(400, "the body is not valid JSON", "bad_json")
    try:
        parsed = parse_webhook(body, raw)
    except EventError as exc:
        return _refuse(422, str(exc), "bad_event")

    invocation_id = request.headers.get("X-Zendesk-Webhook-Invocation-Id") or None
    try:
        stored = store_event(current_app, account_id=account.id, event_type=parsed.event_type,
                             ticket_id=parsed.ticket_id, event_key=parsed.event_key, invocation_id=invocation_id,
                             payload=parsed.stored, now=now, raw=raw if parsed.stored is body else None)
    except sa.exc.DataError:
        return _refuse(422, "the body holds a value the database cannot store (such as \\u0000 in a string)",
                       "bad_event")
    metrics.WEBHOOKS.labels("stored" if stored else "duplicate").inc()
    return {"status": "stored" if stored else "duplicate"}, (202 if stored else 200)


def store_event(app: Flask, *, account_id: int, event_type: str, ticket_id: int | None, event_key: str,
                invocation_id: str | None, payload: dict[str, Any], now: datetime,
                source: str = "zendesk", raw: bytes | None = None) -> bool:
    """Insert an inbound event unless its event key or invocation id is already stored; True if inserted.

    ``raw``, when given, is the JSON text ``payload`` was parsed from: stored as it is, it need not be
    serialised again. Returns only once the row is committed, so an acknowledged delivery is never lost.
    """
    values = {"account_id": account_id, "source": source, "event_type": event_type, "ticket_id": ticket_id,
              "event_key": event_key, "invocation_id": invocation_id, "payload": payload, "state": "pending",
              "attempts": 0, "received_at": now, "next_attempt_at": now}
    if raw is not None:
        values["payload_json"] = raw.decode("utf-8")
    committer = app.extensions.get("deskmate.ingest")
    if committer is not None:
        return bool(committer.store(values))
    return single_insert(storage.engine(app), values)


def init_app(app: Flask) -> None:
    engine = storage.engine(app)
    if engine.dialect.name == "postgresql":
        app.extensions["deskmate.ingest"] = GroupCommitter(engine)
    app.register_blueprint(bp)
