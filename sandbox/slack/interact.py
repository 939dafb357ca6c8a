"""Signed interactive payloads (button clicks) sent to Deskmate, and the `response_url` they carry."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import requests

from .state import SlackError, SlackState


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 request signature over `v0:{timestamp}:{body}`."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def find_action(message: dict[str, Any], action_id: str) -> tuple[str, dict[str, Any]]:
    """The (block_id, element) of the interactive element with `action_id` in a message."""
    for block in message.get("blocks") or []:
        candidates = list(block.get("elements") or [])
        if block.get("accessory"):
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    raise SlackError("action_not_found", 404)


def build_block_actions(
    state: SlackState,
    channel: dict[str, Any],
    message: dict[str, Any],
    action_id: str,
    user: dict[str, Any],
    response_key: str,
    base_url: str,
    value: str | None = None,
) -> dict[str, Any]:
    """The `block_actions` payload Slack would post for a click on `action_id` by `user`."""
    block_id, element = find_action(message, action_id)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": element.get("type", "button"),
        "action_ts": f"{state.clock():.6f}",
    }
    if element.get("type", "button") == "button":
        action["text"] = element.get("text") or {"type": "plain_text", "text": action_id}
        action["value"] = value if value is not None else element.get("value")
        if element.get("style"):
            action["style"] = element["style"]
    elif element.get("type") == "static_select":
        options = element.get("options") or []
        chosen = next((o for o in options if o.get("value") == value), options[0] if options else None)
        action["selected_option"] = chosen
    public_message = {k: v for k, v in message.items() if not k.startswith("_")}
    return {
        "type": "block_actions",
        "user": {"id": user["id"], "username": user["name"], "name": user["name"], "team_id": state.team_id},
        "api_app_id": state.app_id,
        "token": "sandbox-verification-token",
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel["id"],
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(state.clock())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:32]}",
        "team": {"id": state.team_id, "domain": state.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel["id"], "name": channel["name"]},
        "message": public_message,
        "state": {"values": {}},
        "response_url": f"{base_url}/__sandbox/response_url/{response_key}",
        "actions": [action],
    }


def send_interaction(
    state: SlackState,
    *,
    channel_ref: str,
    ts: str,
    action_id: str,
    user_ref: str,
    base_url: str,
    url: str | None = None,
    value: str | None = None,
) -> dict[str, Any]:
    """Post a signed `block_actions` payload to the interactivity URL; returns Deskmate's answer."""
    target = url or state.interactivity_url
    if not target:
        raise SlackError("no_interactivity_url", 400)
    channel = state.channel(channel_ref)
    message = state.find_message(channel["id"], ts)
    user = state.users.get(user_ref) or state.user_by_email(user_ref)
    if user is None:
        raise SlackError("user_not_found", 404)
    key = uuid.uuid4().hex
    payload = build_block_actions(state, channel, message, action_id, user, key, base_url, value)
    with state.lock:
        state.response_urls[key] = {"channel": channel["id"], "ts": message["ts"], "user": user["id"]}
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(state.clock()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": slack_signature(state.signing_secret, timestamp, body),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    started = time.monotonic()
    try:
        response = requests.post(target, data=body.encode(), headers=headers, timeout=10)
        status, text = response.status_code, response.text
    except requests.RequestException as exc:
        status, text = 0, f"{type(exc).__name__}: {exc}"
    elapsed = round((time.monotonic() - started) * 1000, 1)
    record = {
        "status": status,
        "body": text[:4000],
        "elapsed_ms": elapsed,
        "too_slow": elapsed > 3000,
        "url": target,
        "payload": payload,
    }
    with state.lock:
        state.interactions.append(record)
    return record


def apply_response_url(state: SlackState, key: str, body: dict[str, Any]) -> None:
    """Apply a `response_url` POST: replace or delete the original, or post in channel or ephemerally."""
    with state.lock:
        target = state.response_urls.get(key)
        if target is None:
            raise SlackError("expired_url", 404)
        channel_id = target["channel"]
        if body.get("delete_original"):
            state.messages[channel_id] = [m for m in state.messages[channel_id] if m["ts"] != target["ts"]]
            return
        if body.get("replace_original"):
            message = state.find_message(channel_id, target["ts"])
            message["_history"].append({k: v for k, v in message.items() if k in ("text", "blocks")})
            message["text"] = body.get("text", message.get("text", ""))
            if "blocks" in body:
                message["blocks"] = body["blocks"]
            message["edited"] = {"user": state.bot_user_id, "ts": state.next_ts()}
            return
        if body.get("response_type") == "in_channel":
            ts = state.next_ts()
            state.messages[channel_id].append(
                {
                    "type": "message",
                    "text": body.get("text", ""),
                    "blocks": body.get("blocks") or [],
                    "user": state.bot_user_id,
                    "bot_id": state.bot_id,
                    "ts": ts,
                    "team": state.team_id,
                    "_history": [],
                }
            )
            return
        state.ephemeral.append(
            {
                "channel": channel_id,
                "user": target["user"],
                "ts": state.next_ts(),
                "text": body.get("text", ""),
                "blocks": body.get("blocks") or [],
            }
        )
