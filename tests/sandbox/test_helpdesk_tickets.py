"""The helpdesk emulator's ticket API behaves like Zendesk's over real HTTP."""

from __future__ import annotations

import time

import requests

from sandbox.testing import RunningHelpdesk
from sandbox.zendesk import HelpdeskState


def _requester(state: HelpdeskState, email: str = "viewer@example.org") -> int:
    return int(state.create_user({"name": "Viewer", "email": email})["id"])


def _new_ticket(helpdesk: RunningHelpdesk, **fields: object) -> dict:
    body = {
        "ticket": {
            "subject": "Stream stutters",
            "comment": {"body": "The live stream keeps buffering"},
            **fields,
        }
    }
    response = helpdesk.api("POST", "/tickets.json", json=body)
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


def test_create_then_show_ticket_in_zendesk_shape(helpdesk: RunningHelpdesk) -> None:
    requester_id = _requester(helpdesk.state)
    created = _new_ticket(helpdesk, requester_id=requester_id, priority="high", tags=["Live", "live ppv"])
    shown = helpdesk.api("GET", f"/tickets/{created['id']}.json").json()["ticket"]
    assert shown["requester_id"] == requester_id
    assert shown["status"] == "new"
    assert shown["priority"] == "high"
    assert shown["tags"] == ["live", "ppv"]
    assert shown["description"] == "The live stream keeps buffering"
    assert shown["via"]["channel"] == "api"
    assert shown["url"] == f"{helpdesk.url}/api/v2/tickets/{created['id']}.json"
    assert shown["created_at"].endswith("Z") and len(shown["created_at"]) == 20


def test_idempotency_key_returns_same_ticket_and_refuses_other_body(helpdesk: RunningHelpdesk) -> None:
    body = {"ticket": {"subject": "Refund", "comment": {"body": "Please refund my PPV"}}}
    first = helpdesk.api("POST", "/tickets.json", json=body, headers={"Idempotency-Key": "k-1"})
    again = helpdesk.api("POST", "/tickets.json", json=body, headers={"Idempotency-Key": "k-1"})
    other = {"ticket": {"subject": "Refund", "comment": {"body": "A different body"}}}
    reused = helpdesk.api("POST", "/tickets.json", json=other, headers={"Idempotency-Key": "k-1"})
    assert first.headers["x-idempotency-lookup"] == "miss"
    assert again.headers["x-idempotency-lookup"] == "hit"
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
    assert len(helpdesk.state.tickets) == 1
    assert reused.status_code == 400
    assert reused.json()["error"] == "IdempotencyKeyReused"


def test_tags_replace_add_and_remove(helpdesk: RunningHelpdesk) -> None:
    ticket = _new_ticket(helpdesk, tags=["a", "b"])
    path = f"/tickets/{ticket['id']}.json"
    added = helpdesk.api("PUT", path, json={"ticket": {"additional_tags": ["c"], "remove_tags": ["a"]}})
    assert added.json()["ticket"]["tags"] == ["b", "c"]
    replaced = helpdesk.api("PUT", path, json={"ticket": {"tags": ["z"]}})
    assert replaced.json()["ticket"]["tags"] == ["z"]


def test_update_records_comment_and_audit_metadata(helpdesk: RunningHelpdesk) -> None:
    ticket = _new_ticket(helpdesk)
    update = {
        "ticket": {
            "status": "pending",
            "comment": {"body": "Internal: checking CDN", "public": False},
            "metadata": {"deskmate": {"decision": "route-42"}},
        }
    }
    answer = helpdesk.api("PUT", f"/tickets/{ticket['id']}.json", json=update).json()
    assert answer["ticket"]["status"] == "pending"
    assert answer["audit"]["metadata"]["custom"] == {"deskmate": {"decision": "route-42"}}
    comments = helpdesk.api("GET", f"/tickets/{ticket['id']}/comments.json").json()["comments"]
    assert [c["public"] for c in comments] == [True, False]
    assert comments[1]["body"] == "Internal: checking CDN"
    audits = helpdesk.api("GET", f"/tickets/{ticket['id']}/audits.json").json()["audits"]
    markers = [a["metadata"]["custom"].get("deskmate") for a in audits]
    assert markers == [None, {"decision": "route-42"}]
    changes = [e for e in audits[1]["events"] if e["type"] == "Change"]
    assert {"field_name": "status", "value": "pending", "previous_value": "new"}.items() <= changes[0].items()


def test_closed_ticket_refuses_updates_and_accepts_follow_up(helpdesk: RunningHelpdesk) -> None:
    ticket = _new_ticket(helpdesk)
    helpdesk.api("PUT", f"/tickets/{ticket['id']}.json", json={"ticket": {"status": "closed"}})
    refused = helpdesk.api("PUT", f"/tickets/{ticket['id']}.json", json={"ticket": {"status": "open"}})
    assert refused.status_code == 422
    assert refused.json()["error"] == "RecordInvalid"
    assert "closed prevents ticket update" in refused.json()["details"]["status"][0]["description"]
    follow_up = _new_ticket(helpdesk, via_followup_source_id=ticket["id"])
    assert follow_up["via"]["source"]["rel"] == "follow_up"
    original = helpdesk.api("GET", f"/tickets/{ticket['id']}.json").json()["ticket"]
    assert original["followup_ids"] == [follow_up["id"]]
    open_ticket = _new_ticket(helpdesk)
    bad = helpdesk.api(
        "POST",
        "/tickets.json",
        json={"ticket": {"comment": {"body": "x"}, "via_followup_source_id": open_ticket["id"]}},
    )
    assert bad.status_code == 422


def test_errors_have_zendesk_shapes(helpdesk: RunningHelpdesk) -> None:
    missing = helpdesk.api("GET", "/tickets/999.json")
    assert missing.status_code == 404
    assert missing.json() == {"error": "RecordNotFound", "description": "Not found"}
    blank = helpdesk.api("POST", "/tickets.json", json={"ticket": {"subject": "no body"}})
    assert blank.status_code == 422
    assert blank.json()["details"]["description"][0]["error"] == "BlankValue"
    bad_status = helpdesk.api(
        "POST", "/tickets.json", json={"ticket": {"comment": {"body": "x"}, "status": "frozen"}}
    )
    assert bad_status.status_code == 422 and "status" in bad_status.json()["details"]
    anonymous = requests.get(f"{helpdesk.url}/api/v2/tickets.json", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": "Couldn't authenticate you"}
    wrong_token = requests.get(
        f"{helpdesk.url}/api/v2/tickets.json", timeout=5, auth=(f"{helpdesk.state.admin_email}/token", "nope")
    )
    assert wrong_token.status_code == 401
    bearer = requests.get(
        f"{helpdesk.url}/api/v2/tickets.json",
        timeout=5,
        headers={"Authorization": "Bearer sandbox-oauth-token"},
    )
    assert bearer.status_code == 200


def test_cursor_pagination_walks_every_ticket_once(helpdesk: RunningHelpdesk) -> None:
    requester_id = _requester(helpdesk.state)
    for n in range(7):
        helpdesk.state.create_ticket(
            {"subject": f"t{n}", "comment": {"body": "x"}, "requester_id": requester_id}
        )
    seen: list[int] = []
    url: str | None = f"{helpdesk.url}/api/v2/tickets.json?page[size]=3"
    while url:
        page = helpdesk.session.get(url, timeout=5).json()
        seen += [t["id"] for t in page["tickets"]]
        url = page["links"]["next"] if page["meta"]["has_more"] else None
    assert seen == sorted(helpdesk.state.tickets)
    offset = helpdesk.api("GET", "/tickets.json?per_page=5").json()
    assert offset["count"] == 7 and len(offset["tickets"]) == 5 and "page=2" in offset["next_page"]


def test_show_many_skips_unknown_ids(helpdesk: RunningHelpdesk) -> None:
    a, b = _new_ticket(helpdesk), _new_ticket(helpdesk)
    found = helpdesk.api("GET", f"/tickets/show_many.json?ids={a['id']},{b['id']},4242").json()["tickets"]
    assert [t["id"] for t in found] == [a["id"], b["id"]]


def _poll_job(helpdesk: RunningHelpdesk, job_id: str) -> tuple[set[str], dict]:
    seen: set[str] = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = helpdesk.api("GET", f"/job_statuses/{job_id}.json").json()["job_status"]
        seen.add(job["status"])
        if job["status"] in ("completed", "failed"):
            return seen, job
        time.sleep(0.01)  # poll interval, not a wait for the work itself
    raise AssertionError("job did not finish")


def test_update_many_with_ids_reports_each_ticket(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.jobs.delay = 0.3
    ok = _new_ticket(helpdesk)
    closed = _new_ticket(helpdesk)
    helpdesk.api("PUT", f"/tickets/{closed['id']}.json", json={"ticket": {"status": "closed"}})
    answer = helpdesk.api(
        "PUT",
        f"/tickets/update_many.json?ids={ok['id']},{closed['id']},777",
        json={"ticket": {"group_id": None, "additional_tags": ["bulk"]}},
    ).json()["job_status"]
    assert answer["status"] == "queued" and answer["total"] == 3
    seen, job = _poll_job(helpdesk, answer["id"])
    assert "completed" in seen
    assert job["results"][0] == {"action": "update", "id": ok["id"], "status": "Updated", "success": True}
    assert job["results"][1]["success"] is False and job["results"][1]["error"] == "RecordInvalid"
    assert job["results"][2]["success"] is False and job["results"][2]["error"] == "RecordNotFound"
    assert helpdesk.state.get_ticket(ok["id"])["tags"] == ["bulk"]


def test_update_many_with_per_ticket_values(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.jobs.delay = 0.0
    a, b = _new_ticket(helpdesk), _new_ticket(helpdesk)
    body = {"tickets": [{"id": a["id"], "priority": "urgent"}, {"id": b["id"], "status": "solved"}]}
    job_id = helpdesk.api("PUT", "/tickets/update_many.json", json=body).json()["job_status"]["id"]
    _, job = _poll_job(helpdesk, job_id)
    assert [r["success"] for r in job["results"]] == [True, True]
    assert helpdesk.state.get_ticket(a["id"])["priority"] == "urgent"
    assert helpdesk.state.get_ticket(b["id"])["status"] == "solved"
    many = helpdesk.api("GET", f"/job_statuses/show_many.json?ids={job_id}").json()["job_statuses"]
    assert [j["id"] for j in many] == [job_id]


def test_more_than_100_items_is_too_many_values(helpdesk: RunningHelpdesk) -> None:
    ids = ",".join(str(i) for i in range(1, 102))
    by_ids = helpdesk.api("PUT", f"/tickets/update_many.json?ids={ids}", json={"ticket": {"status": "open"}})
    assert by_ids.status_code == 400
    assert by_ids.json()["error"] == "TooManyValues" and by_ids.json()["max_count"] == 100
    listed = helpdesk.api(
        "PUT", "/tickets/update_many.json", json={"tickets": [{"id": i} for i in range(101)]}
    )
    assert listed.status_code == 400 and listed.json()["error"] == "TooManyValues"


def test_create_many_creates_in_a_job(helpdesk: RunningHelpdesk) -> None:
    body = {"tickets": [{"subject": f"s{i}", "comment": {"body": "b"}} for i in range(3)]}
    job_id = helpdesk.api("POST", "/tickets/create_many.json", json=body).json()["job_status"]["id"]
    _, job = _poll_job(helpdesk, job_id)
    assert [r["index"] for r in job["results"]] == [0, 1, 2]
    assert all(r["status"] == "Created" for r in job["results"])
    assert len(helpdesk.state.tickets) == 3


def test_requester_reply_reopens_and_agent_reply_sets_first_reply_metric(helpdesk: RunningHelpdesk) -> None:
    state = helpdesk.state
    agent = state.create_user({"name": "Agent Smith", "email": "smith@deskmate.example", "role": "agent"})
    requester_id = _requester(state)
    ticket = state.create_ticket(
        {"comment": {"body": "help"}, "requester_id": requester_id},
        actor_id=requester_id,
        channel="web",
        at=time.time() - 1800,
    )
    state.add_comment(ticket["id"], "We are on it", author_id=agent["id"])
    state.update_ticket(ticket["id"], {"status": "solved"}, actor_id=agent["id"])
    state.add_comment(ticket["id"], "Still broken", author_id=requester_id)
    assert state.get_ticket(ticket["id"])["status"] == "open"
    metric = helpdesk.api("GET", f"/tickets/{ticket['id']}/metrics.json").json()["ticket_metric"]
    assert metric["reply_time_in_minutes"] == {"calendar": 30, "business": 30}
    assert metric["replies"] == 1 and metric["reopens"] == 1
    listed = helpdesk.api("GET", "/ticket_metrics.json").json()["ticket_metrics"]
    assert [m["ticket_id"] for m in listed] == [ticket["id"]]


def test_show_ticket_sideloads_users_and_organization(helpdesk: RunningHelpdesk) -> None:
    org = helpdesk.state.create_organization({"name": "Kino Nord", "domain_names": ["kinonord.example"]})
    requester_id = _requester(helpdesk.state, "lea@kinonord.example")
    ticket = _new_ticket(helpdesk, requester_id=requester_id)
    plain = helpdesk.api("GET", f"/tickets/{ticket['id']}.json").json()
    assert set(plain) == {"ticket"}
    loaded = helpdesk.api("GET", f"/tickets/{ticket['id']}.json?include=users,organizations").json()
    assert {u["id"] for u in loaded["users"]} == {
        requester_id,
        helpdesk.state.admin_id,
    }  # requester, submitter
    assert [o["id"] for o in loaded["organizations"]] == [org["id"]]
