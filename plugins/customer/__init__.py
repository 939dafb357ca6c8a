"""Customer: the sidebar's panel of the requester as a customer (plan, subscription, purchases, codes).

Hook implementations only; see README.md for settings, sources and the panel's shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.hookspecs import hookimpl
from app.plugins import PluginContext, SidebarTicket
from plugins.customer.settings import CustomerSettings


@hookimpl
def settings_model() -> type[BaseModel]:
    return CustomerSettings


@hookimpl
def sidebar_panels(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    settings = ctx.settings
    assert isinstance(settings, CustomerSettings)
    if settings.source == "billing":
        from plugins.customer.billing import from_billing

        return from_billing(ctx.account.id, ticket.requester_email, settings)
    from plugins.customer.fields import from_helpdesk

    return from_helpdesk(ticket.raw.get("requester"), ticket.raw.get("organization"), settings)
