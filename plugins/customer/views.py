"""The customer plugin's sidebar route: the billing system's data for the open ticket's requester.

The panel itself (``sidebar_panels``) reads no network: with ``source = "billing"`` it is a ``deferred`` block
whose source is this route, which the page fetches after showing the sidebar, so opening a ticket never waits
on the billing system.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from app.api import cached_sidebar_ticket, current_account, json_error, request_context, require_sidebar_session
from plugins.customer.panel import blocks
from plugins.customer.settings import CustomerSettings

bp = Blueprint("customer_sidebar", __name__, url_prefix="/sidebar/api/customer")
MAX_TICKET_ID = 2**62


def source_url(ticket_id: int) -> str:
    return f"{bp.url_prefix}/tickets/{ticket_id}"


@bp.get("/tickets/<int:ticket_id>")
@require_sidebar_session
def billing_panel(ticket_id: int) -> Any:
    """Sidebar session: ``{"blocks", "empty", "data"}`` from the billing system for the ticket's requester.

    The requester comes from the sidebar's cache of the ticket (filled when the page opened it), never from the
    request, so a session can only ask about requesters of tickets of its own account.
    """
    from plugins.customer.billing import from_billing

    if not 0 < ticket_id < MAX_TICKET_ID:
        return json_error(404, "no such ticket")
    ticket = cached_sidebar_ticket(ticket_id, request.args.get("locale", "en"))
    if ticket is None:
        return json_error(404, "the sidebar has not opened this ticket")
    settings = request_context("customer").settings
    assert isinstance(settings, CustomerSettings)
    if settings.source != "billing":
        return json_error(404, "the customer panel does not read a billing system")
    data = from_billing(current_account().id, ticket.requester_email, settings)
    return {**blocks(data), "data": data}
