"""Slack Web API methods (`POST /api/chat.postMessage` ...), answering in Slack's shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..faults import drop_connection
from .messages import METHODS
from .state import SlackError, SlackState

bp = Blueprint("slack_api", __name__)


def _state() -> SlackState:
    state: SlackState = current_app.extensions["slack"]
    return state


def _args() -> dict[str, Any]:
    """Merge query, form and JSON arguments; JSON-in-a-string members (blocks, metadata) are decoded."""
    args: dict[str, Any] = dict(request.args.items())
    args.update(request.form.items())
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            args.update(body)
    for key in ("blocks", "attachments", "metadata", "files"):
        if isinstance(args.get(key), str) and args[key].strip()[:1] in ("[", "{"):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                raise SlackError(f"invalid_{key}") from None
    return args


def _token(args: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return args.pop("token", None)


def _error(
    code: str, status: int = 200, headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None
) -> Response:
    response = jsonify({"ok": False, "error": code, **(extra or {})})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.route("/api/<method>", methods=["GET", "POST"])
def call(method: str) -> Response:
    """Dispatch one Web API call after faults and authentication."""
    state = _state()
    state.count_call(method)
    state.faults.apply_latency(request.path)
    injection = state.faults.injection()
    if injection is not None:
        if injection.kind == "drop" and drop_connection(request.environ):
            return Response(b"", status=500)
        if injection.kind == "storm":
            return _error("ratelimited", 429, {"Retry-After": str(injection.retry_after)})
        return _error("service_unavailable", injection.status or 503)
    handler: Callable[[SlackState, dict[str, Any]], dict[str, Any]] | None = METHODS.get(method)
    if handler is None:
        return _error("unknown_method", 404)
    try:
        args = _args()
        token = _token(args)
        if not token:
            return _error("not_authed")
        if token not in state.bot_tokens:
            return _error("invalid_auth")
        body = handler(state, args)
    except SlackError as exc:
        return _error(exc.code, exc.status, exc.headers, exc.extra)
    return jsonify({"ok": True, **body})
