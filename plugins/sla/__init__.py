"""The SLA Slack bot: first-reply clocks, arrival/reminder/breach messages, "Take it", reports and a digest.

Hook implementations only; see README.md for settings, events, work kinds, timers, routes and commands.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint
from pydantic import BaseModel

from app.api import Event, Handler, PluginContext, SidebarTicket, Timer
from app.hookspecs import hookimpl
from plugins.sla import models  # noqa: F401  (the tables must be known to the metadata)


@hookimpl
def settings_model() -> type[BaseModel]:
    from plugins.sla.settings import SlaSettings

    return SlaSettings


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    from plugins.sla.handlers import handle

    handle(event, ctx)


@hookimpl
def register_timers() -> list[Timer]:
    from plugins.sla.scheduler import timers

    return timers()


@hookimpl
def register_work_handlers() -> dict[str, Handler]:
    from plugins.sla.digest import DIGEST_KIND, perform_digest
    from plugins.sla.notify import ANNOUNCE_KIND, NOTICE_KIND, perform_announce, perform_notice
    from plugins.sla.policies import IMPORT_KIND, perform_import
    from plugins.sla.take import TAKE_KIND, perform_take

    return {ANNOUNCE_KIND: perform_announce, NOTICE_KIND: perform_notice, TAKE_KIND: perform_take,
            DIGEST_KIND: perform_digest, IMPORT_KIND: perform_import}


@hookimpl
def register_routes() -> Blueprint:
    from plugins.sla.views import bp

    return bp


@hookimpl
def register_commands(cli: click.Group) -> None:
    from plugins.sla.commands import register

    register(cli)


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    import sqlalchemy as sa

    from plugins.sla.models import SlaClock
    from plugins.sla.sidebar import panel

    clock = ctx.session.scalar(sa.select(SlaClock).where(SlaClock.account_id == ctx.account.id,
                                                         SlaClock.ticket_id == ticket.id))
    return panel(clock, ctx.now()) if clock is not None else None


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    from app.api import load_sidebar_messages

    return load_sidebar_messages(Path(__file__).parent / "sidebar_ui" / "i18n")


@hookimpl
def admin_summary(ctx: PluginContext) -> list[dict[str, Any]] | None:
    from plugins.sla.summary import cards

    return cards(ctx)
