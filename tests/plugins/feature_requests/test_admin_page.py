"""The admin pages: the list by demand, a request's page, and its forms (CSRF-checked); names for ids, local
human times, plurals, each refusal beside its field with what was typed kept, and a word when a save worked."""

from __future__ import annotations

import re

import pytest

from app.db import storage
from app.mirror import Mirror
from tests.core.test_admin import csrf_from, sign_in


@pytest.fixture
def signed_in(client, admin_token):
    assert sign_in(client, admin_token).status_code == 302
    return client


@pytest.fixture
def mirrored(app, account_id, clock):
    """Put helpdesk records in the core's mirror, as if Deskmate had read them from the helpdesk."""

    def store(*, tickets=(), users=(), organizations=()):
        with storage.session(app) as session:
            mirror = Mirror(session, account_id)
            mirror.store_users(users, clock.now())
            mirror.store_organizations(organizations, clock.now())
            for ticket in tickets:
                mirror.store_ticket({"status": "open", "updated_at": "2026-12-01T10:00:00Z", **ticket}, clock.now())

    return store


def page_of(client, request_id, query=""):
    answer = client.get(f"/admin/feature-requests/{request_id}{query}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def field_error(html, field_id):
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true" aria-describedby="{field_id}-error"', html), \
        f"{field_id} is not marked invalid"
    return re.search(rf'id="{field_id}-error"[^>]*>([^<]*)<', html).group(1)


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
    assert "2 requests" in page and "request(s)" not in page
    assert signed_in.get(f"/admin/feature-requests/{quiet}").status_code == 200
    missing = signed_in.get("/admin/feature-requests/999")
    assert missing.status_code == 404 and "There is no feature request 999." in missing.get_data(as_text=True)


def test_forms_change_the_request_and_refuse_a_missing_csrf_token(signed_in, new_request, api, mirrored):
    mirrored(tickets=[{"id": 77, "subject": "Offline replays please", "requester_id": 501}])
    request_id = new_request()
    page = page_of(signed_in, request_id)
    token = csrf_from(page)
    base = f"/admin/feature-requests/{request_id}"
    assert signed_in.post(f"{base}/status", data={"status": "planned"}).status_code == 403
    assert signed_in.post(f"{base}/status", data={"status": "planned", "csrf_token": token}).status_code == 302
    assert "Status changed to Planned." in page_of(signed_in, request_id)
    assert signed_in.post(f"{base}/link", data={"ticket_id": "#77", "csrf_token": token}).status_code == 302
    page = page_of(signed_in, request_id)
    assert "Ticket 77 linked." in page and "#77 Offline replays please" in page
    detail = api("GET", f"/{request_id}")[1]
    assert detail["status"] == "planned"
    assert [link["ticket_id"] for link in detail["links"]] == [77]
    answer = signed_in.post(f"{base}/link", data={"ticket_id": "abc", "csrf_token": token})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert field_error(html, "link-ticket") == "The ticket number must be a whole number, like 12345."
    assert 'value="abc"' in html


def test_linking_a_ticket_the_helpdesk_does_not_have_is_refused_and_keeps_the_number(
        signed_in, new_request, api, helpdesk):
    request_id = new_request()
    token = csrf_from(page_of(signed_in, request_id))
    answer = signed_in.post(f"/admin/feature-requests/{request_id}/link",
                            data={"ticket_id": "999999", "csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert field_error(html, "link-ticket") == "The helpdesk has no ticket 999999. Check the number."
    assert 'id="link-ticket" name="ticket_id" inputmode="numeric" value="999999"' in html
    assert api("GET", f"/{request_id}")[1]["links"] == []
    # A ticket the helpdesk has (and Deskmate has not seen yet) is read once, then linked.
    ticket = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "mia@viewer.example", "subject": "Download replays", "body": "Please", "via": "web"})
    ticket_id = ticket["ticket"]["id"]
    answer = signed_in.post(f"/admin/feature-requests/{request_id}/link",
                            data={"ticket_id": str(ticket_id), "csrf_token": token})
    assert answer.status_code == 302
    assert [link["ticket_id"] for link in api("GET", f"/{request_id}")[1]["links"]] == [ticket_id]
    assert f"#{ticket_id} Download replays" in page_of(signed_in, request_id)


def test_a_helpdesk_out_of_reach_links_nothing_and_says_so(signed_in, new_request, api):
    request_id = new_request()
    token = csrf_from(page_of(signed_in, request_id))  # the test helpdesk address has nothing listening
    answer = signed_in.post(f"/admin/feature-requests/{request_id}/link",
                            data={"ticket_id": "4242", "csrf_token": token})
    assert answer.status_code == 503
    assert "could not reach the helpdesk to check ticket 4242; nothing was linked" in field_error(
        answer.get_data(as_text=True), "link-ticket")
    assert api("GET", f"/{request_id}")[1]["links"] == []


def test_the_release_note_is_in_the_history(signed_in, new_request, api, mirrored):
    request_id = new_request("Offline mode")
    api("POST", f"/{request_id}/links", json={"ticket_id": 5, "requester_id": 505})
    preview = page_of(signed_in, request_id, "?preview=1")
    assert "1 requester to tell" in preview and "Requester 505" in preview
    token = csrf_from(preview)
    answer = signed_in.post(f"/admin/feature-requests/{request_id}/status",
                            data={"status": "released", "note": "Shipped in 4.2 for iOS and Android",
                                  "csrf_token": token})
    assert answer.status_code == 302
    page = page_of(signed_in, request_id)
    assert "Released: 1 requester will be told; see the progress below." in page
    history = page.split('id="hist-h"', 1)[1]
    assert "Shipped in 4.2 for iOS and Android" in history
    assert re.search(r"Planned|Open", history) and "<strong>Released</strong>" in history
    assert [step["note"] for step in api("GET", f"/{request_id}")[1]["history"]][-1] == (
        "Shipped in 4.2 for iOS and Android")


def test_save_changelog_confirms_and_a_bad_address_keeps_what_was_typed(signed_in, new_request, api):
    request_id = new_request()
    token = csrf_from(page_of(signed_in, request_id))
    base = f"/admin/feature-requests/{request_id}/edit"
    answer = signed_in.post(base, data={"changelog_url": "https://example.com/changelog/42",
                                        "changelog_text": "Downloads in 4K", "csrf_token": token})
    assert answer.status_code == 302
    page = page_of(signed_in, request_id)
    assert "Changelog saved." in page and 'role="status"' in page
    answer = signed_in.post(base, data={"changelog_url": "example.com/no-scheme", "changelog_text": "New words",
                                        "csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(html, "changelog-url").startswith("The changelog address must start with https://")
    assert 'value="example.com/no-scheme"' in html and ">New words</textarea>" in html
    assert "Changelog saved." not in html
    assert api("GET", f"/{request_id}")[1]["changelog_url"] == "https://example.com/changelog/42"


def test_people_have_names_counts_have_plurals_and_times_are_local(signed_in, new_request, api, mirrored):
    mirrored(users=[{"id": 501, "name": "Mia Rossi", "email": "mia@viewer.example", "organization_id": 2000001},
                    {"id": 502, "name": "Tom Baker", "email": "tom@viewer.example"}],
             organizations=[{"id": 2000001, "name": "Studio Aurora"}],
             tickets=[{"id": 11, "subject": "Offline please", "requester_id": 501},
                      {"id": 12, "subject": "Downloads", "requester_id": 502}])
    one = new_request("Only one asked")
    api("POST", f"/{one}/links", json={"ticket_id": 11, "requester_id": 501})
    page = page_of(signed_in, one)
    assert "1 requester" in page and "1 requesters" not in page and "requester(s)" not in page
    assert "1 ticket" in page and "1 tickets" not in page
    assert "Mia Rossi" in page and "Studio Aurora" in page
    assert "1000070" not in page and "2000001" not in page and ">501<" not in page
    two = new_request("Two asked")
    api("POST", f"/{two}/links", json={"ticket_id": 11, "requester_id": 501})
    api("POST", f"/{two}/links", json={"ticket_id": 12, "requester_id": 502})
    signed_in.set_cookie("deskmate_tz", "Asia/Tokyo")
    page = page_of(signed_in, two)
    assert "2 requesters" in page and "2 tickets" in page and "Tom Baker" in page
    history = page.split('id="hist-h"', 1)[1]
    assert "by an admin (API)" in history and "admin-api" not in history
    assert re.search(r"<time datetime=\"[^\"]+\">\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2}\u202f[AP]M</time>", history)
    assert not re.search(r">\d{4}-\d{2}-\d{2}T", page)  # no ISO timestamps shown


def test_the_request_page_speaks_french_and_italian(signed_in, new_request, api):
    request_id = new_request("Mode hors ligne")
    api("POST", f"/{request_id}/links", json={"ticket_id": 5, "requester_id": 505})
    page = page_of(signed_in, request_id, "?lang=fr")
    assert "1 demandeur" in page and "Enregistrer le changelog" not in page
    assert "Enregistrer le journal des modifications" in page and "Historique" in page
    token = csrf_from(page)
    signed_in.post(f"/admin/feature-requests/{request_id}/edit", data={
        "changelog_url": "https://example.com/c", "changelog_text": "", "csrf_token": token})
    assert "Journal des modifications enregistré." in page_of(signed_in, request_id)
    page = page_of(signed_in, request_id, "?lang=it")
    assert "1 richiedente" in page and "Cronologia" in page
    listing = signed_in.get("/admin/feature-requests").get_data(as_text=True)
    assert "1 richiesta" in listing


def test_a_new_request_without_a_title_keeps_its_description(signed_in, api):
    token = csrf_from(signed_in.get("/admin/feature-requests").get_data(as_text=True))
    answer = signed_in.post("/admin/feature-requests", data={"title": "  ", "description": "Watch offline",
                                                             "csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field_error(html, "new-title") == "Give the request a title."
    assert ">Watch offline</textarea>" in html
    assert api("GET", "")[1]["total"] == 0


def test_merging_a_request_into_itself_or_a_missing_one_is_said_plainly(signed_in, new_request, api):
    request_id = new_request()
    token = csrf_from(page_of(signed_in, request_id))
    base = f"/admin/feature-requests/{request_id}/merge"
    answer = signed_in.post(base, data={"into": str(request_id), "csrf_token": token})
    assert answer.status_code == 409
    assert field_error(answer.get_data(as_text=True), "merge-into").startswith("These two requests cannot be merged")
    answer = signed_in.post(base, data={"into": "424242", "csrf_token": token})
    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert field_error(html, "merge-into") == "There is no feature request with that number."
    assert 'value="424242"' in html
    assert api("GET", f"/{request_id}")[1]["status"] == "open"
