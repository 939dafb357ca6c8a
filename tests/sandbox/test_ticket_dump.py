"""The unmetered ticket dump benchmarks use to check invariants without spending API quota."""

from __future__ import annotations


def test_dump_lists_changes_and_comments_without_counting_as_api_calls(helpdesk):
    created = helpdesk.control("POST", "/tickets", json={"requester_email": "fan@example.com", "subject": "Hi",
                                                         "body": "Stream froze"}).json()["ticket"]
    helpdesk.api("PUT", f"/tickets/{created['id']}.json", json={"ticket": {
        "priority": "high", "comment": {"body": "On it", "public": True}, "metadata": {"deskmate_key": "k1"}}})
    before = helpdesk.control("GET", "/stats").json()["api_calls"]
    [ticket] = helpdesk.control("GET", "/tickets").json()["tickets"]
    assert helpdesk.control("GET", "/stats").json()["api_calls"] == before
    assert ticket["id"] == created["id"]
    assert any(change["field"] == "priority" and change["value"] == "high" for change in ticket["changes"])
    assert [c["body"] for c in ticket["comments"]] == ["Stream froze", "On it"]
    assert ticket["comments"][1]["deskmate_key"] == "k1"
    assert helpdesk.control("GET", f"/tickets?since_id={created['id']}").json()["tickets"] == []
