"""Each plugin's sidebar panel, gathered for one open: one plugin's failure becomes its error panel."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from app.accounts import AccountView
from app.events import parse_time
from app.plugins import SidebarTicket, plugin_manager
from app.sidebar.context import TicketContext, _int

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


def cached_sidebar_ticket(app: Flask, session: Session, account: AccountView, ticket_id: int,
                          locale: str = "en") -> SidebarTicket | None:
    """The ticket as ``sidebar_panels`` saw it, from the sidebar's cache only (never a helpdesk call).

    For a plugin's own sidebar route (a ``deferred`` block): None when the ticket is not cached.
    """
    from app.sidebar.context import _cached, _ticket_view, _usable

    row, requester, organization = _cached(session, account.id, ticket_id)
    if row is None:
        return None
    context = TicketContext(ticket=_ticket_view(row), requester=_usable(requester),
                            organization=_usable(organization))
    return sidebar_ticket(context, locale)


# --- plugins' texts and modules ---------------------------------------------------------------------------

UI_ROOT = Path(__file__).resolve().parents[2] / "sidebar_ui"
_CATALOGS = "deskmate.sidebar.catalogs"
_MODULES = "deskmate.sidebar.modules"


def message_catalog(app: Flask, language: str) -> dict[str, Any] | None:
    """The page's texts for ``language``: the core's ``sidebar_ui/i18n/<language>.json`` and every enabled
    plugin's ``sidebar_messages`` (only keys under ``<plugin>.``), or None when the core has no such file."""
    catalogs: dict[str, dict[str, Any]] = app.extensions.setdefault(_CATALOGS, {})
    if language in catalogs:
        return catalogs[language]
    core = UI_ROOT / "i18n" / f"{language}.json"
    if not language.isalpha() or not core.is_file():
        return None
    merged: dict[str, Any] = json.loads(core.read_text(encoding="utf-8"))
    for messages in plugin_messages(app).values():
        merged.update(messages.get(language) or {})
    catalogs[language] = merged
    return merged


def plugin_messages(app: Flask) -> dict[str, dict[str, dict[str, Any]]]:
    """``{plugin: {language: {key: text}}}``; a key outside the plugin's namespace is dropped with an error."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for name, function in plugin_manager.implementations(app, "sidebar_messages"):
        ok, answer = plugin_manager.call_isolated(app, "sidebar_messages", name, function)
        if not ok or not isinstance(answer, dict):
            continue
        prefix = f"{name}."
        kept: dict[str, dict[str, Any]] = {}
        for language, messages in answer.items():
            if not isinstance(messages, dict):
                continue
            outside = sorted(key for key in messages if not str(key).startswith(prefix))
            if outside:
                log.error("plugin %s: sidebar messages outside %s* are ignored: %s", name, prefix, outside)
            kept[str(language)] = {key: text for key, text in messages.items()
                                   if str(key).startswith(prefix) and isinstance(text, str | dict)}
        found[name] = kept
    return found


def plugin_modules(app: Flask) -> dict[str, Path]:
    """``{plugin: path of its sidebar ES module}`` for every enabled plugin that ships one."""
    modules: dict[str, Path] | None = app.extensions.get(_MODULES)
    if modules is None:
        modules = {}
        for name, function in plugin_manager.implementations(app, "sidebar_module"):
            ok, answer = plugin_manager.call_isolated(app, "sidebar_module", name, function)
            if ok and answer and Path(answer).is_file():
                modules[name] = Path(answer).resolve()
            elif ok:
                log.error("plugin %s: sidebar module %r is not a file", name, answer)
        app.extensions[_MODULES] = modules
    return modules


def module_url(app: Flask, name: str) -> str | None:
    path = plugin_modules(app).get(name)
    return f"/sidebar/ui/plugins/{name}/{path.name}" if path else None


def sidebar_ticket_for_request(ticket_id: int, locale: str = "en") -> SidebarTicket | None:
    """In a sidebar-session route: the open ticket as the panels saw it, from the cache (None if not cached)."""
    from flask import current_app

    from app.web import current_account, db_session

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return cached_sidebar_ticket(app, db_session(), current_account(), ticket_id, locale)


def load_sidebar_messages(folder: str | Path) -> dict[str, dict[str, Any]]:
    """``{language: {key: text}}`` from a folder of ``<language>.json`` files (a plugin's ``sidebar_messages``)."""
    return {path.stem: json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(Path(folder).glob("*.json"))}
