"""The admin pages: the list by demand, a request's page, and its forms (CSRF-checked)."""

from __future__ import annotations

import re

import pytest

from tests.core.test_admin import csrf_from, sign_in


@pytest.fixture
def signed_in(client, admin_token):
    assert sign_in(client, admin_token).status_code == 302
    return client


def test_pages_need_an_admin_session(client):
    for path in ("/admin/feature-requests", "/admin/feature-requests/1"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert "/admin/login" in answer.headers["Location"]


def test_list_page_shows_requests_by_demand_and_is_in_the_navigation(signed_in, new_request, api):
    quiet, popular = new_request("Quiet one"), new_request("Popular one")
    api("POST", f"/{popular}/links", json={"ticket_id": 1, "requester_id": 501})
    page = signed_in.get("/admin/feature-requests").get_data(as_text=True)
    assert page.index("Popular one") < page.index("Quiet one")
    assert re.search(r'<a href="/admin/feature-requests"[^>]*>Feature requests</a>', page)
    assert signed_in.get(f"/admin/feature-requests/{quiet}").status_code == 200
    assert signed_in.get("/admin/feature-requests/999").status_code == 404


def test_forms_change_the_request_and_refuse_a_missing_csrf_token(signed_in, new_request, api):
    request_id = new_request()
    page = signed_in.get(f"/admin/feature-requests/{request_id}").get_data(as_text=True)
    token = csrf_from(page)
    base = f"/admin/feature-requests/{request_id}"
    assert signed_in.post(f"{base}/status", data={"status": "planned"}).status_code == 403
    assert signed_in.post(f"{base}/status", data={"status": "planned", "csrf_token": token}).status_code == 302
    assert signed_in.post(f"{base}/link", data={"ticket_id": "#77", "csrf_token": token}).status_code == 302
    detail = api("GET", f"/{request_id}")[1]
    assert detail["status"] == "planned"
    assert [link["ticket_id"] for link in detail["links"]] == [77]
    answer = signed_in.post(f"{base}/link", data={"ticket_id": "abc", "csrf_token": token},
                            follow_redirects=True)
    assert "must be a number" in answer.get_data(as_text=True)


def test_dry_run_and_release_from_the_page(signed_in, new_request, api):
    request_id = new_request("Offline mode")
    api("POST", f"/{request_id}/links", json={"ticket_id": 5, "requester_id": 505})
    page = signed_in.get(f"/admin/feature-requests/{request_id}?preview=1").get_data(as_text=True)
    assert "1 to tell" in page
    token = csrf_from(page)
    answer = signed_in.post(f"/admin/feature-requests/{request_id}/release", data={"csrf_token": token},
                            follow_redirects=True)
    assert "1 requester(s) will be told" in answer.get_data(as_text=True)
    assert api("GET", f"/{request_id}")[1]["notices"]["pending"] == 1
