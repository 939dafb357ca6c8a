"""Admin page sessions live on the server: logout, token revocation and expiry end them for every copy of
the cookie."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.admin_pages import SESSION_KEY, SESSION_LIFETIME
from app.db import storage
from app.models import AdminSession


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, token: str) -> None:
    page = client.get("/admin/login").get_data(as_text=True)
    answer = client.post("/admin/login", data={"token": token, "csrf_token": csrf_from(page)})
    assert answer.status_code == 302, answer.get_data(as_text=True)


def cookie_of(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(app, value: str):
    """Another browser holding a copy of the cookie (a stolen one, or a tab left open)."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def _state(client) -> dict:
    with client.session_transaction() as session:
        return dict(session[SESSION_KEY])


def sessions(app) -> list[AdminSession]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(AdminSession)))


def test_logout_revokes_the_session_so_the_old_cookie_no_longer_opens_admin(app, client, admin_token):
    sign_in(client, admin_token)
    copied = cookie_of(client)
    assert with_cookie(app, copied).get("/admin/").status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    answer = with_cookie(app, copied).get("/admin/")
    assert answer.status_code == 302
    assert "/admin/login" in answer.headers["Location"]
    assert sessions(app) == []


def test_logout_ends_only_that_session(app, admin_token):
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, admin_token)
    sign_in(phone, admin_token)
    page = laptop.get("/admin/").get_data(as_text=True)
    laptop.post("/admin/logout", data={"csrf_token": csrf_from(page)})
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 200


def test_a_signed_cookie_without_a_server_session_is_refused(app, client, admin_token):
    """A cookie signed with the app's key but naming no session row (as every cookie did before) opens nothing."""
    sign_in(client, admin_token)
    state = _state(client)
    forged = app.test_client()
    with forged.session_transaction() as session:
        session[SESSION_KEY] = {"account_id": state["account_id"], "token_id": state["token_id"]}
    assert forged.get("/admin/").status_code == 302
    with forged.session_transaction() as session:
        session[SESSION_KEY] = {**state, "sid": "made-up"}
    assert forged.get("/admin/").status_code == 302


def test_only_the_session_ids_hash_is_stored(app, client, admin_token):
    sign_in(client, admin_token)
    session_id = _state(client)["sid"]
    [row] = sessions(app)
    assert session_id not in row.session_hash
    assert len(row.session_hash) == 64


def test_revoking_the_api_token_ends_its_page_sessions(app, client, runner, admin_token):
    sign_in(client, admin_token)
    assert client.get("/admin/").status_code == 200
    assert runner.invoke(args=["tokens", "revoke", admin_token[:8]]).exit_code == 0
    assert client.get("/admin/").status_code == 302


def test_a_session_expires_on_the_server_and_expired_rows_go_at_the_next_sign_in(app, client, admin_token, clock):
    sign_in(client, admin_token)
    clock.advance(seconds=SESSION_LIFETIME.total_seconds() - 60)
    assert client.get("/admin/").status_code == 200
    clock.advance(seconds=61)
    assert client.get("/admin/").status_code == 302
    assert len(sessions(app)) == 1
    sign_in(app.test_client(), admin_token)
    [row] = sessions(app)
    assert row.expires_at > clock.now()
