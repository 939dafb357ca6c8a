"""The /admin/news page: admin session only, CSRF on every form, problems in plain words beside their field with
everything kept as typed, times in the reader's timezone, and its card on the admin home."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.core.test_admin import csrf_from, sign_in


def page_with_csrf(client, query: str = "") -> tuple[str, str]:
    html = client.get(f"/admin/news{query}").get_data(as_text=True)
    return html, csrf_from(html)


def field_error(html: str, field_id: str) -> str:
    """The problem shown beside a field (the element its aria-describedby names)."""
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true" aria-describedby="{field_id}-error"', html), \
        f"{field_id} is not marked invalid"
    return re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', html).group(1)


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
    assert "Published “Chat is down”." in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert "0 tickets about it" in html
    incident_id = re.search(r'name="incident_id" value="(\d+)"', html).group(1)
    client.post("/admin/news", data={"csrf_token": csrf, "action": "update", "incident_id": incident_id,
                                     "status": "identified", "body": "Found it."})
    assert news.shown()[0]["status"] == "identified"
    html, csrf = page_with_csrf(client)
    assert "Posted an update to “Chat is down”: Cause identified." in html
    client.post("/admin/news", data={"csrf_token": csrf, "action": "resolve", "incident_id": incident_id,
                                     "body": "Fixed.", "notify": "1"})
    assert news.shown()[0]["status"] == "resolved"
    assert news.show(int(incident_id))["incident"]["notify_requesters"] is True
    html, _ = page_with_csrf(client)
    assert "“Chat is down” is resolved." in html and "Recently resolved" in html


def test_an_end_before_the_start_is_said_beside_the_end_and_keeps_everything_typed(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    typed = {"title": "Billing maintenance", "body": "Invoices pause.\n\nBack soon: https://status.example.com",
             "severity": "maintenance", "status": "identified", "affected_features": "Invoices, Payments",
             "keywords": "invoice, refund", "starts_at": "2030-01-02T10:00", "ends_at": "2030-01-02T09:00",
             "notify": "1"}
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", **typed})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(html, "ends_at") == "The end must be after the start."
    assert "Value error" not in html and "ends_at must" not in html
    assert "Nothing was saved: please fix what is marked below." in html
    for name in ("title", "affected_features", "keywords", "starts_at", "ends_at"):
        assert re.search(rf'id="{name}" name="{name}"[^>]*value="{re.escape(typed[name])}"', html), name
    assert ">Invoices pause.\n\nBack soon: https://status.example.com</textarea>" in html
    assert re.search(r'<option value="maintenance" selected>', html)
    assert re.search(r'<option value="identified" selected>', html)
    assert re.search(r'name="notify" value="1" checked', html)
    assert news.shown() == []


def test_each_problem_of_the_publish_form_is_named_in_plain_words(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={
        "csrf_token": csrf, "action": "create", "title": "  ", "severity": "apocalypse",
        "keywords": "x, fine", "starts_at": "not a date", "ends_at": ""})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(html, "title") == "Give the incident a title."
    assert field_error(html, "severity") == "Choose a severity."
    assert field_error(html, "keywords") == "Each keyword must be 2 to 100 characters long; “x” is not."
    assert field_error(html, "starts_at") == "Enter a date and time, or leave it empty."
    assert news.shown() == []


def test_an_end_already_past_is_refused_beside_the_end(client, admin_token, news, clock):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    past = (clock.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", "title": "Old",
                                              "severity": "outage", "ends_at": past})
    assert answer.status_code == 400
    assert "The end is already past" in field_error(answer.get_data(as_text=True), "ends_at")
    assert news.shown() == []


def test_times_are_typed_and_shown_in_the_readers_timezone(client, admin_token, news):
    sign_in(client, admin_token)
    client.set_cookie("deskmate_tz", "Europe/Rome")
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", "title": "Planned work",
                                              "severity": "maintenance", "starts_at": "2030-07-01T22:00",
                                              "ends_at": "2030-07-01T23:30"})
    assert answer.status_code == 302
    incident = news.show(int(news.client.get("/admin/api/news/incidents", headers=news.headers)
                             .get_json()["incidents"][0]["id"]))["incident"]
    assert incident["starts_at"].startswith("2030-07-01T20:00:00")  # Rome is UTC+2 in summer
    html, _ = page_with_csrf(client)
    assert "Scheduled from Jul 1, 2030, 10:00\u202fPM" in html
    assert "until Jul 1, 2030, 11:30\u202fPM" in html
    assert "Times are in your timezone (Europe/Rome)." in html
    assert "+00:00" not in html and "2030-07-01T" not in html


def test_the_page_speaks_french_and_italian_with_plurals(client, admin_token, news):
    sign_in(client, admin_token)
    news.create(title="Chat en panne", severity="outage")
    html, csrf = page_with_csrf(client, "?lang=fr")
    assert "Incidents ouverts" in html and "Publier un incident" in html
    assert "0 ticket concerné" in html
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "create", "title": "",
                                              "severity": "outage"})
    assert "Donnez un titre à l\u2019incident." in answer.get_data(as_text=True)
    html, _ = page_with_csrf(client, "?lang=it")
    assert "Incidenti aperti" in html and "0 ticket collegati" in html


def test_quick_links_from_the_page(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={
        "csrf_token": csrf, "action": "quick_links", "form_id": "360001",
        "kind-0": "article", "title-0": "Fix buffering", "url-0": "https://help.acme.example/a/1", "text-0": "",
        "kind-1": "notice", "title-1": "Refunds take 5 days", "url-1": "", "text-1": "Be patient",
        "kind-2": "", "title-2": "", "url-2": "", "text-2": ""})
    assert answer.status_code == 302
    assert news.active().get_json()["quick_links"]["360001"] == [
        {"kind": "article", "title": "Fix buffering", "url": "https://help.acme.example/a/1", "text": ""},
        {"kind": "notice", "title": "Refunds take 5 days", "text": "Be patient"}]
    html, _ = page_with_csrf(client)
    assert "Saved the quick links of ticket form 360001." in html
    assert 'value="Fix buffering"' in html  # the saved links come back as rows to edit


def test_a_quick_link_without_a_kind_or_with_a_script_address_is_refused_by_its_number(client, admin_token, news):
    sign_in(client, admin_token)
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={
        "csrf_token": csrf, "action": "quick_links", "form_id": "360001",
        "kind-0": "article", "title-0": "Bad", "url-0": "javascript:alert(1)", "text-0": "",
        "kind-1": "", "title-1": "No kind", "url-1": "", "text-1": "typed text"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "Link 1: the address must start with https:// (or http://)." in html
    assert "Link 2: choose a kind." in html
    assert "String should match" not in html and "links.1" not in html
    assert 'value="No kind"' in html and 'value="typed text"' in html and 'value="javascript:alert(1)"' in html
    assert 'value="360001"' in html
    assert news.active().get_json()["quick_links"] == {}


@pytest.mark.hook("admin_summary")
def test_the_admin_home_shows_the_active_incidents(client, admin_token, news):
    sign_in(client, admin_token)
    home = client.get("/admin/").get_data(as_text=True)
    assert "Active incidents" in home and "Nothing is broken right now." in home
    news.create(title="Chat is down", severity="outage")
    news.create(title="Slow uploads", severity="degraded")
    home = client.get("/admin/").get_data(as_text=True)
    assert "“Chat is down”, “Slow uploads”" in home or "“Slow uploads”, “Chat is down”" in home
    assert "0 tickets about them" in home
    assert 'href="/admin/news"' in home


def test_a_refused_update_keeps_its_text_beside_its_incident(client, admin_token, news):
    sign_in(client, admin_token)
    incident = news.create(title="Chat is down", severity="outage")
    _, csrf = page_with_csrf(client)
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "update", "incident_id": incident["id"],
                                              "status": "resolved-ish", "body": "We found the cause."})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(html, f"status-{incident['id']}") == "Choose a status."
    assert f'id="update-{incident["id"]}" name="body" rows="2">We found the cause.</textarea>' in html
    assert news.show(incident["id"])["incident"]["updates"][-1]["status"] == "investigating"


def test_a_form_for_an_incident_resolved_meanwhile_changes_nothing(client, admin_token, news):
    sign_in(client, admin_token)
    incident = news.create(title="Chat is down", severity="outage")
    _, csrf = page_with_csrf(client)
    assert news.resolve(incident["id"]).status_code == 201  # another admin, another tab
    answer = client.post("/admin/news", data={"csrf_token": csrf, "action": "update", "incident_id": incident["id"],
                                              "status": "identified", "body": "Late news"})
    assert answer.status_code == 400
    assert "This incident is no longer open" in answer.get_data(as_text=True)
    assert [update["body"] for update in news.show(incident["id"])["incident"]["updates"]] == [
        "We are looking into it.", ""]
