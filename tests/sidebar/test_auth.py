"""Signed loads and sessions: only the helpdesk's RS256 token opens the page, only its session reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from app.accounts import upsert_account
from app.sidebar.keys import register_installation
from tests.conftest import TEST_SECRET_KEY
from tests.sidebar.conftest import APP_ID, bearer, claims, index_ticket, public_pem, session_from


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_signed_with(secret: bytes, payload: dict) -> str:
    """An HS256 JWT made by hand: PyJWT rightly refuses to use a PEM public key as an HMAC secret."""
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + _b64(
        json.dumps(payload).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def test_signed_load_renders_the_page_with_a_session_for_the_agent(client, installation, signed_token):
    response = client.post("/sidebar/?origin=https://acme.zendesk.com&app_guid=abc",
                           data={"token": signed_token(user_id=5001)})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors https://acme.zendesk.com" in response.headers["Content-Security-Policy"]
    session = session_from(response)
    claims_seen = jwt.decode(session, options={"verify_signature": False})
    assert (claims_seen["sub"], claims_seen["ins"], claims_seen["sd"]) == ("5001", installation, "acme")


def test_load_without_a_token_is_refused(client, installation):
    response = client.post("/sidebar/", data={})
    assert response.status_code == 401
    assert "signed token" in response.get_json()["error"]["message"]


def test_alg_none_token_is_refused(client, installation):
    token = jwt.encode(claims(), None, algorithm="none")
    response = client.post("/sidebar/", data={"token": token})
    assert response.status_code == 401
    assert "RS256" in response.get_json()["error"]["message"]


def test_hs256_token_signed_with_the_public_key_is_refused(client, installation, app_key):
    token = hs256_signed_with(public_pem(app_key).encode(), claims())
    response = client.post("/sidebar/", data={"token": token})
    assert response.status_code == 401
    assert "RS256" in response.get_json()["error"]["message"]


def test_token_signed_by_another_key_is_refused(client, installation):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = client.post("/sidebar/", data={"token": jwt.encode(claims(), stranger, algorithm="RS256")})
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]["message"]


def test_wrong_audience_is_refused(client, installation, signed_token):
    wrong = signed_token(aud="https://acme.zendesk.com/api/v2/apps/installations/78.json")
    response = client.post("/sidebar/", data={"token": wrong})
    assert response.status_code == 401
    assert "installation" in response.get_json()["error"]["message"]
    not_an_installation = signed_token(aud="https://evil.example/api")
    assert client.post("/sidebar/", data={"token": not_an_installation}).status_code == 401


def test_wrong_issuer_is_refused(client, installation, signed_token):
    response = client.post("/sidebar/", data={"token": signed_token(iss="evil.zendesk.com")})
    assert response.status_code == 401
    assert "issuer" in response.get_json()["error"]["message"]


def test_expired_token_is_refused(client, installation, signed_token):
    response = client.post("/sidebar/", data={"token": signed_token(lifetime=-120)})
    assert response.status_code == 401
    assert "expired" in response.get_json()["error"]["message"]


def test_token_without_expiry_is_refused(client, installation, app_key):
    payload = claims()
    del payload["exp"]
    response = client.post("/sidebar/", data={"token": jwt.encode(payload, app_key, algorithm="RS256")})
    assert response.status_code == 401


def test_garbage_token_is_refused(client, installation):
    assert client.post("/sidebar/", data={"token": "not.a.jwt"}).status_code == 401


def test_api_needs_a_session(client, installation):
    assert client.get("/sidebar/api/tickets/42").status_code == 401
    assert client.get("/sidebar/api/tickets/42", headers=bearer("forged")).status_code == 401


def test_session_signed_with_another_deployments_key_is_refused(client, sidebar_session, app):
    payload = jwt.decode(sidebar_session, options={"verify_signature": False})
    other_key = hmac.new(b"another-deployment-secret-key-0123456789", b"deskmate sidebar session v1",
                         hashlib.sha256).digest()
    forged = jwt.encode(payload, other_key, algorithm="HS256")
    assert client.get("/sidebar/api/tickets/42", headers=bearer(forged)).status_code == 401
    raw_secret = jwt.encode(payload, TEST_SECRET_KEY, algorithm="HS256")  # the app secret is not the key
    assert client.get("/sidebar/api/tickets/42", headers=bearer(raw_secret)).status_code == 401


def test_session_expires_and_can_be_refreshed_before(client, sidebar_session, clock, app, account_id):
    index_ticket(app, account_id, 42)
    clock.advance(minutes=15)
    refreshed = client.post("/sidebar/api/session", headers=bearer(sidebar_session))
    assert refreshed.status_code == 200
    new_token = refreshed.get_json()["token"]
    clock.advance(minutes=10)  # 25 minutes after the load: the first session is over, the new one is not
    assert client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session)).status_code == 401
    assert client.get("/sidebar/api/tickets/42", headers=bearer(new_token)).status_code == 200
    clock.advance(minutes=30)
    expired = client.post("/sidebar/api/session", headers=bearer(new_token))
    assert expired.status_code == 401
    assert "expired" in expired.get_json()["error"]["message"]


def test_sessions_cannot_be_refreshed_forever(client, sidebar_session, clock):
    token = sidebar_session
    for _ in range(12 * 4):  # every 15 minutes for twelve hours
        clock.advance(minutes=15)
        response = client.post("/sidebar/api/session", headers=bearer(token))
        if response.status_code != 200:
            break
        token = response.get_json()["token"]
    assert response.status_code == 401
    assert "reload" in response.get_json()["error"]["message"]


def test_a_session_of_one_account_never_reads_another_accounts_ticket(client, app, clock, account_id,
                                                                         sidebar_session):
    other = upsert_account(app, subdomain="globex", now=clock.now(), zendesk_email="bot@globex.example",
                           zendesk_api_token="t", zendesk_base_url="http://127.0.0.1:9")
    index_ticket(app, other.id, 42, subject="Globex's secret ticket")
    index_ticket(app, other.id, 43, subject="Another globex ticket")
    index_ticket(app, account_id, 42, subject="Acme's own ticket")
    own = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session))
    assert own.get_json()["ticket"]["subject"] == "Acme's own ticket"
    # Ticket 43 exists only in globex: acme's session asks acme's helpdesk (unreachable here), never globex.
    foreign = client.get("/sidebar/api/tickets/43", headers=bearer(sidebar_session))
    assert foreign.status_code == 502
    assert "globex" not in foreign.get_data(as_text=True).lower()


def test_a_session_token_replayed_with_another_account_in_it_is_refused(client, app, clock, sidebar_session):
    other = upsert_account(app, subdomain="globex", now=clock.now())
    index_ticket(app, other.id, 42, subject="Globex's secret ticket")
    payload = jwt.decode(sidebar_session, options={"verify_signature": False})
    header, _body, signature = sidebar_session.split(".")
    payload.update(acc=other.id, sd="globex")
    tampered = header + "." + _b64(json.dumps(payload).encode()) + "." + signature
    response = client.get("/sidebar/api/tickets/42", headers=bearer(tampered))
    assert response.status_code == 401
    assert "Globex" not in response.get_data(as_text=True)


def test_one_accounts_signed_load_cannot_open_another_accounts_sidebar(client, app, clock, installation,
                                                                          signed_token):
    other = upsert_account(app, subdomain="globex", now=clock.now())
    globex_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    register_installation(app, account_id=other.id, installation_id=90, app_id=APP_ID, now=clock.now(),
                          public_key_pem=public_pem(globex_key))
    # Signed with acme's app key but claiming to be globex's installation: globex's key does not verify it.
    token = signed_token(subdomain="globex", installation_id=90)
    response = client.post("/sidebar/", data={"token": token})
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]["message"]


def test_unsigned_load_is_refused_unless_the_account_allows_it(client, app, clock):
    assert client.get("/sidebar/?origin=https://acme.zendesk.com&app_guid=x").status_code == 403
    upsert_account(app, subdomain="acme", now=clock.now(), settings={"sidebar": {"allow_unsigned": True}})
    response = client.get("/sidebar/?origin=https://acme.zendesk.com&app_guid=x")
    assert response.status_code == 200
    assert session_from(response)


def test_trust_installation_command_accepts_that_installations_loads(runner, client, app_key, signed_token,
                                                                      tmp_path):
    assert client.post("/sidebar/", data={"token": signed_token(installation_id=91)}).status_code == 401
    key_file = tmp_path / "app.pem"
    key_file.write_text(public_pem(app_key))
    result = runner.invoke(args=["zendesk", "trust-installation", "--installation-id", "91", "--app-id", "12",
                                 "--public-key-file", str(key_file)])
    assert result.output.strip() == "installation 91: trusted"
    assert client.post("/sidebar/", data={"token": signed_token(installation_id=91)}).status_code == 200
    again = runner.invoke(args=["zendesk", "trust-installation", "--installation-id", "91", "--app-id", "12",
                                "--public-key-file", str(key_file)])
    assert again.output.strip() == "installation 91: unchanged"
