"""The sidebar's routes: the page (signed, or unsigned where an account allows it), its assets, its API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from flask import Blueprint, Response, current_app, g, request, send_from_directory
from sqlalchemy.orm import Session

from app.accounts import AccountView, active_accounts
from app.clock import get_clock
from app.plugins import plugin_manager
from app.sidebar.auth import (
    SidebarAuthError,
    current_agent,
    issue_session,
    require_sidebar_session,
    verify_signed_load,
)
from app.sidebar.context import TicketContext, TicketUnavailable, open_ticket, recent_tickets
from app.sidebar.panels import gather_panels, message_catalog, module_url, plugin_modules, sidebar_ticket
from app.web import json_error

UI_ROOT = Path(__file__).resolve().parents[2] / "sidebar_ui"
ASSET_FOLDERS = ("css", "js", "i18n", "img")
MAX_TICKET_ID = 2**62
bp = Blueprint("sidebar", __name__, url_prefix="/sidebar")
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(UI_ROOT)), autoescape=True)

_USER_FIELDS = ("id", "name", "email", "locale", "time_zone", "tags", "organization_id", "role")
_ORGANIZATION_FIELDS = ("id", "name", "tags", "domain_names")


@bp.post("/")
def signed_load() -> Any:
    """Deliberately public, but only with the helpdesk's signed JWT (form field ``token``): the page."""
    token = request.form.get("token", "").strip()
    if not token:
        return json_error(401, "the sidebar must be loaded by the helpdesk with a signed token (signedUrls)")
    try:
        launch = verify_signed_load(current_app, token)
    except SidebarAuthError as exc:
        current_app.logger.warning("sidebar signed load refused: %s", exc)
        return json_error(401, str(exc))
    return _page(launch.account, launch.installation_id, launch.agent_id, role=launch.role)


@bp.get("/")
def unsigned_load() -> Any:
    """Deliberately public: the page without a signed token, only for an account that allows unsigned loads.

    Off by default: anyone who can reach the URL gets a session for the account, so use it only where the
    service is not reachable from outside (a developer's machine, the sandbox).
    """
    account = _account_from_origin(request.args.get("origin", ""))
    if account is None or not (account.settings.get("sidebar") or {}).get("allow_unsigned"):
        return json_error(403, "this account accepts only signed sidebar loads (the helpdesk's POST)")
    return _page(account, 0, 0)


@bp.get("/ui/<folder>/<path:filename>")
def asset(folder: str, filename: str) -> Any:
    """Deliberately public: the sidebar's static scripts, styles and translations (no data, no secrets)."""
    if folder not in ASSET_FOLDERS:
        return json_error(404, "no such sidebar asset")
    if folder == "i18n":
        # The core's texts merged with every enabled plugin's (``sidebar_messages``).
        catalog = message_catalog(current_app, filename.removesuffix(".json"))
        if catalog is None or not filename.endswith(".json"):
            return json_error(404, "no such sidebar asset")
        response = current_app.json.response(catalog)
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    response = send_from_directory(UI_ROOT / folder, filename, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/ui/plugins/<name>/<path:filename>")
def plugin_asset(name: str, filename: str) -> Any:
    """Deliberately public: a plugin's sidebar ES module (``sidebar_module``) and the files next to it."""
    module = plugin_modules(current_app).get(name)
    if module is None:
        return json_error(404, "no such sidebar asset")
    response = send_from_directory(module.parent, filename, max_age=300)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/api/session")
@require_sidebar_session
def refresh_session() -> Any:
    """A fresh session token for the page, before the current one expires (at most the configured hours)."""
    agent = current_agent()
    now = get_clock().now()
    hours = current_app.config["DESKMATE"].sidebar_session_max_hours
    limit = agent.authenticated_at.timestamp() + hours * 3600
    if now.timestamp() >= limit - 1:
        return json_error(401, "the sidebar session cannot be extended any further; reload the ticket")
    token, expires_at = issue_session(current_app, account=g.account, installation_id=agent.installation_id,
                                      agent_id=agent.id, authenticated_at=agent.authenticated_at, role=agent.role)
    return {"token": token, "expires_at": expires_at.isoformat()}


@bp.get("/api/tickets/<int:ticket_id>")
@require_sidebar_session
def ticket(ticket_id: int) -> Any:
    """The open ticket's context and every plugin's panel; at most one helpdesk call, none when cached."""
    if not 0 < ticket_id < MAX_TICKET_ID:
        return json_error(404, "no such ticket")
    started = time.perf_counter()
    locale = _locale(request.args.get("locale", ""))
    account: AccountView = g.account
    now = get_clock().now()
    timings: dict[str, float] = {}

    def finish(session: Session, context: TicketContext) -> tuple[TicketContext, dict[str, Any]]:
        timings["context"] = time.perf_counter() - started
        requester_id = context.ticket.get("requester_id")
        if requester_id is not None:
            context.recent = recent_tickets(session, account.id, int(requester_id), exclude=ticket_id)
        panels = gather_panels(current_app, session, account, sidebar_ticket(context, locale))
        timings["panels"] = time.perf_counter() - started - timings["context"]
        return context, panels

    try:
        context, panels = open_ticket(current_app, account, ticket_id, now, finish)
    except TicketUnavailable as exc:
        return json_error(exc.status, str(exc))
    plugins = [name for name, _ in plugin_manager.implementations(current_app, "sidebar_panels")]
    body = {
        "ticket": {**context.ticket, "requester": _pick(context.requester, _USER_FIELDS),
                   "organization": _pick(context.organization, _ORGANIZATION_FIELDS),
                   "recent_tickets": context.recent,
                   "url": f"{account.helpdesk_url}/agent/tickets/{ticket_id}"},
        "panels": panels,
        "meta": {"plugins": plugins,
                 "modules": {name: url for name in plugins if (url := module_url(current_app, name))},
                 "helpdesk_calls": context.helpdesk_calls, "cached": context.cached,
                 "refreshing": context.refreshing, "warning": context.warning,
                 "generated_at": now.isoformat()},
    }
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = "no-store"
    # Where the time went, for the browser's developer tools and bench/sidebar.py.
    timings["total"] = time.perf_counter() - started
    response.headers["Server-Timing"] = ", ".join(f"{name};dur={seconds * 1000:.1f}"
                                                  for name, seconds in timings.items())
    return response


def _page(account: AccountView, installation_id: int, agent_id: int, *, role: str | None = None) -> Response:
    settings = current_app.config["DESKMATE"]
    token, expires_at = issue_session(current_app, account=account, installation_id=installation_id,
                                      agent_id=agent_id, role=role)
    html = _templates.get_template("index.html").render(
        session_token=token, session_expires=expires_at.isoformat(), api_base="/sidebar/api",
        ui_base="/sidebar/ui", zaf_sdk_url=settings.sidebar_zaf_sdk_url, subdomain=account.subdomain)
    response = Response(html, mimetype="text/html")
    sdk_origin = _origin(settings.sidebar_zaf_sdk_url)
    response.headers["Content-Security-Policy"] = "; ".join([
        "default-src 'self'", f"script-src 'self' {sdk_origin}".strip(), "style-src 'self'",
        "img-src 'self' data:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
        "frame-ancestors " + " ".join(_helpdesk_origins(account)),
    ])
    # The page holds a session token: never cached, never sent onwards in a Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _helpdesk_origins(account: AccountView) -> list[str]:
    origins = [f"https://{account.subdomain}.zendesk.com"]
    if account.helpdesk_url not in origins:
        origins.append(account.helpdesk_url)  # the sandbox, or a helpdesk under another host
    return origins


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _account_from_origin(origin: str) -> AccountView | None:
    accounts = active_accounts(current_app)
    host = urlsplit(origin).hostname or ""
    if host.endswith(".zendesk.com"):
        return next((view for view in accounts if view.subdomain == host.removesuffix(".zendesk.com")), None)
    return accounts[0] if len(accounts) == 1 else None


def _locale(value: str) -> str:
    tag = value.strip().replace("_", "-").lower()[:16]
    return tag if tag and all(part.isalnum() for part in tag.split("-")) else "en"


def _pick(record: dict[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any] | None:
    return {name: record.get(name) for name in names} if record else None
