"""Helpdesk accounts: the one configured from the environment, and any others registered with the CLI.

Plugins see an ``AccountView`` (no secrets); only the core's clients and verifiers read ``AccountSecrets``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app.db import storage
from app.models import Account

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class AccountView:
    """What plugins may know about an account."""

    id: int
    subdomain: str
    zendesk_account_id: int | None
    rate_limit_per_minute: int
    settings: dict[str, Any]
    version: str  # changes whenever the row changes; clients are rebuilt on a new version
    zendesk_base_url: str | None = None  # set when the helpdesk is not at <subdomain>.zendesk.com (the sandbox)

    @property
    def helpdesk_url(self) -> str:
        """Where agents open the helpdesk (``/agent/tickets/<id>`` beneath it): the API's host when one is set."""
        if self.zendesk_base_url:
            parts = urlsplit(self.zendesk_base_url)
            return f"{parts.scheme}://{parts.netloc}"
        return f"https://{self.subdomain}.zendesk.com"


@dataclass(frozen=True)
class AccountSecrets:
    zendesk_base_url: str | None
    zendesk_email: str | None
    zendesk_api_token: str | None
    webhook_secret: str | None
    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_base_url: str | None


def _view(account: Account) -> AccountView:
    return AccountView(
        id=account.id,
        subdomain=account.subdomain,
        zendesk_account_id=account.zendesk_account_id,
        rate_limit_per_minute=account.rate_limit_per_minute,
        settings=dict(account.settings or {}),
        version=account.updated_at.isoformat(),
        zendesk_base_url=account.zendesk_base_url,
    )


class _Cache:
    """A short-lived per-process cache: webhook ingestion must not read the accounts table on every call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loaded_at = 0.0
        self.views: dict[int, AccountView] = {}
        self.secrets: dict[int, AccountSecrets] = {}


def _cache(app: Flask) -> _Cache:
    cache = app.extensions.get("deskmate.accounts")
    if cache is None:  # setdefault would build a throw-away cache on every call
        cache = app.extensions.setdefault("deskmate.accounts", _Cache())
    return cache


def _refresh(app: Flask, force: bool = False) -> _Cache:
    cache = _cache(app)
    with cache.lock:
        if not force and time.monotonic() - cache.loaded_at < _CACHE_SECONDS and cache.views:
            return cache
        with Session(storage.reader(app)) as session:
            accounts = session.scalars(sa.select(Account).where(Account.active.is_(True))).all()
            cache.views = {account.id: _view(account) for account in accounts}
            cache.secrets = {
                account.id: AccountSecrets(
                    account.zendesk_base_url, account.zendesk_email, account.zendesk_api_token,
                    account.webhook_secret, account.slack_bot_token, account.slack_signing_secret,
                    account.slack_base_url,
                )
                for account in accounts
            }
        cache.loaded_at = time.monotonic()
        return cache


def invalidate(app: Flask | None = None) -> None:
    _cache(app or current_app).loaded_at = 0.0


def active_accounts(app: Flask | None = None) -> list[AccountView]:
    """Every active account (cached per process for a few seconds; a change made here is seen at once)."""
    return list(_refresh(app or current_app).views.values())


def get_account(account_id: int, app: Flask | None = None) -> AccountView | None:
    """The active account ``account_id``, or None (inactive or unknown)."""
    app = app or current_app
    view = _refresh(app).views.get(account_id)
    return view or _refresh(app, force=True).views.get(account_id)


def account_secrets(app: Flask, account_id: int) -> AccountSecrets:
    secrets = _refresh(app).secrets.get(account_id) or _refresh(app, force=True).secrets.get(account_id)
    if secrets is None:
        raise LookupError(f"no active account {account_id}")
    return secrets


def find_for_webhook(app: Flask, header_account_id: str | None, subdomain: str | None) -> AccountView | None:
    """Match a webhook to its account: by the path's subdomain, the account-id header, or the only account."""

    def lookup(cache: _Cache) -> AccountView | None:
        views = list(cache.views.values())
        if subdomain:
            return next((v for v in views if v.subdomain == subdomain), None)
        if header_account_id and header_account_id.isdigit():
            match = next((v for v in views if v.zendesk_account_id == int(header_account_id)), None)
            if match or any(v.zendesk_account_id is not None for v in views):
                return match  # the header names an account we know, or one we do not serve
        return views[0] if len(views) == 1 else None

    return lookup(_refresh(app)) or lookup(_refresh(app, force=True))


def find_by_slack_team(app: Flask, team_id: str | None) -> AccountView | None:
    cache = _refresh(app)
    views = list(cache.views.values())
    with Session(storage.reader(app)) as session:
        if team_id:
            account_id = session.scalar(sa.select(Account.id).where(Account.slack_team_id == team_id))
            if account_id is not None:
                return cache.views.get(account_id)
    with_slack = [v for v in views if cache.secrets[v.id].slack_signing_secret]
    return with_slack[0] if len(with_slack) == 1 else None


def upsert_account(app: Flask, *, subdomain: str, now: datetime, **fields: Any) -> AccountView:
    """Create or update an account by subdomain; ``None`` values leave a field unchanged."""
    with storage.session(app) as session:
        account = session.scalar(sa.select(Account).where(Account.subdomain == subdomain))
        if account is None:
            account = Account(subdomain=subdomain, created_at=now, updated_at=now, settings={})
            session.add(account)
        for name, value in fields.items():
            if value is not None and getattr(account, name) != value:
                setattr(account, name, value)
        account.updated_at = now
        session.flush()
        view = _view(account)
    invalidate(app)
    return view


def sync_default_account(app: Flask, now: datetime) -> AccountView | None:
    """Write the account described by ``DESKMATE_ZENDESK_*``/``DESKMATE_SLACK_*`` to the database."""
    settings = app.config["DESKMATE"]
    if not settings.zendesk_subdomain:
        return None

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    return upsert_account(
        app,
        subdomain=settings.zendesk_subdomain,
        now=now,
        zendesk_account_id=settings.zendesk_account_id,
        zendesk_base_url=settings.zendesk_base_url,
        zendesk_email=settings.zendesk_email,
        zendesk_api_token=secret(settings.zendesk_api_token),
        webhook_secret=secret(settings.zendesk_webhook_secret),
        slack_bot_token=secret(settings.slack_bot_token),
        slack_signing_secret=secret(settings.slack_signing_secret),
        slack_base_url=settings.slack_base_url,
        rate_limit_per_minute=settings.zendesk_rate_limit_per_minute,
    )
