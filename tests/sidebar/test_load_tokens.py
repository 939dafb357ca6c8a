"""A signed load opens one session: its jti is remembered until it expires, a replay is refused; the session
carries the agent's helpdesk role."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import jwt
import pytest
import sqlalchemy as sa
from flask import Blueprint

from app.api import current_agent, require_sidebar_session
from app.db import storage
from app.sidebar.auth import LEEWAY_SECONDS
from app.sidebar.models import SidebarLoadToken
from tests.sidebar.conftest import bearer, claims, session_from


def used_tokens(app) -> list[SidebarLoadToken]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(SidebarLoadToken).order_by(SidebarLoadToken.used_at)))


@pytest.fixture
def whoami(app):
    """A plugin-style route that answers what ``current_agent()`` says (registered before any request)."""
    bp = Blueprint("whoami_test", __name__)

    @bp.get("/test/whoami")
    @require_sidebar_session
    def whoami_view():
        agent = current_agent()
        return {"id": agent.id, "role": agent.role}

    app.register_blueprint(bp)
    return "/test/whoami"


def test_a_replayed_signed_load_is_refused_and_mints_no_session(client, installation, signed_token):
    token = signed_token(user_id=5001)
    first = client.post("/sidebar/", data={"token": token})
    assert first.status_code == 200
    assert session_from(first)
    replayed = client.post("/sidebar/", data={"token": token})
    assert replayed.status_code == 401
    assert "already used" in replayed.get_json()["error"]["message"]
    assert "deskmate-session" not in replayed.get_data(as_text=True)
    assert client.post("/sidebar/", data={"token": token}).status_code == 401  # and every later time
    assert client.post("/sidebar/", data={"token": signed_token(user_id=5001)}).status_code == 200  # a new load


def test_concurrent_posts_of_one_token_open_exactly_one_session(app, installation, signed_token):
    token = signed_token()

    def post(_: int) -> int:
        return app.test_client().post("/sidebar/", data={"token": token}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(8)))
    assert sorted(statuses) == [200] + [401] * 7
    assert len(used_tokens(app)) == 1


def test_a_token_without_jti_is_refused(client, installation, app_key):
    payload = claims()
    del payload["jti"]
    response = client.post("/sidebar/", data={"token": jwt.encode(payload, app_key, algorithm="RS256")})
    assert response.status_code == 401
    assert "jti" in response.get_json()["error"]["message"]
    blank = jwt.encode(claims(jti="  "), app_key, algorithm="RS256")
    assert client.post("/sidebar/", data={"token": blank}).status_code == 401
    assert used_tokens(client.application) == []


def test_a_refused_token_is_not_used_up(client, installation, signed_token):
    """Only a token that passed every check is remembered: one refused for another reason is not spent."""
    wrong_issuer = signed_token(iss="evil.zendesk.com", jti="shared-id")
    assert client.post("/sidebar/", data={"token": wrong_issuer}).status_code == 401
    assert used_tokens(client.application) == []
    assert client.post("/sidebar/", data={"token": signed_token(jti="shared-id")}).status_code == 200


def test_a_token_living_longer_than_an_hour_is_refused(client, installation, signed_token):
    response = client.post("/sidebar/", data={"token": signed_token(lifetime=2 * 3600)})
    assert response.status_code == 401
    assert "longer" in response.get_json()["error"]["message"]


def test_the_jti_is_kept_until_the_token_expires_then_purged_by_a_later_load(app, client, installation,
                                                                              signed_token, clock):
    def fresh() -> str:  # PyJWT checks expiry by the wall clock, the purge by the app's: valid by both
        return signed_token(exp=int(clock.now().timestamp()) + 300)

    first = fresh()
    assert client.post("/sidebar/", data={"token": first}).status_code == 200
    [row] = used_tokens(app)
    exp = jwt.decode(first, options={"verify_signature": False})["exp"]
    assert row.expires_at.timestamp() == exp + LEEWAY_SECONDS
    clock.advance(minutes=4)  # still within the first token's life: a new load keeps its row
    assert client.post("/sidebar/", data={"token": fresh()}).status_code == 200
    assert len(used_tokens(app)) == 2
    clock.advance(seconds=60 + LEEWAY_SECONDS + 1)  # the first token is past exp + leeway: the next load purges it
    assert client.post("/sidebar/", data={"token": fresh()}).status_code == 200
    remaining = used_tokens(app)
    assert len(remaining) == 2
    assert all(row.expires_at > clock.now() for row in remaining)


def test_purge_deletes_a_bounded_batch_per_load(app, client, installation, signed_token, clock, account_id):
    from app.sidebar.auth import LOAD_TOKEN_PURGE_BATCH

    past = clock.now() - timedelta(hours=1)
    with storage.session(app) as session:
        session.add_all(SidebarLoadToken(account_id=account_id, jti_hash=f"{n:064x}", installation_id=77,
                                         agent_id=1, used_at=past, expires_at=past)
                        for n in range(LOAD_TOKEN_PURGE_BATCH + 20))
    assert client.post("/sidebar/", data={"token": signed_token()}).status_code == 200
    assert len(used_tokens(app)) == 20 + 1
    assert client.post("/sidebar/", data={"token": signed_token()}).status_code == 200
    assert len(used_tokens(app)) == 2


def test_a_jti_postgresql_could_not_store_as_text_is_still_remembered(client, installation, signed_token):
    token = signed_token(jti="id\x00with a NUL and \ud800 a lone surrogate " + "x" * 500)
    assert client.post("/sidebar/", data={"token": token}).status_code == 200
    assert client.post("/sidebar/", data={"token": token}).status_code == 401


def test_the_session_carries_the_agents_helpdesk_role(client, installation, signed_token, whoami):
    for role in ("admin", "agent", "Billing lead"):
        page = client.post("/sidebar/", data={"token": signed_token(user_id=5001, context={
            "ticket_id": 42, "user_id": 5001, "user_role": role})})
        answer = client.get(whoami, headers=bearer(session_from(page)))
        assert answer.get_json() == {"id": 5001, "role": role}


def test_a_refreshed_session_keeps_the_role(client, installation, signed_token, whoami, clock):
    page = client.post("/sidebar/", data={"token": signed_token(context={"user_id": 5001, "user_role": "admin"})})
    clock.advance(minutes=15)
    refreshed = client.post("/sidebar/api/session", headers=bearer(session_from(page))).get_json()["token"]
    assert client.get(whoami, headers=bearer(refreshed)).get_json()["role"] == "admin"


@pytest.mark.parametrize("role", [None, 7, {"name": "admin"}, "", "x" * 65, "admin\nroot"])
def test_a_missing_or_malformed_role_is_none(client, installation, signed_token, whoami, role):
    page = client.post("/sidebar/", data={"token": signed_token(context={"user_id": 5001, "user_role": role})})
    assert page.status_code == 200
    assert client.get(whoami, headers=bearer(session_from(page))).get_json()["role"] is None


def test_an_unsigned_load_has_no_role(client, app, clock, whoami):
    from app.accounts import upsert_account

    upsert_account(app, subdomain="acme", now=clock.now(), settings={"sidebar": {"allow_unsigned": True}})
    page = client.get("/sidebar/?origin=https://acme.zendesk.com&app_guid=x")
    assert client.get(whoami, headers=bearer(session_from(page))).get_json()["role"] is None

