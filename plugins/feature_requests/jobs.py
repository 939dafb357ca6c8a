"""Work the plugin performs itself: looking up a linked ticket whose requester or status is not known yet."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.api import ClaimedItem, HelpdeskError, PermanentFailure, PluginContext, TicketSnapshot
from plugins.feature_requests.links import remember_ticket, requester_cache
from plugins.feature_requests.models import Link


def refresh_ticket(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    """``feature_requests.refresh_ticket``: fetch the ticket, then fill its links' requester and organization.

    The helpdesk is asked before the transaction writes anything (SQLite holds one writer at a time).
    """
    ticket_id = int(item.payload["ticket_id"])
    try:
        answer = ctx.zendesk.call("GET", f"/tickets/{ticket_id}.json", what="ticket")
    except HelpdeskError as error:
        if error.status == 404:
            raise PermanentFailure(f"ticket {ticket_id} does not exist (deleted?)") from error
        raise
    data = answer["ticket"]
    snapshot = TicketSnapshot(id=ticket_id, subject=data.get("subject"), status=data.get("status"),
                              requester_id=data.get("requester_id"),
                              organization_id=data.get("organization_id"))
    session, account_id = ctx.session, ctx.account.id
    ctx.mirror.store_ticket(data, ctx.now())  # the whole ticket: the mirror's for every reader
    remember_ticket(session, account_id, snapshot, ctx.now())
    if snapshot.requester_id is not None:
        known = requester_cache(session, account_id, snapshot.requester_id)
        values: dict[str, Any] = {"requester_id": snapshot.requester_id,
                                  "organization_id": snapshot.organization_id}
        if known is not None and known.segment:
            values["segment"] = known.segment
        session.execute(sa.update(Link).where(Link.account_id == account_id, Link.ticket_id == ticket_id,
                                              Link.requester_id.is_(None)).values(**values))
    return {"ticket_id": ticket_id, "status": snapshot.status, "requester_id": snapshot.requester_id}
