"""Customer: the sidebar's panel of the requester as a customer (plan, subscription, purchases, codes).

Hook implementations only; see README.md for settings, sources and the panel's shape.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel

from app.api import PluginContext, SidebarTicket
from app.hookspecs import hookimpl
from plugins.customer.settings import CustomerSettings


@hookimpl
def settings_model() -> type[BaseModel]:
    return CustomerSettings


@hookimpl
def register_routes() -> Blueprint:
    from plugins.customer.views import bp

    return bp


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
