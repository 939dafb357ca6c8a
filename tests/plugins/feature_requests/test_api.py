"""The admin API: create, list by demand (premium partners first), detail, status history, validation."""

from __future__ import annotations

import pytest


def link(api, request_id: int, ticket_id: int, requester_id: int, organization_id: int | None = None) -> None:
    body = {"ticket_id": ticket_id, "requester_id": requester_id, "organization_id": organization_id}
    status, body = api("POST", f"/{request_id}/links", json=body)
    assert status in (200, 201), body


def test_created_request_starts_open_with_its_history(new_request, api):
    request_id = new_request("Offline playlists", "Let me save playlists", changelog_url="https://x.example/c")
    status, body = api("GET", f"/{request_id}")
    assert status == 200
    assert (body["title"], body["status"], body["requesters"], body["tag"]) == (
        "Offline playlists", "open", 0, f"fr_{request_id}")
    assert [(step["from"], step["to"]) for step in body["history"]] == [(None, "open")]


def test_list_sorts_by_demand_with_premium_partners_first(worker, new_request, api, routed):
    popular, premium, quiet = new_request("Popular"), new_request("Premium"), new_request("Quiet")
    for ticket_id, requester_id in ((1, 11), (2, 12), (3, 13)):
        link(api, popular, ticket_id, requester_id)
    link(api, premium, 4, 14)
    routed(4, 14, "premium_partner")
    worker.run_until_idle()
    status, body = api("GET", "?sort=demand")
    assert status == 200
    assert [(r["id"], r["premium_requesters"], r["requesters"]) for r in body["feature_requests"]] == [
        (premium, 1, 1), (popular, 0, 3), (quiet, 0, 0)]


def test_one_person_with_several_tickets_counts_once(new_request, api):
    request_id = new_request()
    for ticket_id in (21, 22, 23):
        link(api, request_id, ticket_id, 501, organization_id=9)
    link(api, request_id, 24, 502)
    body = api("GET", f"/{request_id}")[1]
    assert (body["requesters"], body["tickets"], body["organizations"]) == (2, 4, 1)
    assert [(p["requester_id"], [t["id"] for t in p["tickets"]]) for p in body["requester_list"]] == [
        (501, [21, 22, 23]), (502, [24])]


def test_list_filters_by_status_and_words(new_request, api):
    first, second = new_request("Dark mode"), new_request("Offline mode")
    api("POST", f"/{second}/status", json={"status": "planned"})
    assert [r["id"] for r in api("GET", "?status=planned")[1]["feature_requests"]] == [second]
    assert [r["id"] for r in api("GET", "?q=dark")[1]["feature_requests"]] == [first]
    assert api("GET", "?status=bogus")[0] == 400
    assert api("GET", "?sort=random")[0] == 400


def test_status_changes_are_kept_in_order_with_notes(new_request, api):
    request_id = new_request()
    api("POST", f"/{request_id}/status", json={"status": "planned", "note": "Q3"})
    api("POST", f"/{request_id}/status", json={"status": "in_progress"})
    history = api("GET", f"/{request_id}")[1]["history"]
    assert [(h["from"], h["to"], h["note"]) for h in history] == [
        (None, "open", "created"), ("open", "planned", "Q3"), ("planned", "in_progress", None)]


@pytest.mark.parametrize(("body", "message"), [
    ({"status": "shipped"}, "status must be one of"),
    ({"status": "duplicate"}, "merge the request"),
    ({}, "status is required"),
    ({"status": "planned", "note": 5}, "note must be a string"),
])
def test_bad_status_change_is_refused_with_a_message(new_request, api, body, message):
    request_id = new_request()
    status, answer = api("POST", f"/{request_id}/status", json=body)
    assert status in (400, 409)
    assert message in answer["error"]["message"]


@pytest.mark.parametrize(("body", "message"), [
    ({}, "title is required"),
    ({"title": "  "}, "title must not be empty"),
    ({"title": "x" * 201}, "longer than 200"),
    ({"title": "ok", "changelog_url": "javascript:alert(1)"}, "http(s) URL"),
    ({"title": 5}, "title must be a string"),
])
def test_bad_request_is_refused_and_nothing_is_created(api, body, message):
    status, answer = api("POST", "", json=body)
    assert status == 400
    assert message in answer["error"]["message"]
    assert api("GET", "")[1]["total"] == 0


def test_non_json_body_and_unknown_request_are_4xx(api, client, admin_headers):
    answer = client.post("/admin/api/feature-requests", data="title=x", headers=admin_headers)
    assert answer.status_code == 400
    assert api("GET", "/999")[0] == 404
    assert api("PATCH", "/999", json={"title": "x"})[0] == 404


def test_update_changes_fields_and_refuses_status(new_request, api):
    request_id = new_request()
    status, body = api("PATCH", f"/{request_id}", json={"title": "4K offline downloads",
                                                        "changelog_url": "https://example.com/4k"})
    assert (status, body["title"], body["changelog_url"]) == (200, "4K offline downloads", "https://example.com/4k")
    status, body = api("PATCH", f"/{request_id}", json={"status": "released"})
    assert status == 400
    assert "status endpoint" in body["error"]["message"]


def test_every_route_needs_an_admin_token(client, new_request):
    request_id = new_request()
    for method, path in (("GET", ""), ("POST", ""), ("GET", f"/{request_id}"), ("PATCH", f"/{request_id}"),
                         ("POST", f"/{request_id}/status"), ("POST", f"/{request_id}/links"),
                         ("DELETE", f"/{request_id}/links/1"), ("POST", f"/{request_id}/merge"),
                         ("POST", "/merges/1/undo"), ("POST", f"/{request_id}/release"),
                         ("GET", f"/{request_id}/notices"), ("GET", "/suggestions?text=x")):
        assert client.open("/admin/api/feature-requests" + path, method=method, json={}).status_code == 401


def test_another_accounts_requests_are_invisible(app, api, new_request, clock, runner):
    from app.accounts import upsert_account

    mine = new_request("Mine")
    upsert_account(app, subdomain="other", now=clock.now(), zendesk_account_id=77)
    token = runner.invoke(args=["tokens", "create", "--name", "them", "--account", "other"]).output.strip()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get(f"/admin/api/feature-requests/{mine}", headers=headers).status_code == 404
    assert client.get("/admin/api/feature-requests", headers=headers).get_json()["total"] == 0
    assert api("GET", "")[1]["total"] == 1


def test_suggestions_rank_similar_requests_first(new_request, api):
    downloads = new_request("Download videos in 4K", "Offline downloads at 4K resolution")
    new_request("Dark mode", "A darker theme for the player at night")
    playlists = new_request("Shared playlists", "Collaborate on playlists with friends")
    body = api("GET", "/suggestions?text=can I download a video in 4k?")[1]
    assert [s["id"] for s in body["suggestions"]][:1] == [downloads]
    body = api("GET", "/suggestions?text=playlist with my friend")[1]
    assert body["suggestions"][0]["id"] == playlists
    assert api("GET", "/suggestions?text=" + "x" * 2001)[0] == 400


def test_out_of_range_ids_are_4xx_not_errors(api, new_request):
    request_id = new_request()
    huge = 10**20
    assert api("GET", f"/{huge}")[0] == 404
    assert api("DELETE", f"/{request_id}/links/{huge}")[0] == 404
    assert api("POST", f"/{request_id}/links", json={"ticket_id": huge})[0] == 422  # past 64 bits: at the door
    assert api("POST", f"/{request_id}/links", json={"ticket_id": 2**63})[0] == 422
    assert api("POST", f"/{request_id}/links", json={"ticket_id": -1})[0] == 400
    assert api("POST", f"/{request_id}/merge", json={"into": 2**40})[0] == 404
    assert api("GET", "?limit=abc")[0] == 400
