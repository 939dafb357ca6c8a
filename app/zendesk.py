"""The helpdesk client: zenpy on a session that keeps to the shared rate budget and obeys 429s.

Every call, whether made through zenpy's object API or ``Zendesk.call`` for endpoints zenpy lacks, goes
through ``HelpdeskSession.request``: it points the call at the account's base URL (the sandbox, in
development), takes a token from the account's budget, counts the call, teaches the budget the limit the
answer states (``X-Rate-Limit``), and turns a 429 into a shared block of the bucket. A wait longer than
``rate_budget_max_wait_seconds`` becomes ``BudgetExhausted``, which the work queue turns into a deferral
rather than a failed attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Flask, current_app
from zenpy import Zenpy

from app import metrics
from app.accounts import AccountView
from app.clock import Clock
from app.ratelimit import BudgetExhausted, RateBudget, limit_from_headers

log = logging.getLogger(__name__)

EXTENSION_KEY = "deskmate.zendesk"


class HelpdeskError(RuntimeError):
    """The helpdesk refused a request; ``status`` and ``body`` say how."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        super().__init__(f"{what}: helpdesk answered {status}: {str(body)[:300]}")
        self.status = status
        self.body = body

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status in (408, 409, 429)


class HelpdeskSession(requests.Session):
    """A requests session bound to one account's base URL and rate budget."""

    def __init__(self, base_url: str | None, budget: RateBudget, *, max_wait_seconds: float,
                 timeout_seconds: float = 30.0) -> None:
        super().__init__()
        self._base = urlsplit(base_url.rstrip("/")) if base_url else None
        self.budget = budget
        self._max_wait = max_wait_seconds
        self._timeout = timeout_seconds

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        method_name = method.decode() if isinstance(method, bytes) else method
        target = url.decode() if isinstance(url, bytes) else url
        if self._base is not None:
            parts = urlsplit(target)
            target = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path,
                                 parts.query, parts.fragment))
        kwargs.setdefault("timeout", self._timeout)
        while True:
            self.budget.acquire(self._max_wait)
            started = time.perf_counter()
            response = super().request(method_name, target, *args, **kwargs)
            metrics.HELPDESK_SECONDS.observe(time.perf_counter() - started)
            metrics.HELPDESK_CALLS.labels(method_name.upper(), str(response.status_code)).inc()
            stated = limit_from_headers(response.headers)
            if stated is not None:
                self.budget.learn(stated)
            if response.status_code != 429:
                return response
            metrics.HELPDESK_429.inc()
            retry_after = _retry_after_seconds(response)
            self.budget.block(retry_after)
            if retry_after > self._max_wait:
                raise BudgetExhausted(self.budget._now() + _seconds(retry_after), "helpdesk answered 429")


def _seconds(value: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=value)


def _retry_after_seconds(response: requests.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "10")))
    except ValueError:
        return 10.0


class Zendesk:
    """One account's helpdesk client: ``.zenpy`` for the object API, ``.call`` for JSON endpoints."""

    def __init__(self, account: AccountView, session: HelpdeskSession, email: str, token: str) -> None:
        self.account = account
        self.session = session
        self.api_root = f"https://{account.subdomain}.zendesk.com/api/v2"
        self.zenpy = Zenpy(subdomain=account.subdomain, email=email, token=token, session=session)
        # zenpy caches objects in-process; Deskmate keeps its own cache in the database, keyed by account.
        self.zenpy.disable_caching()
        session.auth = (f"{email}/token", token)
        self._own_user_id: int | None = None
        self._own_user_retry_at = 0.0
        self._own_user_lock = threading.Lock()

    def own_user_id(self) -> int | None:
        """The id of the helpdesk user Deskmate acts as (``GET /users/me``), or None while it is not known.

        Looked up once per client and only when the rate budget has room (it is never worth waiting for); a
        failed look-up is tried again a minute later.
        """
        if self._own_user_id is not None or time.monotonic() < self._own_user_retry_at:
            return self._own_user_id
        with self._own_user_lock:
            if self._own_user_id is None and time.monotonic() >= self._own_user_retry_at:
                self._own_user_retry_at = time.monotonic() + 60
                if self.has_spare_budget():
                    try:
                        self._own_user_id = int(self.call("GET", "/users/me", what="who Deskmate is")["user"]["id"])
                    except (HelpdeskError, BudgetExhausted, requests.RequestException, KeyError, TypeError,
                            ValueError) as exc:
                        log.info("could not learn Deskmate's own helpdesk user yet: %s", exc)
        return self._own_user_id

    def has_spare_budget(self, share: float = 0.5) -> bool:
        """True when at least ``share`` of the rate budget is free: optional calls may go ahead."""
        return self.session.budget.spare() >= share

    def call(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, what: str | None = None) -> Any:
        """Call ``/api/v2{path}`` and return the decoded JSON body.

        Raises:
            HelpdeskError: for any answer other than 2xx (``retryable`` tells a 5xx from a 4xx).
            BudgetExhausted: the rate budget or a 429 asks to come back later.
        """
        response = self.session.request(method, self.api_root + path, json=json, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                body: Any = response.json()
            except ValueError:
                body = response.text
            raise HelpdeskError(response.status_code, body, what or f"{method} {path}")
        if not response.content:
            return None
        return response.json()


class ZendeskClients:
    """The extension that hands out one ``Zendesk`` per account (built lazily, rebuilt when it changes).

    Config read by ``init_app``: ``rate_budget_share`` and ``rate_budget_max_wait_seconds``.
    """

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("ZendeskClients.init_app was called twice on the same app")
        app.extensions[EXTENSION_KEY] = {"clients": {}, "lock": threading.Lock()}

    def for_account(self, account: AccountView, app: Flask | None = None) -> Zendesk:
        app = app or current_app
        from app.accounts import account_secrets
        from app.db import storage

        state = app.extensions[EXTENSION_KEY]
        cache_key = (account.id, account.version)
        with state["lock"]:
            client = state["clients"].get(cache_key)
            if client is not None:
                return client
            settings = app.config["DESKMATE"]
            secrets = account_secrets(app, account.id)
            if not (secrets.zendesk_email and secrets.zendesk_api_token):
                raise RuntimeError(f"account {account.subdomain} has no helpdesk credentials")
            budget = RateBudget(storage.engine(app), account.id, per_minute=account.rate_limit_per_minute,
                                share=settings.rate_budget_share, now=Clock().now)
            session = HelpdeskSession(secrets.zendesk_base_url, budget,
                                      max_wait_seconds=settings.rate_budget_max_wait_seconds,
                                      timeout_seconds=settings.zendesk_timeout_seconds)
            client = Zendesk(account, session, secrets.zendesk_email, secrets.zendesk_api_token)
            state["clients"] = {key: value for key, value in state["clients"].items() if key[0] != account.id}
            state["clients"][cache_key] = client
            return client


zendesk_clients = ZendeskClients()
