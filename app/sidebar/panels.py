"""Each plugin's sidebar panel, gathered for one open: one plugin's failure becomes its error panel."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from app.accounts import AccountView
from app.plugins import SidebarTicket, plugin_manager
from app.sidebar.context import TicketContext, _int, parse_time

log = logging.getLogger("deskmate.sidebar")


def sidebar_ticket(context: TicketContext, locale: str) -> SidebarTicket:
    """What plugins get: the ticket, and in ``raw`` the ticket, requester and organization as sideloaded."""
    ticket, requester, organization = context.ticket, context.requester or {}, context.organization
    return SidebarTicket(
        id=int(ticket["id"]), subject=ticket.get("subject"), status=ticket.get("status"),
        requester_id=_int(ticket.get("requester_id")),
        requester_email=(str(requester["email"]).lower() if requester.get("email") else None),
        requester_name=requester.get("name"), organization_id=_int(ticket.get("organization_id")),
        group_id=_int(ticket.get("group_id")), tags=tuple(ticket.get("tags") or ()),
        created_at=parse_time(ticket.get("created_at")), locale=locale,
        raw={"ticket": ticket, "requester": context.requester, "organization": organization},
    )


def gather_panels(app: Flask, session: Session, account: AccountView,
                  ticket: SidebarTicket) -> dict[str, Any]:
    """``{plugin: panel}`` in plugin order; a plugin that raises (or answers nonsense) gets an error panel."""
    panels: dict[str, Any] = {}
    for name, function in plugin_manager.implementations(app, "sidebar_panels"):
        ctx = plugin_manager.context(app, name, account, session)
        savepoint = session.begin_nested()  # on PostgreSQL a failed query would poison the others' reads
        ok, panel = plugin_manager.call_isolated(app, "sidebar_panels", name, function, ticket=ticket,
                                                 ctx=ctx)
        if not ok:
            savepoint.rollback()
            panels[name] = {"error": {"message": f"the {name} panel could not be loaded"}}
            continue
        savepoint.commit()
        if panel is None:
            continue
        try:
            if not isinstance(panel, dict):
                raise TypeError(f"a panel is a dict, got {type(panel).__name__}")
            json.dumps(panel, default=_iso)
        except (TypeError, ValueError) as exc:
            log.error("plugin %s returned a sidebar panel that is not JSON: %s", name, exc)
            panels[name] = {"error": {"message": f"the {name} panel could not be loaded"}}
            continue
        panels[name] = json.loads(json.dumps(panel, default=_iso))
    return panels


def _iso(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    raise TypeError(f"{type(value).__name__} is not JSON")
