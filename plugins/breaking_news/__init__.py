"""Breaking news: incidents published by admins, shown in the help center, the sidebar and Slack.

Hook implementations only; see README.md for settings, events, work, timers and routes.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint
from pydantic import BaseModel

from app.api import Event, PluginContext, SidebarTicket, Timer
from app.hookspecs import hookimpl
from plugins.breaking_news import models  # noqa: F401  (the tables must be known to Base.metadata)
from plugins.breaking_news.settings import BreakingNewsSettings


@hookimpl
def settings_model() -> type[BaseModel]:
    return BreakingNewsSettings


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    from plugins.breaking_news.handlers import handle

    handle(event, ctx)


@hookimpl
def register_routes() -> list[Blueprint]:
    from plugins.breaking_news import admin_api, admin_page, public_views

    return [public_views.bp, admin_api.bp, admin_page.bp]


@hookimpl
def register_timers() -> list[Timer]:
    from plugins.breaking_news.incidents import announce_transitions

    def transitions(ctx: PluginContext) -> None:
        announce_transitions(ctx)

    return [Timer("incident_transitions", 15, transitions)]


@hookimpl
def register_commands(cli: click.Group) -> None:
    from plugins.breaking_news.commands import register

    register(cli)


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    from plugins.breaking_news.sidebar import panel

    return panel(ticket, ctx)


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    from app.api import load_sidebar_messages

    return load_sidebar_messages(Path(__file__).parent / "sidebar_ui" / "i18n")


@hookimpl
def sidebar_module() -> str:
    from pathlib import Path

    # Renders each incident's text with its paragraphs and links (the generic list flattens it to one line).
    return str(Path(__file__).parent / "sidebar_ui" / "panel.js")


@hookimpl
def admin_summary(ctx: PluginContext) -> list[dict[str, Any]] | None:
    from plugins.breaking_news.summary import cards

    return cards(ctx)
