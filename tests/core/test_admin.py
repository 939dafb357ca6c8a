"""Admin API tokens and admin pages: refused without credentials, CSRF-checked, scoped to one account."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app import workqueue
from app.db import storage
from app.models import WorkItem


def test_admin_api_without_token_is_401_json(client):
    answer = client.get("/admin/api/work-items")
    assert answer.status_code == 401
    assert "token" in answer.get_json()["error"]["message"]


def test_admin_api_with_unknown_token_is_401(client):
    answer = client.get("/admin/api/work-items", headers={"Authorization": "Bearer dm_nope"})
    assert answer.status_code == 401


def test_revoked_token_is_403(client, runner, admin_token):
    assert runner.invoke(args=["tokens", "revoke", admin_token[:8]]).exit_code == 0
    answer = client.get("/admin/api/work-items", headers={"Authorization": f"Bearer {admin_token}"})
    assert answer.status_code == 403


def test_token_is_stored_hashed(app, admin_token):
    from app.models import ApiToken

    with storage.session(app) as session:
        row = session.scalar(sa.select(ApiToken))
    assert row.token_hash != admin_token
    assert admin_token not in row.token_hash


def test_admin_api_never_shows_another_accounts_items(app, client, admin_headers, clock):
    from app.accounts import upsert_account

    other = upsert_account(app, subdomain="other", now=clock.now(), zendesk_account_id=42)
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=other.id, kind="x.y", key="theirs", payload={}, now=clock.now())
    listed = client.get("/admin/api/work-items", headers=admin_headers).get_json()
    assert listed["work_items"] == []
    assert listed["counts"]["pending"] == 0


def test_bad_state_filter_is_400(client, admin_headers):
    answer = client.get("/admin/api/work-items?state=bogus", headers=admin_headers)
    assert answer.status_code == 400


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, token: str):
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"token": token, "csrf_token": csrf_from(page)})


def test_admin_pages_redirect_to_login_without_a_session(client):
    answer = client.get("/admin/work")
    assert answer.status_code == 302
    assert "/admin/login" in answer.headers["Location"]


def test_login_with_a_bad_token_is_refused(client):
    answer = sign_in(client, "dm_wrong")
    assert answer.status_code == 401
    assert "not valid" in answer.get_data(as_text=True)


def test_failed_work_page_retries_with_csrf_only(app, client, admin_token, account_id, clock):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="x.y", key="broken", payload={}, now=clock.now())
        session.execute(sa.update(WorkItem).values(state="failed", last_error="boom", attempts=8))
    assert sign_in(client, admin_token).status_code == 302
    page = client.get("/admin/work").get_data(as_text=True)
    assert "broken" in page and "boom" in page
    forged = client.post("/admin/work", data={"ids": ["1"]})
    assert forged.status_code == 403
    assert client.post("/admin/work", data={"csrf_token": csrf_from(page), "scope": "all"}).status_code == 302
    with storage.session(app) as session:
        assert session.scalar(sa.select(WorkItem.state)) == "pending"


def test_login_redirect_stays_on_this_site(client, admin_token):
    page = client.get("/admin/login?next=//evil.example/").get_data(as_text=True)
    answer = client.post("/admin/login?next=//evil.example/", data={"token": admin_token,
                                                                   "csrf_token": csrf_from(page)})
    assert answer.headers["Location"] == "/admin/"
