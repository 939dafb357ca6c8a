"""deskmate-watchword: tag tickets that mention a watch word, post a digest of them to Slack, show them in the
agent's sidebar.

Hook implementations only; each delegates to a small module. The core is reached through ``app.api`` (and the
hook marker from ``app.hookspecs``), never through another part of ``app``.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint

from app.api import Event, PluginContext, SidebarTicket, Timer
from app.hookspecs import hookimpl
from deskmate_watchword import commands, digest, handlers, sidebar, views, words
from deskmate_watchword.settings import WatchwordSettings


@hookimpl
def settings_model() -> type[WatchwordSettings]:
    return WatchwordSettings


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    handlers.handle(event, ctx)


@hookimpl
def register_routes() -> list[Blueprint]:
    return [views.bp, views.sidebar_bp]


@hookimpl
def register_timers() -> list[Timer]:
    return [Timer("digest", digest.EVERY_SECONDS, digest.run), Timer("words", words.TIMER_SECONDS, words.activate)]


@hookimpl
def register_commands(cli: click.Group) -> None:
    commands.register(cli)


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any]:
    return sidebar.panel(ticket, ctx)


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    return sidebar.messages()
