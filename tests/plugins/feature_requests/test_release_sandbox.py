"""End to end over real HTTP: helpdesk emulator -> signed webhooks -> links -> release -> comments/follow-ups.

Tickets are created in the helpdesk emulator as end users would (tagged ``fr_<id>`` by a trigger or an agent),
their webhooks reach the app served on loopback, the admin API is called over HTTP, and the worker performs
the deliveries against the emulator's API. What the requesters got is read back from the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.sandbox_fixtures import Emulator

MESSAGE = "Good news: it is now available."


@pytest.fixture
def admin(deskmate_server: Any, admin_headers: dict[str, str]) -> Any:
    """Call the app's admin API over HTTP: ``admin("POST", "/1/release", json=...)`` -> (status, body)."""

    def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        answer = requests.request(method, f"{deskmate_server.url}/admin/api/feature-requests{path}",
                                  headers=admin_headers, timeout=30, **kwargs)
        return answer.status_code, answer.json()

    return call


def new_ticket(helpdesk: Emulator, email: str, tags: list[str], subject: str = "4K downloads please") -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": email, "name": email.split("@")[0].title(), "subject": subject,
        "body": "I would love to download in 4K.", "tags": tags})
    return int(answer["ticket"]["id"])


def settle(helpdesk: Emulator, worker: Any) -> None:
    """Let the emulator deliver its webhooks, then let the worker handle them and perform what follows."""
    helpdesk.flush_deliveries()
    worker.run_until_idle()


def told(helpdesk: Emulator, ticket_ids: list[int]) -> int:
    """How many public release messages these tickets carry."""
    return sum(1 for ticket_id in ticket_ids
               for comment in helpdesk.api("GET", f"/tickets/{ticket_id}/comments.json")["comments"]
               if MESSAGE in comment["body"] and comment["public"])


def followups(helpdesk: Emulator, source_id: int) -> list[int]:
    return list(helpdesk.api("GET", f"/tickets/{source_id}.json")["ticket"].get("followup_ids") or [])


@pytest.fixture
def three_tickets(helpdesk: Emulator, worker: Any, admin: Any) -> dict[str, Any]:
    """One request, three tickets from two people (Ana twice, Bob once), linked through their fr_ tag."""
    status, body = admin("POST", "", json={"title": "4K downloads", "description": "Download videos in 4K",
                                           "changelog_url": "https://example.com/changelog/4k"})
    assert status == 201, body
    tag = f"fr_{body['id']}"
    ana = [new_ticket(helpdesk, "ana@viewers.example", [tag]) for _ in range(2)]
    bob = [new_ticket(helpdesk, "bob@viewers.example", [tag])]
    settle(helpdesk, worker)
    return {"id": body["id"], "ana": ana, "bob": bob}


def test_three_tickets_from_two_people_tell_each_person_once(helpdesk, worker, admin, three_tickets):
    request_id = three_tickets["id"]
    detail = admin("GET", f"/{request_id}")[1]
    assert (detail["requesters"], detail["tickets"]) == (2, 3)
    status, answer = admin("POST", f"/{request_id}/release", json={})
    assert (status, answer["recorded"]) == (200, 2)
    worker.run_until_idle()
    assert told(helpdesk, three_tickets["ana"]) == 1
    assert told(helpdesk, three_tickets["bob"]) == 1
    latest = helpdesk.api("GET", f"/tickets/{three_tickets['ana'][1]}/comments.json")["comments"][-1]
    assert latest["body"].startswith("Hi Ana,")  # on Ana's most recent open ticket, with her name
    assert "https://example.com/changelog/4k" in latest["body"]
    summary = admin("GET", f"/{request_id}/notices")[1]["summary"]
    assert (summary["delivered"], summary["comment"], summary["failed"]) == (2, 2, 0)
    assert admin("GET", f"/{request_id}")[1]["status"] == "released"


def test_person_whose_tickets_are_all_closed_gets_a_follow_up_instead(helpdesk, worker, admin, three_tickets):
    [bob_ticket] = three_tickets["bob"]
    helpdesk.api("PUT", f"/tickets/{bob_ticket}.json", json={"ticket": {"status": "closed"}})
    settle(helpdesk, worker)
    dry = admin("POST", f"/{three_tickets['id']}/release", json={"dry_run": True})[1]
    how = {person["requester_id"]: person["channel"] for person in dry["would_tell"]}
    assert sorted(how.values()) == ["comment", "followup"]
    admin("POST", f"/{three_tickets['id']}/release", json={})
    worker.run_until_idle()
    [followup_id] = followups(helpdesk, bob_ticket)
    followup = helpdesk.api("GET", f"/tickets/{followup_id}.json")["ticket"]
    assert followup["subject"] == "4K downloads is now available"
    assert told(helpdesk, [followup_id]) == 1
    assert told(helpdesk, three_tickets["ana"]) == 1


def test_running_the_release_again_sends_nothing(helpdesk, worker, admin, three_tickets):
    request_id = three_tickets["id"]
    admin("POST", f"/{request_id}/release", json={})
    worker.run_until_idle()
    before = helpdesk.stats()["by_endpoint"]
    for _ in range(2):
        status, answer = admin("POST", f"/{request_id}/release", json={})
        assert (status, answer["recorded"], answer["counts"]["already_told"]) == (200, 0, 2)
        admin("POST", f"/{request_id}/status", json={"status": "released"})
        worker.run_until_idle()
    after = helpdesk.stats()["by_endpoint"]
    writes = [name for name in after if name.startswith(("PUT", "POST")) and after[name] != before.get(name)]
    assert writes == []
    assert told(helpdesk, three_tickets["ana"] + three_tickets["bob"]) == 2


def test_merge_moves_requesters_without_counting_anyone_twice(helpdesk, worker, admin, three_tickets):
    target = three_tickets["id"]
    duplicate = admin("POST", "", json={"title": "Download in 4K", "description": "Same thing"})[1]["id"]
    ana_again = new_ticket(helpdesk, "ana@viewers.example", [f"fr_{duplicate}"])  # Ana asked again, elsewhere
    carl = new_ticket(helpdesk, "carl@viewers.example", [f"fr_{duplicate}"])
    settle(helpdesk, worker)
    status, answer = admin("POST", f"/{duplicate}/merge", json={"into": target})
    assert status == 200, answer
    assert (answer["target"]["requesters"], answer["target"]["tickets"]) == (3, 5)
    assert admin("GET", f"/{duplicate}")[1]["duplicate_of_id"] == target
    admin("POST", f"/{target}/release", json={})
    worker.run_until_idle()
    assert told(helpdesk, [*three_tickets["ana"], ana_again]) == 1  # Ana once, on her most recent ticket
    assert told(helpdesk, [carl]) == 1
    status, answer = admin("POST", f"/merges/{answer['merge']['id']}/undo", json={})
    assert status == 409
    assert "no longer be undone" in answer["error"]["message"]


def test_removing_the_tag_in_the_helpdesk_unlinks_the_ticket(helpdesk, worker, admin, three_tickets):
    [bob_ticket] = three_tickets["bob"]
    helpdesk.api("PUT", f"/tickets/{bob_ticket}.json", as_email=helpdesk.agent(),
                 json={"ticket": {"remove_tags": [f"fr_{three_tickets['id']}"]}})
    settle(helpdesk, worker)
    detail = admin("GET", f"/{three_tickets['id']}")[1]
    assert (detail["requesters"], detail["tickets"]) == (1, 2)
    assert bob_ticket not in [link["ticket_id"] for link in detail["links"]]


def test_release_command_shows_progress_and_ends_with_a_delivered_summary(helpdesk, worker, three_tickets,
                                                                          runner):
    [bob_ticket] = three_tickets["bob"]
    helpdesk.api("DELETE", f"/tickets/{bob_ticket}.json")  # Bob cannot be told: visible as a failure
    result = runner.invoke(args=["feature-requests", "release", str(three_tickets["id"]), "--work",
                                 "--timeout", "60"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output  # one notice failed for good
    assert "telling requesters" in result.output
    counts = next(line for line in result.output.splitlines() if line.count("│") == 7)
    assert [cell.strip() for cell in counts.split("│")[1:-1]] == ["1", "1", "0", "0", "1", "2"]
    assert "none of tickets" in result.output
    assert told(helpdesk, three_tickets["ana"]) == 1
    retry = runner.invoke(args=["feature-requests", "notices", str(three_tickets["id"]), "--retry"],
                          env={"COLUMNS": "200"})
    assert "1 failed notice(s) will be tried again" in retry.output
