"""Customer: the requester as a customer in the sidebar (plan, subscription, purchases, codes), and the actions
agents take on it there (refunds, duplicate-charge reversals, subscription cancels, promo codes).

Hook implementations only; see README.md for settings, sources, the panel's shape, permissions and approvals.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from app.api import Event, Handler, PluginContext, SidebarTicket, Timer
from app.hookspecs import hookimpl
from plugins.customer import models  # noqa: F401  (the tables must be known to the metadata)
from plugins.customer.settings import CustomerSettings


@hookimpl
def settings_model() -> type[BaseModel]:
    return CustomerSettings


@hookimpl
def register_routes() -> list[Blueprint]:
    from plugins.customer.admin_page import bp as admin_bp
    from plugins.customer.views import bp

    return [bp, admin_bp]


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    """Only Slack clicks on Approve / Decline of an approval request concern this plugin."""
    if event.type == "slack.block_actions":
        from plugins.customer.approvals import on_click

        on_click(event, ctx)


@hookimpl
def register_work_handlers() -> dict[str, Handler]:
    from plugins.customer import jobs

    return {jobs.DECIDE_KIND: jobs.quietly_retried(jobs.perform_decide),
            jobs.PERFORM_KIND: jobs.quietly_retried(jobs.perform_action),
            jobs.EPHEMERAL_KIND: jobs.perform_tell_clicker}


@hookimpl
def register_timers() -> list[Timer]:
    from plugins.customer.jobs import mark_failed

    return [Timer("customer.failed_actions", 30, mark_failed)]


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    from plugins.customer.panel import blocks

    settings = ctx.settings
    assert isinstance(settings, CustomerSettings)
    title = {"t": "customer.title"}
    if settings.source == "billing":
        # Over HTTP: never while the sidebar opens. The page fetches it from the plugin's route afterwards.
        from plugins.customer.views import source_url

        return {"title": title, "blocks": [{"type": "deferred", "source": source_url(ticket.id)}],
                "data": {"source": "billing", "state": "deferred"}}
    from plugins.customer.fields import from_helpdesk

    data = from_helpdesk(ticket.raw.get("requester"), ticket.raw.get("organization"), settings)
    return {"title": title, **blocks(data), "data": data}


@hookimpl
def sidebar_messages() -> dict[str, dict[str, Any]]:
    from pathlib import Path

    from app.api import load_sidebar_messages

    return load_sidebar_messages(Path(__file__).parent / "sidebar_ui" / "i18n")
