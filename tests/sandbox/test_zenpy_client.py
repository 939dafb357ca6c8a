"""Unmodified zenpy works against the helpdesk emulator over real HTTP."""

from __future__ import annotations

import time
from typing import Any

from zenpy.lib.api_objects import Comment, Ticket, User

from sandbox.testing import RunningHelpdesk


def test_zenpy_shows_creates_and_updates_tickets(zenpy_client: Any, helpdesk: RunningHelpdesk) -> None:
    audit = zenpy_client.tickets.create(
        Ticket(subject="Abo gekündigt", description="Bitte prüfen", priority="normal", tags=["billing"])
    )
    ticket = zenpy_client.tickets(id=audit.ticket.id)
    assert ticket.subject == "Abo gekündigt" and ticket.tags == ["billing"]
    ticket.status = "pending"
    ticket.comment = Comment(body="Wir melden uns", public=True)
    zenpy_client.tickets.update(ticket)
    stored = helpdesk.state.get_ticket(ticket.id)
    assert stored["status"] == "pending"
    comments = list(zenpy_client.tickets.comments(ticket=ticket.id))
    assert [c.body for c in comments] == ["Bitte prüfen", "Wir melden uns"]


def test_zenpy_update_many_returns_a_job_status(zenpy_client: Any, helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.jobs.delay = 0.05
    ids = [helpdesk.state.create_ticket({"comment": {"body": f"t{n}"}})["id"] for n in range(3)]
    tickets = [zenpy_client.tickets(id=i) for i in ids]
    for ticket in tickets:
        ticket.priority = "urgent"
    job = zenpy_client.tickets.update(tickets)
    deadline = time.monotonic() + 10
    while job.status != "completed" and time.monotonic() < deadline:
        job = zenpy_client.job_status(id=job.id)
    assert job.status == "completed" and job.total == 3
    assert [r.success for r in job.results] == [True, True, True]
    assert {helpdesk.state.get_ticket(i)["priority"] for i in ids} == {"urgent"}


def test_zenpy_search_users_and_organizations(zenpy_client: Any, helpdesk: RunningHelpdesk) -> None:
    state = helpdesk.state
    org = state.create_organization(
        {"name": "Cine Sol", "domain_names": ["cinesol.example"], "tags": ["partner"]}
    )
    fan = state.create_user({"name": "Pablo", "email": "pablo@cinesol.example"})
    open_ticket = state.create_ticket({"comment": {"body": "x"}, "requester_id": fan["id"], "status": "open"})
    state.create_ticket({"comment": {"body": "y"}, "requester_id": fan["id"], "status": "solved"})
    found = list(zenpy_client.search(type="ticket", status_less_than="solved", requester=fan["id"]))
    assert [t.id for t in found] == [open_ticket["id"]]
    users = list(zenpy_client.search(type="user", email="pablo@cinesol.example"))
    assert [u.id for u in users] == [fan["id"]]
    assert zenpy_client.users(id=fan["id"]).organization_id == org["id"]
    assert zenpy_client.organizations(id=org["id"]).tags == ["partner"]
    assert zenpy_client.users.me().email == state.admin_email
    created = zenpy_client.users.create(User(name="Nina", email="nina@example.org"))
    assert state.user_by_email("nina@example.org")["id"] == created.id  # type: ignore[index]


def test_zenpy_lists_every_ticket_across_pages(zenpy_client: Any, helpdesk: RunningHelpdesk) -> None:
    for n in range(120):
        helpdesk.state.create_ticket({"comment": {"body": f"t{n}"}})
    assert len(list(zenpy_client.tickets())) == 120


def test_zenpy_waits_out_retry_after(zenpy_client: Any, helpdesk: RunningHelpdesk) -> None:
    ticket = helpdesk.state.create_ticket({"comment": {"body": "x"}})
    helpdesk.state.faults.set(storm_seconds=1)
    started = time.monotonic()
    assert zenpy_client.tickets(id=ticket["id"]).id == ticket["id"]
    assert time.monotonic() - started >= 1  # zenpy slept for the integer Retry-After, then succeeded
    stats = helpdesk.control("GET", "/stats").json()
    assert stats["storm_429"] == 1 and stats["by_status"]["200"] == 1
