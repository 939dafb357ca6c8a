"""The app's public key comes from the helpdesk on the first signed load, once, and forged tokens cannot
make Deskmate ask for it again and again."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.sidebar.keys import register_installation
from tests.sandbox_fixtures import Emulator


@pytest.fixture(autouse=True)
def _core_only(app_config):
    app_config["plugins"] = []


def key_calls(helpdesk: Emulator) -> int:
    return sum(count for endpoint, count in helpdesk.stats()["by_endpoint"].items() if "public_key" in endpoint)


@pytest.fixture
def installation(app, helpdesk, account_id, clock) -> dict:
    installation = helpdesk.state.configure_sidebar_app("https://deskmate.acme.example/sidebar/")
    register_installation(app, account_id=account_id, installation_id=installation["id"],
                          app_id=installation["app_id"], now=clock.now())
    return installation


def test_first_signed_load_fetches_the_key_once(client, helpdesk, installation):
    for ticket_id in (1, 2, 3):
        token = helpdesk.state.sidebar_token(installation, ticket_id=ticket_id, user_id=helpdesk.state.admin_id)
        assert client.post("/sidebar/", data={"token": token}).status_code == 200
    assert key_calls(helpdesk) == 1


def test_forged_tokens_refetch_the_key_at_most_once_per_five_minutes(client, helpdesk, installation, clock):
    token = helpdesk.state.sidebar_token(installation, ticket_id=1, user_id=helpdesk.state.admin_id)
    assert client.post("/sidebar/", data={"token": token}).status_code == 200
    forged_claims = jwt.decode(token, options={"verify_signature": False})
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(forged_claims, forger, algorithm="RS256")
    for _ in range(5):
        assert client.post("/sidebar/", data={"token": forged}).status_code == 401
    assert key_calls(helpdesk) == 1
    clock.advance(minutes=6)
    for _ in range(5):
        assert client.post("/sidebar/", data={"token": forged}).status_code == 401
    assert key_calls(helpdesk) == 2


def test_helpdesk_down_on_the_first_load_refuses_with_a_reason(client, helpdesk, installation):
    token = helpdesk.state.sidebar_token(installation, ticket_id=1, user_id=helpdesk.state.admin_id)
    helpdesk.faults(error_seconds=30, error_status=503)
    response = client.post("/sidebar/", data={"token": token})
    assert response.status_code == 401
    assert "cannot verify the token" in response.get_json()["error"]["message"]
