"""Public routes: ``/news/active.json``, ``/news/widget.js``, ``/news/feed.atom``. No credentials, by design.

They are hit hard exactly when an incident is published, so the usual answer is bytes from the in-process
cache (``cache.NewsCache``) with a strong ETag, a 304 when the browser or CDN already has them, and
``Cache-Control`` that lets a CDN absorb the load for a few seconds. Help-center pages on other origins may
read ``active.json`` only when their origin is configured for the account (``allowed_origins``).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, request

from app.api import (
    AccountView,
    active_accounts,
    current_time,
    json_error,
    read_connection,
    settings_for,
    transaction,
)
from plugins.breaking_news import public
from plugins.breaking_news.cache import NewsCache, Rendered, make_etag
from plugins.breaking_news.models import NewsVersion
from plugins.breaking_news.settings import BreakingNewsSettings, normalise_locale

PLUGIN = "breaking_news"
CACHE_KEY = "deskmate.breaking_news.cache"
SETTINGS_KEY = "deskmate.breaking_news.settings"
WIDGET_KEY = "deskmate.breaking_news.widget"
WIDGET_PATH = Path(__file__).parent / "static" / "widget.js"
FEED_VALID = timedelta(hours=1)

bp = Blueprint("breaking_news_public", __name__)


def news_cache(app: Flask | None = None) -> NewsCache:
    """This app's cache of rendered public documents (one per process)."""
    app = app or current_app
    cache = app.extensions.get(CACHE_KEY)
    if cache is None:
        cache = app.extensions.setdefault(CACHE_KEY, NewsCache())
    return cache


def account_settings(app: Flask, account: AccountView) -> BreakingNewsSettings:
    """The account's validated settings, rebuilt only when the account row changes."""
    known: dict[int, tuple[str, BreakingNewsSettings]] = app.extensions.setdefault(SETTINGS_KEY, {})
    cached = known.get(account.id)
    if cached is not None and cached[0] == account.version:
        return cached[1]
    settings = settings_for(PLUGIN, BreakingNewsSettings, account, app)
    known[account.id] = (account.version, settings)
    return settings


def _version_query(account_id: int) -> sa.Select[tuple[int]]:
    return sa.select(NewsVersion.version).where(NewsVersion.account_id == account_id)


def _read_version(app: Flask, account_id: int) -> int:
    with read_connection(app) as connection:
        return connection.scalar(_version_query(account_id)) or 0


@lru_cache(maxsize=256)
def _query(raw: str) -> tuple[str | None, str | None, bool]:
    """``(account, locale, locale_is_valid)`` of a query string; widgets send the same few again and again.

    Only those two fields are read; any others (a CDN's or a page's cache busters) are ignored, however many.
    """
    ours = "&".join(part for part in raw.split("&") if part.startswith(("account=", "locale=")))
    args = parse_qs(ours)
    account = args["account"][0] if "account" in args else None
    value = args["locale"][0] if "locale" in args else None
    if not value:
        return account, None, True
    locale = normalise_locale(value[:32])
    return account, locale, locale is not None


def _account() -> AccountView | tuple[Response, int]:
    """The account a public request is for: ``?account=<subdomain>``, or the only one served here."""
    accounts = active_accounts()
    subdomain = _query(request.environ.get("QUERY_STRING", ""))[0]
    if subdomain:
        for account in accounts:
            if account.subdomain == subdomain:
                return account
        return json_error(404, "no such account")
    if len(accounts) == 1:
        return accounts[0]
    return json_error(400, "name the account with ?account=<subdomain>")


def _locale() -> str | tuple[Response, int] | None:
    _, locale, valid = _query(request.environ.get("QUERY_STRING", ""))
    return locale if valid else json_error(400, "locale must be a language tag like en or pt-br")


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks (a CDN may have weakened our ETag)."""
    if if_none_match == etag:
        return True
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in if_none_match.split(","))


def _cors_headers(settings: BreakingNewsSettings) -> list[tuple[str, str]]:
    """``Vary: Origin`` always; ``Access-Control-Allow-Origin`` only for the account's configured origins."""
    origin = request.headers.get("Origin")
    if origin and origin.lower() in settings.allowed_origins:
        return [("Vary", "Origin"), ("Access-Control-Allow-Origin", origin)]
    return [("Vary", "Origin")]


def _send(document: Rendered, content_type: str, cache_control: str,
          settings: BreakingNewsSettings | None) -> Response:
    # Headers as one list: werkzeug's per-header assignment is the costliest step of this hot path.
    headers = [("ETag", document.etag), ("Cache-Control", cache_control),
               ("X-Content-Type-Options", "nosniff")]
    if settings is not None:
        headers += _cors_headers(settings)
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _matches(if_none_match, document.etag):
        return Response(status=304, headers=headers)
    headers.append(("Content-Type", content_type))
    return Response(document.body, headers=headers)


def _document(app: Flask, account: AccountView, settings: BreakingNewsSettings, kind: str,
              locale: str | None) -> Rendered:
    """The cached document, or a fresh render stored for the next requests."""
    cache = news_cache(app)
    now = current_time(app)
    key = (kind, locale or "", account.version)  # settings (default locale, labels) change the bytes too
    document = cache.get(account.id, key, now, lambda account_id: _read_version(app, account_id))
    if document is not None:
        return document
    generation = cache.generation(account.id)
    with transaction(app) as session:
        version = session.scalar(_version_query(account.id)) or 0
        if kind == "active":
            body, valid_until = public.render_active(session, account, settings, locale, now)
        else:
            # The deployment's public address, not the request's Host: the cached feed is the same for all.
            public_url = app.config["DESKMATE"].public_url.rstrip("/")
            self_url = f"{public_url}/news/feed.atom?account={account.subdomain}"
            body = public.render_feed(session, account, settings, locale, now, self_url)
            valid_until = now + FEED_VALID
    document = Rendered(body, make_etag(version, body), version, valid_until)
    cache.put(account.id, key, document, generation)
    return document


@bp.get("/news/active.json", provide_automatic_options=False)
def active() -> Any:
    """Deliberately public: the incidents a help center shows now, in the asked locale; the quick links."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    account = _account()
    if not isinstance(account, AccountView):
        return account
    locale = _locale()
    if isinstance(locale, tuple):
        return locale
    settings = account_settings(app, account)
    document = _document(app, account, settings, "active", locale)
    cache_control = (f"public, max-age={settings.cache_max_age_seconds}, "
                     f"stale-while-revalidate={settings.stale_while_revalidate_seconds}")
    return _send(document, "application/json", cache_control, settings)


@bp.route("/news/active.json", methods=["OPTIONS"])
def active_preflight() -> Any:
    """Deliberately public: CORS preflight, granted to the account's configured origins only."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    account = _account()
    if not isinstance(account, AccountView):
        return account
    response = Response(status=204, headers=_cors_headers(account_settings(app, account)))
    if "Access-Control-Allow-Origin" in response.headers:
        response.headers["Access-Control-Allow-Methods"] = "GET"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.get("/news/feed.atom")
def feed() -> Any:
    """Deliberately public: an Atom feed of recent incidents with their timelines."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    account = _account()
    if not isinstance(account, AccountView):
        return account
    locale = _locale()
    if isinstance(locale, tuple):
        return locale
    settings = account_settings(app, account)
    document = _document(app, account, settings, "feed", locale)
    return _send(document, "application/atom+xml; charset=utf-8", "public, max-age=60", None)


@bp.get("/news/widget.js")
def widget() -> Any:
    """Deliberately public: the help-center script (static; the same for every account)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    document = app.extensions.get(WIDGET_KEY)
    if document is None:
        body = WIDGET_PATH.read_bytes()
        document = Rendered(body, f'"{hashlib.sha256(body).hexdigest()[:20]}"', 0, None)
        app.extensions[WIDGET_KEY] = document
    return _send(document, "text/javascript; charset=utf-8",
                 "public, max-age=300, stale-while-revalidate=86400", None)
