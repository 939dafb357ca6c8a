"""The sidebar panel: live incidents, how many tickets are about each, and whether the open ticket is one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.api import PluginContext, SidebarTicket
from plugins.breaking_news import markup
from plugins.breaking_news.incidents import live_incidents, ticket_counts
from plugins.breaking_news.models import IncidentTicket

SEVERITY_TONES = {"outage": "red", "degraded": "yellow", "maintenance": "blue"}


def panel(ticket: SidebarTicket, ctx: PluginContext) -> dict[str, Any] | None:
    """A list of the live incidents (their data in ``data.incidents``), else None (reads the database only).

    The plugin's module (``sidebar_ui/panel.js``) renders ``data``: each incident's ``text`` is its parsed
    blocks (``markup.parse``), so paragraphs and links survive without any HTML crossing over; ``blocks`` are
    the same incidents for a sidebar that renders panels as plain data.
    """
    incidents = live_incidents(ctx.session, ctx.account.id, ctx.now())
    if not incidents:
        return None
    ids = [incident.id for incident in incidents]
    counts = ticket_counts(ctx.session, ctx.account.id, ids)
    linked = set(ctx.session.scalars(sa.select(IncidentTicket.incident_id).where(
        IncidentTicket.account_id == ctx.account.id, IncidentTicket.ticket_id == ticket.id,
        IncidentTicket.incident_id.in_(ids))).all())
    data: dict[str, Any] = {
        "title": "Breaking news",
        "incidents": [{
            "id": incident.id, "title": incident.title, "severity": incident.severity,
            "status": incident.status,
            "summary": markup.to_text(incident.body)[:300], "text": markup.parse(incident.body),
            "affected_features": incident.affected_features,
            "starts_at": incident.starts_at.isoformat(), "updated_at": incident.updated_at.isoformat(),
            "ends_at": incident.ends_at.isoformat() if incident.ends_at else None,
            "ticket_count": counts.get(incident.id, 0),
            "ticket_count_text": _count_text(counts.get(incident.id, 0)),
            "this_ticket_is_linked": incident.id in linked,
        } for incident in incidents],
    }
    return {"title": {"t": "breaking_news.title"}, "empty": {"t": "breaking_news.empty"},
            "blocks": [{"type": "list", "name": "incidents", "items": [_item(shown) for shown in data["incidents"]]}],
            "data": data}


def _item(incident: dict[str, Any]) -> dict[str, Any]:
    """One live incident: its title and severity, a summary, its status and how many tickets are about it."""
    severity, status = incident["severity"], incident["status"]
    meta: list[Any] = [
        {"badge": {"t": f"breaking_news.status.{status}", "default": status}},
        {"t": "breaking_news.tickets", "args": {"count": incident["ticket_count"]}},
    ]
    if incident["this_ticket_is_linked"]:
        meta.append({"badge": {"t": "breaking_news.this_ticket"}, "tone": "red"})
    return {"id": incident["id"], "title": incident["title"], "strong": True,
            "badge": {"text": {"t": f"breaking_news.severity.{severity}", "default": severity},
                      "tone": SEVERITY_TONES.get(severity)},
            "text": incident["summary"] or None, "meta": meta}


def _count_text(count: int) -> str:
    return "1 ticket about this incident" if count == 1 else f"{count} tickets about this incident"
