"""Fixtures that run the helpdesk and Slack emulators on loopback and point the Deskmate app at them.

Requesting ``helpdesk`` (or ``slack_emulator``) in a test is enough: the ``app`` fixture sees it and takes
the emulator's URL and credentials. The helpdesk emulator records every API request it receives, and the test
fails when one does not conform to Zendesk's OpenAPI document. ``deskmate_server`` serves the app over real
HTTP and registers its webhook in the helpdesk emulator exactly as ``flask zendesk install`` would, so that
tickets created in the emulator arrive, signed, at ``/webhooks/zendesk``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

SUBDOMAIN = "acme"
ACCOUNT_ID = 9001
ADMIN_EMAIL = "deskmate@acme.example"
API_TOKEN = "zendesk-api-token"
SLACK_BOT_TOKEN = "xoxb-sandbox-token"
TICKET_EVENT_TYPES = [
    "created", "status_changed", "priority_changed", "group_assignment_changed", "agent_assignment_changed",
    "tags_changed", "comment_added", "custom_field_changed", "organization_changed", "requester_changed",
]


@dataclass
class Emulator:
    """A running emulator: its state object (for direct inspection) and its base URL."""

    state: Any
    url: str
    server: Any

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the emulator over HTTP (sandbox control endpoints need no credentials)."""
        response = requests.request(method, self.url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def api(self, method: str, path: str, *, as_email: str = ADMIN_EMAIL, **kwargs: Any) -> Any:
        """Call the helpdesk API as Deskmate's admin user, or as another staff member (``as_email``).

        API tokens are account-wide: ``agent@example/token`` acts as that agent, and the helpdesk's events name
        them as the actor. Deskmate treats changes by its own user as echoes of its own updates, so a test
        standing in for an agent's change acts as an agent.
        """
        response = requests.request(method, f"{self.url}/api/v2{path}", auth=(f"{as_email}/token", API_TOKEN),
                                    timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def agent(self, email: str = "agent@acme.example", name: str = "Agent Smith") -> str:
        """An agent of the helpdesk (created once); returns the email to pass as ``as_email``."""
        if self.state.user_by_email(email) is None:
            self.api("POST", "/users.json", json={"user": {"name": name, "email": email, "role": "agent"}})
        return email

    def stats(self) -> dict[str, Any]:
        return self.call("GET", "/__sandbox/stats")  # type: ignore[no-any-return]

    def faults(self, **settings: Any) -> Any:
        return self.call("POST", "/__sandbox/faults", json=settings)

    def flush_deliveries(self, seconds: float = 10) -> Any:
        return self.call("POST", "/__sandbox/deliveries/flush", json={"timeout": seconds})


@pytest.fixture
def helpdesk() -> Iterator[Emulator]:
    """The helpdesk emulator for account ``acme`` with Deskmate's credentials, fast jobs, no seed data."""
    from sandbox.server import ServerThread
    from sandbox.zendesk import HelpdeskState, create_app

    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=ADMIN_EMAIL,
                          admin_name="Deskmate", api_token=API_TOKEN, job_delay=0.05, delivery_backoff=0.1)
    received = state.record_requests()
    server = ServerThread(create_app(state)).start()
    yield Emulator(state, server.url, server)
    server.stop()
    state.close()
    assert_requests_conform(received)


def assert_requests_conform(received: list[Any]) -> None:
    """Every request the helpdesk emulator received in a test, Deskmate's above all, is one Zendesk's OpenAPI
    document allows (path, method, query parameters, JSON body); the document's known gaps are listed in
    tests/zendesk_openapi.py."""
    from tests.zendesk_openapi import nonconforming_requests, zendesk_openapi

    if not received:
        return
    problems = nonconforming_requests(zendesk_openapi(), received)
    if problems:
        pytest.fail("requests the helpdesk received that Zendesk's OpenAPI document refuses:\n"
                    + "\n".join(problems), pytrace=False)


@pytest.fixture
def slack_emulator() -> Iterator[Emulator]:
    """The Slack emulator with Deskmate's bot token and the test signing secret."""
    from sandbox.server import ServerThread
    from sandbox.slack import SlackState, create_app
    from tests.conftest import SLACK_SIGNING_SECRET

    state = SlackState(bot_token=SLACK_BOT_TOKEN, signing_secret=SLACK_SIGNING_SECRET)
    server = ServerThread(create_app(state)).start()
    yield Emulator(state, server.url, server)
    server.stop()


@pytest.fixture
def sandbox_config(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> dict[str, Any]:
    """Point the app's account at whichever emulators the test requested."""
    if "helpdesk" in request.fixturenames:
        desk: Emulator = request.getfixturevalue("helpdesk")
        app_config.update(zendesk_base_url=desk.url, zendesk_subdomain=SUBDOMAIN, zendesk_account_id=ACCOUNT_ID,
                          zendesk_email=ADMIN_EMAIL, zendesk_api_token=API_TOKEN)
    if "slack_emulator" in request.fixturenames:
        slack: Emulator = request.getfixturevalue("slack_emulator")
        app_config.update(slack_base_url=slack.url + "/api/", slack_bot_token=SLACK_BOT_TOKEN)
    return app_config


@pytest.fixture
def deskmate_server(app: Any, helpdesk: Emulator, clock: Any) -> Iterator[Any]:
    """Serve the app on loopback and subscribe it to the emulator's ticket events (signed webhooks)."""
    from app.accounts import upsert_account
    from sandbox.server import ServerThread

    server = ServerThread(app).start()
    webhook = helpdesk.api("POST", "/webhooks", json={"webhook": {
        "name": "Deskmate", "status": "active", "endpoint": f"{server.url}/webhooks/zendesk",
        "http_method": "POST", "request_format": "json",
        "subscriptions": [f"zen:event-type:ticket.{kind}" for kind in TICKET_EVENT_TYPES]}})["webhook"]
    secret = helpdesk.api("GET", f"/webhooks/{webhook['id']}/signing_secret")["signing_secret"]["secret"]
    upsert_account(app, subdomain=SUBDOMAIN, now=clock.now(), webhook_secret=secret)
    yield server
    server.stop()


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, message: str = "condition") -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")
