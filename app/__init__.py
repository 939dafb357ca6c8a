"""Deskmate: routing, SLA alerts, breaking news and feature-request tracking for a Zendesk support team.

``create_app`` is the only entry point; nothing is connected, read or built at import time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app import clock, crypto, logs
from app.config import Settings, load_settings
from app.db import storage
from app.plugins import plugin_manager
from app.slack import slack_clients
from app.zendesk import zendesk_clients


def create_app(config: Mapping[str, Any] | None = None, *, app_clock: clock.Clock | None = None) -> Flask:
    """Build the Deskmate app.

    Args:
        config: settings that override the environment and the config file (same names as ``Settings``,
            lower-case, without the prefix), mostly for tests.
        app_clock: the clock time-based decisions use (a ``FakeClock`` in tests).

    Raises:
        app.config.ConfigError: the configuration is invalid; the message names each bad setting.
    """
    settings = load_settings(config)
    app = Flask(__name__, instance_path=str(Path.cwd() / "instance"))
    app.config["DESKMATE"] = settings
    app.config["SECRET_KEY"] = _secret_key(app, settings)
    app.config["MAX_CONTENT_LENGTH"] = settings.webhook_max_body_bytes * 2
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logs.configure(settings.resolved_log_format, settings.log_level)
    logs.init_app(app)
    crypto.configure(app.config["SECRET_KEY"])

    clock.init_app(app, app_clock)
    storage.init_app(app)
    zendesk_clients.init_app(app)
    slack_clients.init_app(app)

    from app import admin, admin_pages, catch_up, cli, health, inbox, mirror, sidebar, slack_interactions, web, webhooks

    inbox.init_app(app)
    web.init_app(app)
    admin_pages.init_app(app)
    webhooks.init_app(app)
    app.register_blueprint(slack_interactions.bp)
    app.register_blueprint(health.bp)
    from app import openapi

    openapi.init_app(app)  # GET /openapi.json: the API of the core and of the enabled plugins, described
    app.register_blueprint(admin.bp)
    plugin_manager.init_app(app)
    from app import i18n

    i18n.init_app(app)  # after the plugins: their catalogs join the core's
    sidebar.init_app(app)
    mirror.init_app(app)  # after the sidebar: the mirror sees each event first
    catch_up.init_app(app)  # a core timer and `flask catch-up`; it handles no events, so the mirror stays first
    from app import retention

    retention.init_app(app)  # a core timer deleting old done rows (and `flask purge`); it handles no events
    cli.init_app(app)

    if settings.embedded_worker:
        from app.worker import embedded

        embedded.start(app)  # not in a `flask` command; its thread waits until the schema is at head
    return app


def _secret_key(app: Flask, settings: Settings) -> str:
    """The configured key; in development a random one kept in ``instance/`` so restarts keep sessions."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()

