"""Routing: every new ticket classified (user, premium partner, ...) and sent to its tier group.

Hook implementations only; the work is in ``decide`` (decisions), ``rules``/``rules_source`` (the rules),
``directory`` and ``groups`` (the cached helpdesk data), ``jobs`` (work handlers and timers), ``views`` (admin
API) and ``backfill`` (the command). See README.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa
from flask import Blueprint
from pydantic import BaseModel

from app.api import Event, Handler, PluginContext, SidebarTicket, Timer
from app.hookspecs import hookimpl
from plugins.routing import admin_page, commands, decide, jobs, models, retention, views
from plugins.routing.settings import RoutingSettings

__all__ = ["models"]  # imported so that the tables are part of Base.metadata


@hookimpl
def settings_model() -> type[BaseModel]:
    return RoutingSettings


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    # Users and organizations: the core's mirror has taken the event in already.
    if event.source == "zendesk" and event.type.startswith("ticket."):
        decide.on_ticket_event(event, ctx)


@hookimpl
def register_work_handlers() -> dict[str, Handler]:
    return jobs.handlers()


@hookimpl
def register_timers() -> list[Timer]:
    return jobs.timers()


@hookimpl
def purge(ctx: PluginContext, before: datetime, limit: int, dry_run: bool) -> int:
    return retention.purge(ctx, before, limit, dry_run)


@hookimpl
def register_routes() -> list[Blueprint]:
    return [views.bp, admin_page.bp]


@hookimpl
def register_commands(cli: click.Group) -> None:
    commands.register(cli)


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    row = ctx.session.scalar(sa.select(models.RoutingDecision).where(
        models.RoutingDecision.account_id == ctx.account.id, models.RoutingDecision.ticket_id == ticket.id))
    if row is None:
        return None
    from plugins.routing.sidebar import panel

    names = {}
    if row.organization_id is not None:
        organization = ctx.mirror.organization(row.organization_id)
        if organization is not None and organization.name:
            names[row.organization_id] = organization.name
    return panel(row, names)


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    from app.api import load_sidebar_messages

    return load_sidebar_messages(Path(__file__).parent / "sidebar_ui" / "i18n")
