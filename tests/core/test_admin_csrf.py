"""CSRF fails closed: a session that was never shown a form has no token, and an empty one matches nothing."""

from __future__ import annotations

from tests.core.test_admin import sign_in


def test_post_right_after_sign_in_without_a_token_is_refused(client, admin_token):
    assert sign_in(client, admin_token).status_code == 302  # sign-in starts a fresh session, without a token
    assert client.post("/admin/work", data={}).status_code == 403
    assert client.post("/admin/work", data={"csrf_token": ""}).status_code == 403


def test_sign_in_without_a_form_token_is_refused(client, admin_token):
    answer = client.post("/admin/login", data={"token": admin_token})
    assert answer.status_code == 401
    assert "expired" in answer.get_data(as_text=True)
