"""``POST /webhooks/zendesk``: verify, then hand to the inbox, answer. Nothing else happens on the way in.

The signature is Zendesk's: base64(HMAC-SHA256(secret, timestamp + raw body)), compared in constant time. An
account without a webhook secret refuses everything (fail closed). The inbox (``app.inbox``) reads the body,
refusing a malformed one (422, naming the field), and stores it; duplicates (the same invocation id, or the
same event id) are stored once and answered 200, so that the helpdesk stops retrying them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, request
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.wsgi import get_input_stream

from app import inbox, metrics
from app.accounts import account_secrets, find_for_webhook
from app.clock import get_clock
from app.events import EventError
from app.logs import bind, log_context
from app.web import INTERNAL_ERROR, BadField, check_storable_json, loads_strict

bp = Blueprint("webhooks", __name__)
_SUBDOMAIN = re.compile(r"[A-Za-z0-9-]{1,63}")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's webhook signature of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Refused(Exception):
    """A delivery refused at the door: its HTTP status, the message for the sender, the metric label, and the
    body's field at fault when there is one."""

    def __init__(self, status: int, message: str, result: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.result, self.field = status, message, result, field


def _parse_timestamp(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def answer_delivery(app: Flask, headers: Headers, read_body: Callable[[int], bytes],
                    subdomain: str | None) -> tuple[int, dict[str, Any]]:
    """Verify, de-duplicate and store one delivery; the HTTP status and JSON body to answer with.

    ``read_body(n)`` reads at most ``n`` bytes of the body. The one implementation behind both ways in (the
    WSGI fast path and the Flask view).
    """
    # A scope of its own: the fast path runs outside Flask's request cycle, so the account bound once found
    # must not outlive this delivery on the server's thread.
    with log_context():
        try:
            stored = _verify_and_store(app, headers, read_body, subdomain)
        except Refused as refusal:
            metrics.WEBHOOKS.labels(refusal.result).inc()
            app.logger.warning("webhook refused: %s", refusal.message, extra={"result": refusal.result})
            error: dict[str, Any] = {"status": refusal.status, "message": refusal.message}
            if refusal.field is not None:
                error["field"] = refusal.field
            return refusal.status, {"error": error}
    metrics.WEBHOOKS.labels("stored" if stored else "duplicate").inc()
    return (202, {"status": "stored"}) if stored else (200, {"status": "duplicate"})


def _verify_and_store(app: Flask, headers: Headers, read_body: Callable[[int], bytes],
                      subdomain: str | None) -> bool:
    settings = app.config["DESKMATE"]
    limit = settings.webhook_max_body_bytes
    length = headers.get("Content-Length", "")
    # Refused unread when the sender says it is too large; otherwise one byte past the limit is read, which
    # tells a body without a length (chunked) that is too large.
    declared_too_large = length.isdigit() and int(length) > limit
    raw = b"" if declared_too_large else read_body(limit + 1)
    if declared_too_large or len(raw) > limit:
        raise Refused(413, f"the body is larger than {limit} bytes", "too_large")
    account = find_for_webhook(app, headers.get("X-Zendesk-Account-Id"), subdomain)
    if account is None:
        raise Refused(404, "no Deskmate account matches this webhook", "unknown_account")
    bind(account=account.subdomain)
    secret = account_secrets(app, account.id).webhook_secret
    if not secret:
        raise Refused(403, "webhooks are refused until a signing secret is configured for this account", "no_secret")
    signature = headers.get("X-Zendesk-Webhook-Signature", "")
    timestamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
    if not signature or not timestamp:
        raise Refused(401, "missing X-Zendesk-Webhook-Signature or its timestamp", "unsigned")
    if not hmac.compare_digest(sign(secret, timestamp, raw), signature):
        raise Refused(401, "the webhook signature does not match", "bad_signature")
    sent_at = _parse_timestamp(timestamp)
    now = get_clock(app).now()
    if sent_at is None or abs((now - sent_at).total_seconds()) > settings.webhook_max_age_seconds:
        raise Refused(401, "the signature timestamp is missing, malformed or too old", "stale")

    try:
        body = loads_strict(raw)
    except ValueError as exc:
        raise Refused(400, f"the body is not valid JSON in UTF-8: {exc}", "bad_json", "body") from None
    try:
        # Ints are not checked: a large number in a custom field is stored as JSON text alike everywhere, and
        # the ids read from the body are bounded by normalise.
        check_storable_json(raw, body, integers=False)
    except BadField as exc:
        raise Refused(422, str(exc.description), "bad_event", exc.field) from None
    try:
        return inbox.accept_webhook(app, account_id=account.id, body=body, raw=raw, now=now,
                                    invocation_id=headers.get("X-Zendesk-Webhook-Invocation-Id") or None)
    except EventError as exc:
        raise Refused(422, str(exc), "bad_event", exc.field) from None
    except sa.exc.DataError:
        raise Refused(422, "the body holds a value the database cannot store (such as \\u0000 in a string)",
                      "bad_event") from None


@bp.post("/webhooks/zendesk")
@bp.post("/webhooks/zendesk/<subdomain>")
def receive(subdomain: str | None = None) -> Any:
    # Reached only when the fast path is not in front (it takes every POST to these paths when installed).
    status, answer = answer_delivery(current_app, request.headers, request.stream.read, subdomain)
    return answer, status


class FastPath:
    """WSGI middleware answering ``POST /webhooks/zendesk[/<subdomain>]`` without Flask's request cycle.

    The helpdesk's deliveries are the one request that arrives by the thousand during a spike, and they need
    nothing Flask's cycle gives (sessions, URL building, error pages): request and application contexts,
    routing and response building were a third of a delivery's CPU time under load. Everything else, and every
    other method on these paths, goes to Flask as usual.
    """

    PREFIX = "/webhooks/zendesk"

    def __init__(self, app: Flask, wrapped: Any) -> None:
        self.app, self.wrapped = app, wrapped

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path: str = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(self.PREFIX):
            return self.wrapped(environ, start_response)
        rest = path[len(self.PREFIX):]
        if rest and not (rest.startswith("/") and _SUBDOMAIN.fullmatch(rest[1:])):
            return self.wrapped(environ, start_response)  # not one of ours: Flask answers (404)
        stream = get_input_stream(environ, safe_fallback=False, max_content_length=None)
        try:
            status, answer = answer_delivery(self.app, EnvironHeaders(environ), stream.read, rest[1:] or None)
        except Exception:
            # As the Flask app answers an unexpected error: logged, and a JSON 500 the sender will retry.
            self.app.logger.exception("unhandled error on POST %s", path)
            status, answer = 500, {"error": {"status": 500, "message": INTERNAL_ERROR}}
        payload = json.dumps(answer, separators=(",", ":")).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
