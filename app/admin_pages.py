"""Admin HTML pages: a session started from an admin API token, CSRF on every form, one shared layout.

A session is a signed cookie naming a row of ``admin_sessions``: logging out deletes the row, so a copy of the
cookie taken before opens nothing afterwards, and revoking the API token ends its sessions too.

Plugins add pages with ``@admin_page("Title")`` under ``require_admin_page``; the layout's navigation lists
every registered page. Forms include ``{{ csrf_field() }}``; scripts send the token as ``X-CSRF-Token``.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    Request,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import gettext, lazy_gettext, ngettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup
from sqlalchemy.orm import Session

from app import inbox, workqueue
from app.accounts import get_account
from app.clock import get_clock
from app.db import storage
from app.models import AdminSession, ApiToken
from app.web import hash_token

bp = Blueprint("admin_pages", __name__, url_prefix="/admin")
F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEY = "deskmate_admin"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How long an admin page session lasts after sign-in: its cookie and its server-side row alike.
SESSION_LIFETIME = timedelta(hours=8)

# Views registered for the navigation, with their titles; metadata only, the same for every app.
_pages: dict[Callable[..., Any], str | LazyString] = {}


def admin_page(title: str | LazyString) -> Callable[[F], F]:
    """Put a view in the admin navigation (apply it below ``require_admin_page``).

    Give ``lazy_gettext("Title")`` (from ``app.api``) so the menu reads in each admin's language.
    """

    def register(view: F) -> F:
        _pages[view] = title
        return view

    return register


def nav_pages(app: Flask) -> list[tuple[str, str]]:
    """The registered pages this app serves, as (title, url), in the order their plugins were enabled."""
    links = []
    for rule in app.url_map.iter_rules():
        title = _pages.get(inspect.unwrap(app.view_functions[rule.endpoint]))
        if title and "GET" in (rule.methods or ()) and not rule.arguments:
            links.append((str(title), rule.rule))  # a lazy title is translated here, per request
    return links


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def csrf_matches(sent: str) -> bool:
    """True when ``sent`` is this session's CSRF token; a session that has none yet matches nothing."""
    expected = session.get("csrf")
    return bool(expected) and hmac.compare_digest(sent, str(expected))


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf_token())


def require_admin_page(view: F) -> F:
    """Allow the page only in an admin session; check the CSRF token on unsafe methods; sets ``g.account``."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state: dict[str, Any] = session.get(SESSION_KEY) or {}
        account = get_account(state["account_id"]) if state else None
        if account is None or not _session_still_valid(state):
            session.pop(SESSION_KEY, None)
            return redirect(url_for("admin_pages.login", next=request.full_path))
        if request.method in UNSAFE_METHODS:
            sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
            if not csrf_matches(sent):
                abort(403, gettext("This form has expired (or came from another page). Reload the page and try again."))
        g.account = account
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _session_still_valid(state: dict[str, Any]) -> bool:
    """The cookie's session row exists, has not expired, and its API token is not revoked."""
    session_id = state.get("sid")
    if not isinstance(session_id, str):
        return False  # a cookie from before sessions were kept on the server: sign in again
    with storage.session() as db:
        found = db.scalar(
            sa.select(AdminSession.session_hash)
            .join(ApiToken, ApiToken.id == AdminSession.token_id)
            .where(AdminSession.session_hash == hash_token(session_id),
                   AdminSession.account_id == state.get("account_id"),
                   AdminSession.token_id == state.get("token_id"),
                   AdminSession.expires_at > get_clock().now(),
                   ApiToken.revoked_at.is_(None)))
    return found is not None


def _start_session(db: Session, token: ApiToken) -> str:
    """A new server-side session for ``token``; returns the id the cookie carries (only its hash is stored)."""
    now = get_clock().now()
    # Sign-ins are rare, so each one deletes whatever sessions have expired: no timer needed.
    db.execute(sa.delete(AdminSession).where(AdminSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    db.add(AdminSession(session_hash=hash_token(session_id), account_id=token.account_id, token_id=token.id,
                        created_at=now, expires_at=now + SESSION_LIFETIME))
    return session_id


# How browsers read a URL (WHATWG URL standard): C0 controls and spaces around it are stripped, tabs and
# newlines anywhere are dropped, and a backslash counts as a slash.
_URL_EDGES = "".join(chr(code) for code in range(0x21))
_URL_DROPPED = str.maketrans("", "", "\t\n\r")


def local_target(value: str | None) -> str | None:
    """``value`` as a path on this site to go to after sign-in, or None when a browser could read it as another
    site: ``/<tab>/evil.example`` and ``/\\evil.example`` are both ``//evil.example``, which would make the
    login an open redirect sending a freshly signed-in admin anywhere."""
    if not value:
        return None
    target = value.strip(_URL_EDGES).translate(_URL_DROPPED).replace("\\", "/")
    if not target.startswith("/") or target.startswith("//") or any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Deliberately public: the form that turns an admin API token into an admin session."""
    error = None
    token = ""
    if request.method == "POST":
        sent = request.form.get("csrf_token") or ""
        token = (request.form.get("token") or "").strip()
        if not csrf_matches(sent):
            error = gettext("The sign-in form was open too long and expired. Press “Sign in” again.")
        else:
            with storage.session() as db:
                row = db.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
                if row is None or row.revoked_at is not None:
                    error = gettext("This token is not valid: it may be mistyped or revoked. "
                                    "Create a new one with the command above.")
                else:
                    row.last_used_at = get_clock().now()
                    session.clear()
                    session[SESSION_KEY] = {"account_id": row.account_id, "token_id": row.id,
                                            "sid": _start_session(db, row)}
                    session.permanent = True
            if error is None:
                return redirect(local_target(request.args.get("next")) or url_for("admin_pages.index"))
    return render_template("admin/login.html", error=error, token=token if error else ""), (401 if error else 200)


@bp.post("/logout")
@require_admin_page
def logout() -> Any:
    session_id = (session.get(SESSION_KEY) or {}).get("sid")
    if isinstance(session_id, str):
        with storage.session() as db:
            db.execute(sa.delete(AdminSession).where(AdminSession.session_hash == hash_token(session_id)))
    session.clear()
    return redirect(url_for("admin_pages.login"))


@bp.get("/")
@require_admin_page
def index() -> Any:
    """What matters now: the core's cards (failed work, the worker) and every plugin's ``admin_summary``."""
    from app import admin_home

    now = get_clock().now()
    window = timedelta(seconds=current_app.config["DESKMATE"].health_failed_window_seconds)
    db = storage.sessions()()
    try:
        cards = [admin_home.failed_work_card(db, g.account.id), admin_home.worker_card(db, now, now - window),
                 admin_home.helpdesk_api_card(current_app._get_current_object(),  # type: ignore[attr-defined]
                                              g.account),
                 *admin_home.plugin_cards(current_app._get_current_object(),  # type: ignore[attr-defined]
                                             g.account, db)]
    finally:
        db.close()  # read only: nothing to commit
    return render_template("admin/index.html", cards=cards)


@bp.route("/work", methods=["GET", "POST"])
@require_admin_page
@admin_page(lazy_gettext("Failed work"))
def work() -> Any:
    """Failed work items and failed inbound events, each list with its retry form."""
    from app.admin_work import failed_rows

    problem: dict[str, str] = {}
    selected: set[int] = set()
    if request.method == "POST":
        what = "events" if request.form.get("what") == "events" else "items"
        # Ids beyond a BIGINT name no row: left out here rather than refused by the database.
        selected = {int(value) for value in request.form.getlist("ids")
                    if value.isascii() and value.isdigit() and int(value) < 2**63}
        retry_all = request.form.get("scope") == "all"
        if not retry_all and not selected:
            problem[what] = (gettext("Nothing was retried: tick the events to retry, or press “Retry all events”.")
                             if what == "events" else
                             gettext("Nothing was retried: tick the work items to retry, or press “Retry all”."))
        else:
            ids = None if retry_all else sorted(selected)
            with storage.session() as db:
                if what == "events":
                    count = inbox.retry_failed(db, account_id=g.account.id, event_ids=ids, now=get_clock().now())
                    flash(ngettext("%(num)d event will be handled again.", "%(num)d events will be handled again.",
                                   count), "core-notice")
                else:
                    count = workqueue.retry_failed(db, account_id=g.account.id, item_ids=ids, now=get_clock().now())
                    flash(ngettext("%(num)d work item will be tried again.",
                                   "%(num)d work items will be tried again.", count), "core-notice")
            return redirect(url_for("admin_pages.work"))
    with storage.session() as db:
        items, item_total, events, event_total = failed_rows(db, g.account)
    return render_template("admin/work.html", items=items, item_total=item_total, events=events,
                           event_total=event_total, problem=problem, selected=selected), (400 if problem else 200)


class _CookieOnlySessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for requests that carry no session cookie.

    Only admin pages use sessions; webhooks, the widget and the sidebar API never send the cookie, and
    building the signing serializer for each of them cost about 5% of a webhook's CPU time under load.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    settings = app.config["DESKMATE"]
    app.session_interface = _CookieOnlySessionInterface()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field,
                                 admin_nav=lambda: nav_pages(app))
    app.register_blueprint(bp)
