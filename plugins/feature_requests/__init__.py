"""Feature requests: link tickets to requests, know every requester, tell each one once on release.

Hook implementations only; see README.md for settings, events, work, routes and commands.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint
from pydantic import BaseModel

from app.api import Event, Handler, PluginContext, SidebarTicket
from app.hookspecs import hookimpl
from plugins.feature_requests import models  # noqa: F401  (the tables must be known to Base.metadata)
from plugins.feature_requests.settings import FeatureRequestsSettings


@hookimpl
def settings_model() -> type[BaseModel]:
    return FeatureRequestsSettings


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    from plugins.feature_requests.handlers import handle

    handle(event, ctx)


@hookimpl
def register_routes() -> list[Blueprint]:
    from plugins.feature_requests import admin_page, api, sidebar

    return [api.bp, sidebar.bp, admin_page.bp]


@hookimpl
def register_work_handlers() -> dict[str, Handler]:
    from plugins.feature_requests.jobs import refresh_ticket
    from plugins.feature_requests.links import REFRESH_KIND

    return {REFRESH_KIND: refresh_ticket}


@hookimpl
def register_commands(cli: click.Group) -> None:
    from plugins.feature_requests.commands import register

    register(cli)


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    from plugins.feature_requests.actions import panel

    # Rendered by the plugin's own module (sidebar_ui/panel.js) from ``data``: it searches, links and creates.
    return {"title": {"t": "feature_requests.title"}, "blocks": [],
            "data": panel(ctx, ticket.id, ticket.subject)}


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    from app.api import load_sidebar_messages

    return load_sidebar_messages(Path(__file__).parent / "sidebar_ui" / "i18n")


@hookimpl
def sidebar_module() -> str:
    from pathlib import Path

    return str(Path(__file__).parent / "sidebar_ui" / "panel.js")
