"""`create_app`: the helpdesk emulator's Flask application (API, sandbox control, agent workspace)."""

from __future__ import annotations

import base64
import logging
import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..faults import drop_connection
from .errors import ApiError
from .state import HelpdeskState, ReceivedApiRequest

API_PREFIX = "/api/v2"
ANONYMOUS = ("/public_key.pem",)

log = logging.getLogger(__name__)


def create_app(state: HelpdeskState | None = None, **options: Any) -> Flask:
    """Build the helpdesk emulator. Pass a `HelpdeskState` to share it, or options to make one.

    The state is kept in `app.extensions["helpdesk"]`; every option `HelpdeskState` accepts can be passed.
    """
    from .api_admin import bp as admin_bp
    from .api_apps import bp as apps_bp
    from .api_people import bp as people_bp
    from .api_tickets import bp as tickets_bp
    from .control import bp as control_bp
    from .sdk import bp as sdk_bp
    from .workspace import bp as workspace_bp

    if state is None:
        state = HelpdeskState(**options)
    elif options:
        raise TypeError("pass either a state or options, not both")
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["helpdesk"] = state
    for bp in (tickets_bp, people_bp, admin_bp, apps_bp):
        app.register_blueprint(bp, url_prefix=API_PREFIX)
    app.register_blueprint(control_bp)
    app.register_blueprint(workspace_bp)
    app.register_blueprint(sdk_bp)  # /zaf_sdk.js, when the sandbox was started with a local SDK
    app.before_request(_before_api)
    app.after_request(_after_api)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = jsonify(exc.body)
        response.status_code = exc.status
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if not request.path.startswith("/api/"):
            return exc
        code = exc.code or 500
        error = "InvalidEndpoint" if code in (404, 405) else exc.name.replace(" ", "")
        response = jsonify({"error": error, "description": "Not found" if code == 404 else exc.description})
        response.status_code = code
        return response

    return app


def _state() -> HelpdeskState:
    state: HelpdeskState = current_app.extensions["helpdesk"]
    return state


def _authenticate(state: HelpdeskState) -> int | None:
    """Accept `{email}/token:{api_token}` basic auth or a configured bearer token; return the user id."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip() in state.oauth_tokens:
        return state.admin_id
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        login, _, secret = decoded.partition(":")
        if login.endswith("/token") and secret == state.api_token:
            user = state.user_by_email(login[: -len("/token")])
            # Zendesk API tokens are account-wide, but only staff may use them.
            if user and user["role"] in ("agent", "admin"):
                return int(user["id"])
    return None


def _json_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _before_api() -> Response | None:
    if not request.path.startswith("/api/"):
        return None
    state = _state()
    g.started = time.monotonic()
    if state.requests_received is not None:
        state.record_request(ReceivedApiRequest(
            method=request.method, path=request.path, query=tuple(request.args.items(multi=True)),
            headers=tuple(request.headers.items()), body=request.get_data(cache=True),
            content_type=request.mimetype or None))
    state.faults.apply_latency(request.path)
    injection = state.faults.injection()
    if injection is not None:
        if injection.kind == "drop":
            state.stats.count("dropped")
            if drop_connection(request.environ):
                return Response(b"", status=500)
            return _json_error(502, {"error": "ConnectionDropped", "description": "connection dropped"})
        if injection.kind == "storm":
            state.stats.count("storm_429")
            return _json_error(
                429,
                {
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed API requests per minute exceeded",
                },
                {"Retry-After": str(injection.retry_after)},
            )
        state.stats.count("injected_5xx")
        return _json_error(
            injection.status,
            {"error": "ServiceUnavailable", "description": "The service is temporarily unavailable"},
            {"Retry-After": str(injection.retry_after)},
        )
    if request.path.endswith(ANONYMOUS):
        return None
    user_id = _authenticate(state)
    if user_id is None:
        return _json_error(401, {"error": "Couldn't authenticate you"})
    g.user_id = user_id
    decision = state.take_rate_slot(incremental=request.path.startswith("/api/v2/incremental/"))
    g.decision = decision
    if not decision.allowed:
        state.stats.count("rate_limited")
        return _json_error(
            429,
            {
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed API requests per minute exceeded",
            },
            {"Retry-After": str(decision.retry_after)},
        )
    return None


def _after_api(response: Response) -> Response:
    if not request.path.startswith("/api/"):
        return response
    state = _state()
    decision = g.get("decision")
    limit = state.limiter.limit
    remaining = decision.remaining if decision is not None else state.limiter.peek(state.now())
    reset = decision.reset if decision is not None else 60
    response.headers["X-Rate-Limit"] = str(limit)
    response.headers["X-Rate-Limit-Remaining"] = str(remaining)
    response.headers["rate-limit"] = str(limit)
    response.headers["rate-limit-remaining"] = str(remaining)
    response.headers["rate-limit-reset"] = str(max(1, reset))
    # The names Zendesk's "best practices for avoiding rate limiting" page shows on list endpoints; sent on
    # every answer here, saying the same as X-Rate-Limit.
    response.headers["ratelimit-limit"] = str(limit)
    response.headers["ratelimit-remaining"] = str(remaining)
    response.headers["ratelimit-reset"] = str(max(1, reset))
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    endpoint = f"{request.method} {rule.removesuffix('.json')}"
    state.stats.request(endpoint, response.status_code)
    return response
