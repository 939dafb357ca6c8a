"""Fixtures for the sidebar: an app key pair, a trusted installation, signed loads and sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.db import storage
from app.events import TicketSnapshot
from app.mirror import Mirror
from app.sidebar.context import store_answer
from app.sidebar.keys import register_installation

INSTALLATION_ID = 77
APP_ID = 12


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    """The RSA key the helpdesk signs this app's loads with (one per test session: generating is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def installation(app, account_id, clock, app_key) -> int:
    """Trust installation 77 of account acme, with the app's public key configured."""
    register_installation(app, account_id=account_id, installation_id=INSTALLATION_ID, app_id=APP_ID,
                          now=clock.now(), public_key_pem=public_pem(app_key))
    return INSTALLATION_ID


def claims(subdomain: str = "acme", installation_id: int = INSTALLATION_ID, user_id: int = 5001,
           ticket_id: int = 42, lifetime: int = 300, **overrides: Any) -> dict[str, Any]:
    """Claims shaped like the helpdesk's signed-URL token."""
    now = int(time.time())
    base = {
        "iss": f"{subdomain}.zendesk.com",
        "aud": f"https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json",
        "iat": now, "exp": now + lifetime, "jti": uuid.uuid4().hex, "sub": str(user_id),
        "context": {"product": "support", "location": "ticket_sidebar", "ticket_id": ticket_id,
                    "user_id": user_id, "user_role": "agent"},
    }
    base.update(overrides)
    return base


@pytest.fixture
def signed_token(app_key) -> Callable[..., str]:
    def make(**overrides: Any) -> str:
        return jwt.encode(claims(**overrides), app_key, algorithm="RS256")

    return make


def session_from(response: Any) -> str:
    """The session token the page carries in its meta tag."""
    html = response.get_data(as_text=True)
    marker = '<meta name="deskmate-session" content="'
    assert marker in html, html[:500]
    return html.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
def sidebar_session(client, installation, signed_token) -> str:
    response = client.post("/sidebar/", data={"token": signed_token()})
    assert response.status_code == 200, response.get_data(as_text=True)
    return session_from(response)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def index_ticket(app, account_id: int, ticket_id: int, *, requester: dict[str, Any] | None = None,
                 organization: dict[str, Any] | None = None, fetched_at: Any = None, **fields: Any) -> None:
    """Put a ticket (and optionally its requester and organization) into the sidebar cache."""
    from datetime import UTC, datetime

    now = fetched_at or datetime.now(UTC)
    ticket = {"id": ticket_id, "subject": f"Ticket {ticket_id}", "status": "open", "priority": "normal",
              "requester_id": (requester or {}).get("id"), "organization_id": (organization or {}).get("id"),
              "group_id": None, "tags": [], "created_at": "2026-11-23T09:00:00Z",
              "updated_at": "2026-11-23T09:00:00Z", **fields}
    answer = {"ticket": ticket, "users": [requester] if requester else [],
              "organizations": [organization] if organization else []}
    with storage.session(app) as session:
        store_answer(session, account_id, answer, now)


def index_snapshot(app, account_id: int, snapshot: TicketSnapshot) -> None:
    with storage.session(app) as session:
        Mirror(session, account_id).note_ticket(snapshot)
