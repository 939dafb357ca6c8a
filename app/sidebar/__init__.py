"""The agent sidebar: signed loads, sidebar sessions, the ticket-context API and the panels of every plugin.

The sidebar belongs to the core because the core owns authentication and the helpdesk client; plugins only
contribute panels (``sidebar_panels``) and routes that accept a sidebar session (``require_sidebar_session``).
See ``docs/sidebar.md``.
"""

from __future__ import annotations

from flask import Flask

from app.sidebar.auth import current_agent, require_sidebar_session

__all__ = ["current_agent", "init_app", "require_sidebar_session"]

EXTENSION_KEY = "deskmate.sidebar"


def init_app(app: Flask) -> None:
    """Register the sidebar's routes and its built-in hooks (the ticket index). Call after the plugin manager.

    Config read: ``sidebar_session_minutes``, ``sidebar_session_max_hours``, ``sidebar_cache_seconds``,
    ``sidebar_warm_cache``, ``sidebar_helpdesk_timeout_seconds``, ``sidebar_zaf_sdk_url``, ``secret_key``.
    """
    from app.plugins import plugin_manager
    from app.sidebar import hooks
    from app.sidebar.views import bp

    if EXTENSION_KEY in app.extensions:
        raise RuntimeError("app.sidebar.init_app was called twice on the same app")
    # The core's own hooks go through the same machinery as plugins (isolated, retried, in order), first.
    plugin_manager.register_builtin(app, hooks, hooks.NAME)
    app.register_blueprint(bp)
    app.extensions[EXTENSION_KEY] = True
