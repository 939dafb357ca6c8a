"""Merging duplicates: links and requesters move to the target, nobody counts twice, undo until told."""

from __future__ import annotations

from tests.plugins.feature_requests.conftest import links


def link(api, request_id: int, ticket_id: int, requester_id: int) -> dict:
    body = {"ticket_id": ticket_id, "requester_id": requester_id}
    status, body = api("POST", f"/{request_id}/links", json=body)
    assert status in (200, 201), body
    return body


def test_merge_moves_links_and_counts_each_person_once(app, api, new_request):
    target, duplicate = new_request("4K downloads"), new_request("Download in 4K")
    link(api, target, 1, 501)
    link(api, target, 2, 502)
    link(api, duplicate, 2, 502)  # the same ticket on both: one link is enough
    link(api, duplicate, 3, 501)  # the same person through another ticket
    link(api, duplicate, 4, 503)
    status, body = api("POST", f"/{duplicate}/merge", json={"into": target})
    assert status == 200, body
    assert (body["target"]["requesters"], body["target"]["tickets"]) == (3, 4)
    assert body["merge"]["moved_links"] == 2
    dup = api("GET", f"/{duplicate}")[1]
    assert (dup["status"], dup["duplicate_of_id"]) == ("duplicate", target)
    assert [r["id"] for r in api("GET", "")[1]["feature_requests"]] == [target]


def test_undo_puts_links_and_status_back(app, api, new_request):
    target, duplicate = new_request("A"), new_request("B")
    api("POST", f"/{duplicate}/status", json={"status": "planned"})
    link(api, target, 1, 501)
    link(api, duplicate, 3, 504)
    before = links(app)
    merge_id = api("POST", f"/{duplicate}/merge", json={"into": target})[1]["merge"]["id"]
    assert links(app) != before
    status, body = api("POST", f"/merges/{merge_id}/undo", json={})
    assert status == 200, body
    assert links(app) == before
    assert (body["duplicate"]["status"], body["duplicate"]["duplicate_of_id"]) == ("planned", None)
    assert api("POST", f"/merges/{merge_id}/undo", json={})[0] == 409


def test_ticket_linked_to_a_duplicate_lands_on_its_target(app, api, new_request):
    target, duplicate = new_request("A"), new_request("B")
    api("POST", f"/{duplicate}/merge", json={"into": target})
    body = link(api, duplicate, 9, 509)
    assert (body["feature_request_id"], body["redirected_from"]) == (target, duplicate)
    assert links(app) == [(target, 9, 509, "api")]


def test_merging_into_a_duplicate_merges_into_its_target(api, new_request):
    first, second, third = new_request("A"), new_request("B"), new_request("C")
    api("POST", f"/{second}/merge", json={"into": first})
    body = api("POST", f"/{third}/merge", json={"into": second})[1]
    assert body["merge"]["target_id"] == first


def test_bad_merges_are_refused(api, new_request):
    first, second = new_request("A"), new_request("B")
    assert api("POST", f"/{first}/merge", json={"into": first})[0] == 409
    assert api("POST", f"/{first}/merge", json={"into": 999})[0] == 404
    assert api("POST", f"/{first}/merge", json={"into": "2"})[0] == 400
    api("POST", f"/{second}/merge", json={"into": first})
    status, body = api("POST", f"/{second}/merge", json={"into": first})
    assert status == 409
    assert "already a duplicate" in body["error"]["message"]
    assert api("POST", f"/{first}/merge", json={"into": second})[0] == 409  # would be merged into itself


def test_undo_is_refused_once_a_release_recorded_notices(api, new_request):
    target, duplicate = new_request("A"), new_request("B")
    link(api, duplicate, 3, 504)
    merge_id = api("POST", f"/{duplicate}/merge", json={"into": target})[1]["merge"]["id"]
    assert api("POST", f"/{target}/release", json={})[1]["recorded"] == 1
    status, body = api("POST", f"/merges/{merge_id}/undo", json={})
    assert status == 409
    assert "told" in body["error"]["message"]


def test_requesters_told_about_a_duplicate_are_not_told_again_about_its_target(api, new_request):
    target, duplicate = new_request("A"), new_request("B")
    link(api, duplicate, 3, 504)
    link(api, target, 5, 505)
    assert api("POST", f"/{duplicate}/release", json={})[1]["recorded"] == 1
    api("POST", f"/{duplicate}/merge", json={"into": target})
    answer = api("POST", f"/{target}/release", json={})[1]
    assert (answer["recorded"], answer["already_told"]) == (1, [504])
