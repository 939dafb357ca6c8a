"""The baseline for bench/webhooks.py: a Flask endpoint that only verifies Zendesk's signature."""

from __future__ import annotations

import hmac
import os
from typing import Any

from flask import Flask, request

from app.webhooks import sign

app = Flask(__name__)
SECRET = os.environ["DESKMATE_ZENDESK_WEBHOOK_SECRET"]


@app.post("/webhooks/zendesk")
def receive() -> Any:
    raw = request.get_data()
    expected = sign(SECRET, request.headers.get("X-Zendesk-Webhook-Signature-Timestamp", ""), raw)
    if not hmac.compare_digest(expected, request.headers.get("X-Zendesk-Webhook-Signature", "")):
        return {"error": "bad signature"}, 401
    return {"status": "verified"}, 202


@app.get("/healthz")
def healthz() -> Any:
    return {"status": "ok"}
