"""Pytest fixtures and helpers for testing against the emulators over real HTTP.

Use them from any test suite with `pytest_plugins = ["sandbox.testing"]` in a conftest, or import the
fixtures. Every server binds 127.0.0.1 on an ephemeral port and is stopped after the test.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask, Response, request

from .server import ServerThread
from .slack import SlackState
from .slack import create_app as create_slack_app
from .zendesk import HelpdeskState, create_app

ADMIN_EMAIL = "admin@deskmate-sandbox.example"
API_TOKEN = "sandbox-api-token"
OAUTH_TOKEN = "sandbox-oauth-token"
SLACK_BOT_TOKEN = "xoxb-sandbox-token"
SLACK_SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class RunningHelpdesk:
    """A helpdesk emulator served over HTTP, with an authenticated session for its API."""

    state: HelpdeskState
    server: ServerThread
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return self.server.url

    @property
    def port(self) -> int:
        """The port the emulator listens on."""
        return self.server.port

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call `/api/v2{path}` as the admin (basic `{email}/token:{api_token}` auth)."""
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, f"{self.url}/api/v2{path}", **kwargs)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call `/__sandbox{path}` (unmetered, unauthenticated)."""
        kwargs.setdefault("timeout", 30)
        return requests.request(method, f"{self.url}/__sandbox{path}", **kwargs)


@dataclass
class RunningSlack:
    """A Slack emulator served over HTTP."""

    state: SlackState
    server: ServerThread

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return self.server.url

    @property
    def api_url(self) -> str:
        """What to pass as slack-sdk's `base_url` (ends with `/api/`)."""
        return self.server.url + "/api/"

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call `/__sandbox{path}`."""
        kwargs.setdefault("timeout", 30)
        return requests.request(method, f"{self.url}/__sandbox{path}", **kwargs)


@dataclass
class ReceivedRequest:
    """One request a `WebhookReceiver` got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class WebhookReceiver:
    """A local HTTP endpoint that records every request; `statuses` queues the answers to give."""

    def __init__(self) -> None:
        self.requests: list[ReceivedRequest] = []
        # Answered in order, then 200: a status, or a status and headers (`(503, {"Retry-After": "1"})`).
        self.statuses: list[int | tuple[int, dict[str, str]]] = []
        self._cond = threading.Condition()
        app = Flask("webhook_receiver")

        @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def receive(path: str) -> Response:
            with self._cond:
                self.requests.append(
                    ReceivedRequest(request.method, "/" + path, dict(request.headers), request.get_data())
                )
                answer = self.statuses.pop(0) if self.statuses else 200
                self._cond.notify_all()
            status, headers = answer if isinstance(answer, tuple) else (answer, {})
            return Response("{}", status=status, mimetype="application/json", headers=headers)

        self.server = ServerThread(app)

    @property
    def url(self) -> str:
        """URL to give Zendesk as the webhook endpoint."""
        return self.server.url + "/hook"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Wait until at least `count` requests arrived; returns them (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} webhook requests, got {len(self.requests)}")
                self._cond.wait(remaining)
            return list(self.requests)


def start_helpdesk(state: HelpdeskState | None = None, **options: Any) -> RunningHelpdesk:
    """Start a helpdesk emulator on an ephemeral port (stop it with `.server.stop()` and `.state.close()`)."""
    state = state or HelpdeskState(**options)
    server = ServerThread(create_app(state)).start()
    running = RunningHelpdesk(state, server)
    running.session.auth = (f"{state.admin_email}/token", state.api_token)
    return running


def start_slack(state: SlackState | None = None, **options: Any) -> RunningSlack:
    """Start a Slack emulator on an ephemeral port (stop it with `.server.stop()`)."""
    state = state or SlackState(**options)
    return RunningSlack(state, ServerThread(create_slack_app(state)).start())


@pytest.fixture
def helpdesk_state() -> Iterator[HelpdeskState]:
    """A fresh, empty helpdesk account with fast jobs and webhook retries."""
    state = HelpdeskState(job_delay=0.05, delivery_backoff=0.05)
    yield state
    state.close()


@pytest.fixture
def helpdesk(helpdesk_state: HelpdeskState) -> Iterator[RunningHelpdesk]:
    """The helpdesk emulator served over HTTP on an ephemeral port."""
    running = start_helpdesk(helpdesk_state)
    yield running
    running.server.stop()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A recording HTTP endpoint for webhook deliveries."""
    receiver = WebhookReceiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


@pytest.fixture
def zenpy_client(helpdesk: RunningHelpdesk, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An unmodified zenpy client pointed at the emulator through ZENPY_FORCE_* variables."""
    from zenpy import Zenpy

    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", f"127.0.0.1:{helpdesk.port}")
    return Zenpy(
        subdomain=helpdesk.state.subdomain, email=helpdesk.state.admin_email, token=helpdesk.state.api_token
    )


@pytest.fixture
def slack_state() -> SlackState:
    """A fresh Slack workspace with the default channels."""
    return SlackState()


@pytest.fixture
def slack(slack_state: SlackState) -> Iterator[RunningSlack]:
    """The Slack emulator served over HTTP on an ephemeral port."""
    running = start_slack(slack_state)
    yield running
    running.server.stop()


@pytest.fixture
def slack_client(slack: RunningSlack) -> Any:
    """An unmodified slack-sdk WebClient pointed at the emulator."""
    from slack_sdk import WebClient

    return WebClient(token=SLACK_BOT_TOKEN, base_url=slack.api_url)
