"""The requests Deskmate sends to the helpdesk conform to Zendesk's OpenAPI document (kept in the repository).

Deskmate's own calls, made over real HTTP to the helpdesk emulator, which records what it receives: the install
command, the core's side effects (update_many and its job status, comments and their audits, a new ticket),
who Deskmate is, and a catch-up pass over the incremental exports. Each request's path, method, query
parameters and JSON body are checked against the document; its known gaps are in tests/zendesk_openapi.py.
The ``helpdesk`` fixture checks every sandbox-backed test the same way; this test says which calls surely were.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from app import catch_up, workqueue
from app.accounts import active_accounts
from app.db import storage
from app.effects import TICKET_COMMENT, TICKET_CREATE, TICKET_UPDATE
from app.zendesk import zendesk_clients
from tests.sandbox_fixtures import Emulator
from tests.zendesk_openapi import document_path, nonconforming_requests, zendesk_openapi


def new_ticket(helpdesk: Emulator, subject: str) -> int:
    answer = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": "viewer@example.com", "subject": subject, "body": "It stopped at minute 3."})
    return int(answer["ticket"]["id"])


def enqueue(app, account_id, clock, kind, key, payload):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind=kind, key=key, payload=payload, now=clock.now())


def test_deskmates_requests_conform_to_zendesks_openapi_document(app, helpdesk, worker, runner, account_id,
                                                                  clock, deskmate_server):
    received = helpdesk.state.requests_received
    assert received is not None  # the fixture records from the start
    installed = runner.invoke(args=["zendesk", "install", "--service-url", deskmate_server.url])
    assert installed.exit_code == 0, installed.output
    deskmates_own = len(received)

    tickets = [new_ticket(helpdesk, f"Stream froze {n}") for n in range(3)]
    group = helpdesk.api("POST", "/groups", json={"group": {"name": "Tier 2"}})["group"]
    after_setup = len(received)  # the test's own calls, acting as an agent, stop here
    for ticket_id in tickets:
        enqueue(app, account_id, clock, TICKET_UPDATE, f"route:{ticket_id}",
                {"ticket_id": ticket_id, "ticket": {"group_id": group["id"], "priority": "high",
                                                    "additional_tags": ["tier_2"], "remove_tags": ["new"]}})
    enqueue(app, account_id, clock, TICKET_COMMENT, "notice:1",
            {"ticket_id": tickets[0], "body": "We are looking into it.", "public": False})
    enqueue(app, account_id, clock, TICKET_CREATE, "followup:1",
            {"ticket": {"subject": "Follow-up", "comment": {"body": "Did it work?"}, "requester_id":
                        helpdesk.state.tickets[tickets[0]]["requester_id"], "tags": ["followup"]}})
    worker.run_until_idle()
    with app.app_context():
        assert zendesk_clients.for_account(active_accounts(app)[0], app).own_user_id() is not None
    helpdesk.state.options["ticket_events_delay_seconds"] = 0
    time.sleep(1.05)  # the export's times are whole seconds
    clock.set(datetime.now(UTC).replace(microsecond=0))
    catch_up.run_pass(app, active_accounts(app)[0], force=True)

    ours = received[:deskmates_own] + received[after_setup:]
    called = {(r.method, _operation(r.path)) for r in ours}
    for operation in [("GET", "/triggers"), ("POST", "/triggers"), ("POST", "/webhooks"),
                      ("PUT", "/tickets/update_many"), ("GET", "/job_statuses/{id}"), ("PUT", "/tickets/{id}"),
                      ("POST", "/tickets"), ("GET", "/users/me"), ("GET", "/incremental/tickets/cursor")]:
        assert operation in called, sorted(called)
    assert nonconforming_requests(zendesk_openapi(), ours) == []


def _operation(path: str) -> str:
    """``/api/v2/tickets/12.json`` -> ``/tickets/{id}``, to name which operations were called."""
    parts = document_path(path).removeprefix("/api/v2").split("/")
    return "/".join("{id}" if part.isdigit() or len(part) > 20 else part for part in parts)
