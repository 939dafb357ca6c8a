"""The /admin/news page: admin session only, CSRF on every form, changes visible in the widget at once."""

from __future__ import annotations

import re

from tests.core.test_admin import csrf_from, sign_in


def page_with_csrf(client) -> tuple[str, str]:
    html = client.get("/admin/news").get_data(as_text=True)
    return html, csrf_from(html)


def test_page_needs_an_admin_session(client):
    answer = client.get("/admin/news")
    assert answer.status_code == 302
    assert "/admin/login" in answer.headers["Location"]


def test_publishing_needs_the_csrf_token(client, admin_token, news):
    sign_in(client, admin_token)
    forged = client.post("/admin/news", data={"action": "create", "title": "Forged"})
    assert forged.status_code == 403
    assert news.shown() == []


def test_publish_update_and_resolve_from_the_page(client, admin_token, news):
    sign_in(client, admin_token)
    html, csrf = page_with_csrf(client)
    assert "Nothing is broken right now." in html
    answer = client.post("/admin/news", data={
        "csrf_token": csrf, "action": "create", "title": "Chat is down",
        "body": "We are on it <script>x</script>",
        "severity": "outage", "status": "investigating", "affected_features": "Live chat, Comments",
        "keywords": "chat", "starts_at": "", "ends_at": ""})
    assert answer.status_code == 302
    [shown] = news.shown()
    assert (shown["title"], shown["severity"], shown["affected_features"]) == (
        "Chat is down", "outage", ["Live chat", "Comments"])
    html, csrf = page_with_csrf(client)
    assert "Published incident" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    incident_id = re.search(r'name="incident_id" value="(\d+)"', html).group(1)
    client.post("/admin/news", data={"csrf_token": csrf, "action": "update", "incident_id": incident_id,
                                     "status": "identified", "body": "Found it."})
    assert news.shown()[0]["status"] == "identified"
    client.post("/admin/news", data={"csrf_token": csrf, "action": "resolve", "incident_id": incident_id,
                                     "body": "Fixed.", "notify": "1"})
    assert news.shown()[0]["status"] == "resolved"
    assert news.show(int(incident_id))["incident"]["notify_requesters"] is True


def test_bad_form_is_explained_not_a_500(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", "title": "",
                                              "severity": "outage", "starts_at": "not a date"})
    assert answer.status_code == 400
    assert "not a date and time" in answer.get_data(as_text=True)
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", "title": "",
                                              "severity": "outage"})
    assert answer.status_code == 400
    assert "title" in answer.get_data(as_text=True)
    assert news.shown() == []


def test_quick_links_from_the_page(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={
        "csrf_token": csrf, "action": "quick_links", "form_id": "360001",
        "links": ("article | Fix buffering | https://help.acme.example/a/1 |\n"
                  "notice | Refunds take 5 days | | Be patient")})
    assert answer.status_code == 302
    assert news.active().get_json()["quick_links"]["360001"] == [
        {"kind": "article", "title": "Fix buffering", "url": "https://help.acme.example/a/1", "text": ""},
        {"kind": "notice", "title": "Refunds take 5 days", "text": "Be patient"}]
    refused = client.post("/admin/news", data={"csrf_token": csrf, "action": "quick_links", "form_id": "1",
                                               "links": "article | Bad | javascript:alert(1) |"})
    assert refused.status_code == 400
    assert "http(s)" in refused.get_data(as_text=True)
