"""The sidebar panel: live incidents, how many tickets are about each, and whether the open ticket is one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.plugins import PluginContext, SidebarTicket
from plugins.breaking_news import markup
from plugins.breaking_news.incidents import live_incidents, ticket_counts
from plugins.breaking_news.models import IncidentTicket


def panel(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    """``{"title", "incidents": [...]}`` while incidents are live, else None (reads the database only)."""
    incidents = live_incidents(ctx.session, ctx.account.id, ctx.now())
    if not incidents:
        return None
    ids = [incident.id for incident in incidents]
    counts = ticket_counts(ctx.session, ctx.account.id, ids)
    linked = set(ctx.session.scalars(sa.select(IncidentTicket.incident_id).where(
        IncidentTicket.account_id == ctx.account.id, IncidentTicket.ticket_id == ticket.id,
        IncidentTicket.incident_id.in_(ids))).all())
    return {
        "title": "Breaking news",
        "incidents": [{
            "id": incident.id, "title": incident.title, "severity": incident.severity,
            "status": incident.status,
            "summary": markup.to_text(incident.body)[:300], "affected_features": incident.affected_features,
            "starts_at": incident.starts_at.isoformat(), "updated_at": incident.updated_at.isoformat(),
            "ends_at": incident.ends_at.isoformat() if incident.ends_at else None,
            "ticket_count": counts.get(incident.id, 0),
            "ticket_count_text": _count_text(counts.get(incident.id, 0)),
            "this_ticket_is_linked": incident.id in linked,
        } for incident in incidents],
    }


def _count_text(count: int) -> str:
    return "1 ticket about this incident" if count == 1 else f"{count} tickets about this incident"
