"""Linking tickets to requests by tag (webhooks), by the API, and unlinking the same ways."""

from __future__ import annotations

from tests.plugins.feature_requests.conftest import links


def test_ticket_created_with_a_request_tag_is_linked_to_it(app, worker, new_request, ticket_webhook):
    request_id = new_request()
    ticket_webhook(10, tags=[f"fr_{request_id}", "video"], requester_id=501)
    worker.run_until_idle()
    assert links(app) == [(request_id, 10, 501, "tag")]


def test_tag_added_later_links_and_tag_removed_unlinks(app, worker, new_request, ticket_webhook):
    request_id = new_request()
    ticket_webhook(11, requester_id=502)
    ticket_webhook(11, "ticket.tags_changed", tags=[f"fr_{request_id}"], requester_id=502,
                   event={"tags": {"added": [f"fr_{request_id}"], "removed": []}})
    worker.run_until_idle()
    assert links(app) == [(request_id, 11, 502, "tag")]
    ticket_webhook(11, "ticket.tags_changed", tags=[], requester_id=502,
                   event={"tags": {"added": [], "removed": [f"fr_{request_id}"]}})
    worker.run_until_idle()
    assert links(app) == []


def test_removal_of_an_unrelated_tag_keeps_a_link_made_through_the_api(app, worker, new_request,
                                                                       ticket_webhook, api):
    request_id = new_request()
    assert api("POST", f"/{request_id}/links", json={"ticket_id": 12, "requester_id": 503})[0] == 201
    ticket_webhook(12, "ticket.tags_changed", tags=["vip"], requester_id=503,
                   event={"tags": {"added": ["vip"], "removed": ["old"]}})
    worker.run_until_idle()
    assert links(app) == [(request_id, 12, 503, "api")]


def test_a_late_tag_event_does_not_undo_a_newer_one(app, worker, new_request, ticket_webhook):
    request_id = new_request()
    tag = f"fr_{request_id}"
    ticket_webhook(13, "ticket.tags_changed", time="2026-11-23T10:00:05Z", tags=[], requester_id=504,
                   event={"tags": {"added": [], "removed": [tag]}})
    ticket_webhook(13, "ticket.tags_changed", time="2026-11-23T10:00:01Z", tags=[tag], requester_id=504,
                   event={"tags": {"added": [tag], "removed": []}})
    worker.run_until_idle()
    assert links(app) == []


def test_the_same_webhook_delivered_twice_links_once(app, worker, new_request, post_webhook):
    from tests.conftest import ticket_event

    request_id = new_request()
    body = ticket_event(14, tags=[f"fr_{request_id}"], requester_id=505)
    post_webhook(body)
    post_webhook(body)
    worker.run_until_idle()
    assert links(app) == [(request_id, 14, 505, "tag")]


def test_tag_of_an_unknown_request_is_ignored(app, worker, ticket_webhook):
    ticket_webhook(15, tags=["fr_999"])
    worker.run_until_idle()
    assert links(app) == []


def test_link_without_known_requester_is_filled_in_from_later_events(app, worker, new_request, api,
                                                                     ticket_webhook):
    request_id = new_request()
    api("POST", f"/{request_id}/links", json={"ticket_id": 16})
    ticket_webhook(16, "ticket.status_changed", requester_id=506, status="OPEN",
                   event={"current": "OPEN", "previous": "NEW"})
    worker.handle_events()
    assert links(app) == [(request_id, 16, 506, "api")]


def test_api_unlink_removes_the_link_and_a_second_unlink_is_404(app, new_request, api):
    request_id = new_request()
    api("POST", f"/{request_id}/links", json={"ticket_id": 17, "requester_id": 507})
    assert api("DELETE", f"/{request_id}/links/17") == (200, {"removed": 1})
    status, body = api("DELETE", f"/{request_id}/links/17")
    assert status == 404
    assert "not linked" in body["error"]["message"]
    assert links(app) == []


def test_linking_the_same_ticket_twice_is_one_link(app, new_request, api):
    request_id = new_request()
    first = api("POST", f"/{request_id}/links", json={"ticket_id": 18, "requester_id": 508})
    second = api("POST", f"/{request_id}/links", json={"ticket_id": 18, "requester_id": 508})
    assert (first[0], second[0], second[1]["created"]) == (201, 200, False)
    assert links(app) == [(request_id, 18, 508, "api")]


def test_link_with_a_bad_ticket_id_is_refused(new_request, api):
    request_id = new_request()
    for bad in ("18", -1, True, None):
        status, body = api("POST", f"/{request_id}/links", json={"ticket_id": bad})
        assert status == 400, bad
        assert "ticket_id" in body["error"]["message"]


def trigger_body(ticket_id: int, tags: str, time: str) -> dict:
    """Deskmate's own trigger payload (for accounts that use triggers): whole tag list, no diff."""
    return {"deskmate": 1, "type": "ticket.updated", "time": time,
            "ticket": {"id": str(ticket_id), "status": "open", "requester_id": "510", "tags": tags,
                       "updated_at": time}}


def test_trigger_payloads_link_by_the_whole_tag_list_and_unlink_only_tag_made_links(app, worker, new_request,
                                                                                    api, post_webhook):
    by_tag, by_agent = new_request("By tag"), new_request("By agent")
    api("POST", f"/{by_agent}/links", json={"ticket_id": 19, "requester_id": 510})
    post_webhook(trigger_body(19, f"fr_{by_tag} vip", "2026-11-23T10:00:00Z"))
    worker.run_until_idle()
    assert links(app) == [(by_tag, 19, 510, "tag"), (by_agent, 19, 510, "api")]
    post_webhook(trigger_body(19, "vip", "2026-11-23T10:05:00Z"))
    worker.run_until_idle()
    assert links(app) == [(by_agent, 19, 510, "api")]
