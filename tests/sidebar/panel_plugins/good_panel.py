"""A plugin whose panel reads what the sidebar hands it (and the database, through its context)."""

from __future__ import annotations

from datetime import datetime

from app.hookspecs import hookimpl


@hookimpl
def sidebar_panels(ticket, ctx):
    requester = ticket.raw.get("requester") or {}
    return {"ticket_id": ticket.id, "requester_email": ticket.requester_email, "locale": ticket.locale,
            "plan": (requester.get("user_fields") or {}).get("plan"), "account": ctx.account.subdomain,
            "checked_at": datetime(2026, 11, 23, 9, 0)}
