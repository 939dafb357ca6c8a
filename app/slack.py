"""The Slack client: slack-sdk's WebClient per account, with retries for connection errors and short 429s.

A ``ratelimited`` answer whose ``Retry-After`` is longer than a couple of seconds is not slept through inside
the worker: it surfaces as ``SlackApiError`` and the work queue defers the item to that moment.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, current_app
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from app import metrics
from app.accounts import AccountView, account_secrets

EXTENSION_KEY = "deskmate.slack"


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retry a 429 only when Slack asks for a short wait; longer ones are deferred by the work queue."""

    def __init__(self, max_wait_seconds: float = 2.0, max_retry_count: int = 2) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait_seconds = max_wait_seconds

    def _can_retry(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
                   error: Exception | None = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        metrics.SLACK_429.inc()
        header = response.headers.get("retry-after") or response.headers.get("Retry-After") or ["1"]
        value = header[0] if isinstance(header, list) else header
        try:
            wait = float(value)
        except ValueError:
            return False
        return wait <= self.max_wait_seconds


class SlackClients:
    """The extension that hands out one WebClient per account."""

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("SlackClients.init_app was called twice on the same app")
        app.extensions[EXTENSION_KEY] = {"clients": {}, "lock": threading.Lock()}

    def for_account(self, account: AccountView, app: Flask | None = None) -> WebClient:
        app = app or current_app
        state = app.extensions[EXTENSION_KEY]
        key = (account.id, account.version)
        with state["lock"]:
            client = state["clients"].get(key)
            if client is None:
                secrets = account_secrets(app, account.id)
                if not secrets.slack_bot_token:
                    raise RuntimeError(f"account {account.subdomain} has no Slack bot token")
                kwargs: dict[str, Any] = {"token": secrets.slack_bot_token, "timeout": 15}
                if secrets.slack_base_url:
                    kwargs["base_url"] = secrets.slack_base_url.rstrip("/") + "/"
                client = WebClient(**kwargs)
                client.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=2),
                                         ShortRateLimitRetryHandler()]
                state["clients"] = {k: v for k, v in state["clients"].items() if k[0] != account.id}
                state["clients"][key] = client
            return client

    def has_slack(self, account: AccountView, app: Flask | None = None) -> bool:
        return bool(account_secrets(app or current_app, account.id).slack_bot_token)


slack_clients = SlackClients()
