"""`create_app`: the Slack emulator's Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .api import bp as api_bp
from .control import bp as control_bp
from .state import SlackState


def create_app(state: SlackState | None = None, **options: Any) -> Flask:
    """Build the Slack emulator (Web API under `/api/`, tools under `/__sandbox/`).

    Pass a `SlackState` to share it, or options for a new one (bot_token, signing_secret,
    interactivity_url, post_rate, post_burst, clock). The state is kept in `app.extensions["slack"]`.
    """
    if state is None:
        state = SlackState(**options)
    elif options:
        raise TypeError("pass either a state or options, not both")
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["slack"] = state
    app.register_blueprint(api_bp)
    app.register_blueprint(control_bp)
    return app
