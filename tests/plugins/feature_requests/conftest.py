"""Fixtures for the feature-request plugin: the plugin alone, requests made through its admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app import inbox
from app.db import storage
from plugins.feature_requests.models import Link
from tests.conftest import ticket_event

API = "/admin/api/feature-requests"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["plugins"] = ["feature_requests"]
    return app_config


@pytest.fixture
def api(client: Any, admin_headers: dict[str, str]) -> Callable[..., Any]:
    """Call the admin API: ``api("POST", "", json={...})`` -> (status, body)."""

    def call(method: str, path: str = "", **kwargs: Any) -> tuple[int, Any]:
        answer = client.open(API + path, method=method, headers=admin_headers, **kwargs)
        return answer.status_code, answer.get_json()

    return call


@pytest.fixture
def new_request(api: Callable[..., Any]) -> Callable[..., int]:
    """Create a feature request through the admin API and return its id."""

    def create(title: str = "4K downloads", description: str = "Download videos in 4K", **fields: Any) -> int:
        status, body = api("POST", "", json={"title": title, "description": description, **fields})
        assert status == 201, body
        return int(body["id"])

    return create


@pytest.fixture
def ticket_webhook(post_webhook: Callable[..., Any]) -> Callable[..., Any]:
    """Send a signed helpdesk ticket event (``ticket_event`` shape) through /webhooks/zendesk."""

    def send(ticket_id: int, event_type: str = "ticket.created", *, event: dict[str, Any] | None = None,
             time: str | None = None, **detail: Any) -> None:
        body = ticket_event(ticket_id, event_type, event=event, **detail)
        if time:
            body["time"] = time
        answer = post_webhook(body)
        assert answer.status_code == 202, answer.get_data(as_text=True)

    return send


@pytest.fixture
def routed(app: Flask, account_id: int, clock: Any) -> Callable[..., None]:
    """Store a ``routing.ticket_routed`` event exactly as the routing plugin would emit it."""

    def emit(ticket_id: int, requester_id: int, segment: str, organization_id: int | None = None) -> None:
        payload = {"ticket": None, "ticket_id": ticket_id, "time": clock.now().isoformat(),
                   "data": {"segment": segment, "requester_id": requester_id,
                            "organization_id": organization_id}}
        inbox.store(app, account_id=account_id, event_type="routing.ticket_routed", ticket_id=ticket_id,
                    event_key=f"routing:routed:{ticket_id}:{segment}", invocation_id=None, payload=payload,
                    now=clock.now(), source="routing")

    return emit


def links(app: Flask) -> list[tuple[int, int, int | None, str]]:
    """(request, ticket, requester, via) of every link."""
    with storage.session(app) as session:
        ordered = sa.select(Link).order_by(Link.feature_request_id, Link.ticket_id)
        return [(link.feature_request_id, link.ticket_id, link.requester_id, link.linked_via)
                for link in session.scalars(ordered)]
