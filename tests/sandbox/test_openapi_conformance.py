"""The helpdesk emulator's answers validate against Zendesk's own OpenAPI document, kept in the repository.

Where the document is wrong or silent (null members, the `deleted` status, endpoints it does not describe), the
deviation is listed once, with why, in tests/zendesk_openapi.py. Error bodies are not described by the document
and are checked by hand at the end of this module. The requests Deskmate sends are checked against the same
document in tests/core/test_openapi_requests.py and by the `helpdesk` fixture of every sandbox-backed test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from openapi_core import OpenAPI

from sandbox.testing import RunningHelpdesk, start_helpdesk
from tests.zendesk_openapi import nonconforming_requests, validate_answer, zendesk_openapi


@pytest.fixture(scope="session")
def openapi() -> OpenAPI:
    """Zendesk's OpenAPI document, with the deviations listed in tests/zendesk_openapi.py."""
    return zendesk_openapi()


def assert_conforms(openapi: OpenAPI, response: requests.Response, body: Any = None) -> None:
    """Validate one emulator answer against the operation the document defines for its path."""
    assert response.status_code < 400, response.text
    path = urlsplit(response.request.url or "").path
    validate_answer(openapi, response.request.method or "GET", path, response.status_code,
                    response.json() if body is None else body)


@pytest.fixture(scope="module")
def account() -> Iterator[tuple[RunningHelpdesk, dict[str, Any]]]:
    """A helpdesk with a little of everything, shared by the read-only checks."""
    running = start_helpdesk(job_delay=0.0)
    state = running.state
    tier1 = state.create_group({"name": "Tier 1"})
    tier2 = state.create_group({"name": "Tier 2"})
    org = state.create_organization(
        {
            "name": "Studio Aurora",
            "domain_names": ["studio-aurora.example"],
            "tags": ["premium_partner"],
            "group_id": tier2["id"],
            "organization_fields": {"partner_tier": "premium"},
        }
    )
    agent = state.create_user(
        {
            "name": "Marta Rossi",
            "email": "marta@deskmate.example",
            "role": "agent",
            "default_group_id": tier1["id"],
        }
    )
    fan = state.create_user({"name": "Lea Schulz", "email": "lea@studio-aurora.example", "locale": "de"})
    ticket = state.create_ticket(
        {
            "subject": "Livestream ruckelt",
            "comment": {"body": "Der Stream ruckelt"},
            "requester_id": fan["id"],
            "priority": "high",
            "tags": ["live"],
            "custom_fields": [{"id": 360001, "value": "android"}],
        },
        at=time.time() - 600,
    )
    state.add_comment(ticket["id"], "Wir schauen es uns an", author_id=agent["id"])
    state.update_ticket(ticket["id"], {"status": "pending", "assignee_id": agent["id"]}, actor_id=agent["id"])
    solved = state.create_ticket(
        {"comment": {"body": "refund"}, "requester_id": fan["id"], "status": "solved"}
    )
    gone = state.create_ticket({"comment": {"body": "spam"}})
    state.delete_ticket(gone["id"])
    policy = state.create_sla_policy(
        {
            "title": "Premium partners",
            "filter": {
                "all": [{"field": "organization_id", "operator": "is", "value": org["id"]}],
                "any": [],
            },
            "policy_metrics": [
                {"priority": "high", "metric": "first_reply_time", "target": 90, "business_hours": False}
            ],
        }
    )
    trigger = state.create_trigger(
        {
            "title": "Notify",
            "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"}]},
            "actions": [{"field": "notification_webhook", "value": ["01H", '{"id": "{{ticket.id}}"}']}],
        }
    )
    ids = {
        "ticket": ticket["id"],
        "solved": solved["id"],
        "org": org["id"],
        "tier1": tier1["id"],
        "fan": fan["id"],
        "agent": agent["id"],
        "policy": policy["id"],
        "trigger": trigger["id"],
        "metric": state.tickets[ticket["id"]]["_metric_id"],
    }
    yield running, ids
    running.server.stop()
    running.state.close()


READ_PATHS = [
    "/tickets/{ticket}.json",
    "/tickets.json",
    "/tickets.json?page[size]=1",
    "/tickets/show_many.json?ids={ticket},{solved}",
    "/tickets/{ticket}/comments.json",
    "/tickets/{ticket}/audits.json",
    "/users.json",
    "/users/{fan}.json",
    "/users/show_many.json?ids={fan},{agent}",
    "/users/search.json?query=lea@studio-aurora.example",
    "/users/me.json",
    "/organizations.json",
    "/organizations/{org}.json",
    "/organizations/show_many.json?ids={org}",
    "/groups.json",
    "/groups/{tier1}.json",
    "/search.json?query=type:ticket status<solved",
    "/search.json?query=type:user email:lea@studio-aurora.example",
    '/search.json?query=type:organization name:"Studio Aurora"',
    "/search.json?query=type:group Tier",
    "/search/count.json?query=type:ticket",
    "/ticket_metrics.json",
    "/slas/policies.json",
    "/slas/policies/{policy}.json",
    "/incremental/tickets/cursor.json?start_time=0",
    "/incremental/users.json?start_time=0",
    "/incremental/organizations.json?start_time=0",
    "/triggers.json",
    "/triggers/{trigger}.json",
]


@pytest.mark.parametrize("template", READ_PATHS)
def test_read_answers_conform(
    openapi: OpenAPI, account: tuple[RunningHelpdesk, dict[str, Any]], template: str
) -> None:
    helpdesk, ids = account
    response = helpdesk.api("GET", template.format(**ids))
    assert_conforms(openapi, response)


def test_single_ticket_metric_conforms(
    openapi: OpenAPI, account: tuple[RunningHelpdesk, dict[str, Any]]
) -> None:
    # The document types `ticket_metric` of Show Ticket Metrics as an array, while Zendesk (and the docs'
    # own example) answer one object; so the object is checked against the list operation's item schema.
    helpdesk, ids = account
    for path in (f"/ticket_metrics/{ids['metric']}.json", f"/tickets/{ids['ticket']}/metrics.json"):
        response = helpdesk.api("GET", path)
        metric = response.json()["ticket_metric"]
        assert metric["ticket_id"] == ids["ticket"]
        listed = helpdesk.api("GET", "/ticket_metrics.json")
        assert_conforms(openapi, listed, {"ticket_metrics": [metric]})


def test_write_answers_conform(openapi: OpenAPI, helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.jobs.delay = 0.0
    created = helpdesk.api(
        "POST",
        "/tickets.json",
        json={
            "ticket": {
                "subject": "Pago por visión",
                "comment": {"body": "No puedo ver el evento"},
                "priority": "urgent",
                "type": "incident",
            }
        },
    )
    assert created.status_code == 201
    assert_conforms(openapi, created)
    ticket_id = created.json()["ticket"]["id"]
    updated = helpdesk.api(
        "PUT",
        f"/tickets/{ticket_id}.json",
        json={
            "ticket": {
                "status": "open",
                "priority": "high",
                "comment": {"body": "Estamos revisando", "public": True},
            }
        },
    )
    assert_conforms(openapi, updated)
    assert_conforms(
        openapi, helpdesk.api("POST", "/users.json", json={"user": {"name": "Ana", "email": "a@b.es"}})
    )
    assert_conforms(
        openapi, helpdesk.api("POST", "/organizations.json", json={"organization": {"name": "Org"}})
    )
    group = helpdesk.api("POST", "/groups.json", json={"group": {"name": "Billing"}})
    assert_conforms(openapi, group)
    assert_conforms(
        openapi,
        helpdesk.api(
            "PUT", f"/groups/{group.json()['group']['id']}.json", json={"group": {"description": "Refunds"}}
        ),
    )
    sla = helpdesk.api(
        "POST", "/slas/policies.json", json={"sla_policy": {"title": "p", "filter": {"all": []}}}
    )
    assert_conforms(openapi, sla)
    trigger = helpdesk.api(
        "POST",
        "/triggers.json",
        json={
            "trigger": {
                "title": "t",
                "conditions": {"all": [{"field": "status", "operator": "is", "value": "new"}]},
                "actions": [{"field": "priority", "value": "high"}],
            }
        },
    )
    assert_conforms(openapi, trigger)


def test_bulk_job_statuses_conform(openapi: OpenAPI, helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.jobs.delay = 0.0
    ok = helpdesk.state.create_ticket({"comment": {"body": "x"}})
    closed = helpdesk.state.create_ticket({"comment": {"body": "x"}, "status": "closed"})
    queued = helpdesk.api(
        "PUT",
        f"/tickets/update_many.json?ids={ok['id']},{closed['id']}",
        json={"ticket": {"status": "solved"}},
    )
    assert_conforms(openapi, queued)
    assert helpdesk.state.wait_for_jobs(5)
    job_id = queued.json()["job_status"]["id"]
    finished = helpdesk.api("GET", f"/job_statuses/{job_id}.json")
    assert [r["success"] for r in finished.json()["job_status"]["results"]] == [True, False]
    assert_conforms(openapi, finished)
    assert_conforms(openapi, helpdesk.api("GET", f"/job_statuses/show_many.json?ids={job_id}"))
    per_ticket = helpdesk.api(
        "PUT", "/tickets/update_many.json", json={"tickets": [{"id": ok["id"], "priority": "low"}]}
    )
    assert_conforms(openapi, per_ticket)


def test_error_bodies_by_hand(helpdesk: RunningHelpdesk) -> None:
    not_found = helpdesk.api("GET", "/users/42.json")
    assert (not_found.status_code, not_found.json()) == (
        404,
        {"error": "RecordNotFound", "description": "Not found"},
    )
    invalid = helpdesk.api("POST", "/users.json", json={"user": {"email": "x@y.z"}})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["error"] == "RecordInvalid" and body["description"] == "Record validation errors"
    assert body["details"]["name"][0] == {"description": "Name: cannot be blank", "error": "BlankValue"}
    too_many = helpdesk.api("GET", "/tickets/show_many.json?ids=" + ",".join(map(str, range(1, 102))))
    assert too_many.status_code == 400
    assert {"error", "description", "max_count"} <= set(too_many.json())
    unknown = helpdesk.api("GET", "/no_such_thing.json")
    assert unknown.status_code == 404 and set(unknown.json()) == {"error", "description"}


def test_whole_seeded_account_conforms(openapi: OpenAPI) -> None:
    from sandbox.seed import seed_helpdesk

    running = start_helpdesk()
    try:
        seed_helpdesk(running.state)
        for path in ("/tickets.json", "/users.json", "/organizations.json", "/ticket_metrics.json"):
            url: str | None = f"{running.url}/api/v2{path}"
            while url:
                page = running.session.get(url, timeout=10)
                assert_conforms(openapi, page)
                url = page.json()["next_page"]
        export = running.api("GET", "/incremental/tickets/cursor.json?start_time=0")
        assert len(export.json()["tickets"]) == 300
        assert_conforms(openapi, export)
        assert_conforms(
            openapi, running.api("GET", "/search.json", params={"query": "type:ticket status:closed"})
        )
        ticket_id = next(t["id"] for t in running.state.tickets.values() if t["status"] == "solved")
        assert_conforms(openapi, running.api("GET", f"/tickets/{ticket_id}/audits.json"))
        assert_conforms(openapi, running.api("GET", f"/tickets/{ticket_id}/comments.json"))
    finally:
        running.server.stop()
        running.state.close()


def test_the_request_check_refuses_what_the_document_forbids(openapi: OpenAPI, helpdesk: RunningHelpdesk) -> None:
    received = helpdesk.state.record_requests()
    ticket = helpdesk.state.create_ticket({"comment": {"body": "x"}})
    good = [
        ("PUT", f"/tickets/{ticket['id']}.json", {"ticket": {"comment": {"body": "Looking", "public": False}}}),
        ("GET", f"/tickets/show_many.json?ids={ticket['id']}", None),
        ("PUT", f"/tickets/update_many.json?ids={ticket['id']}", {"ticket": {"additional_tags": ["vip"]}}),
    ]
    bad = [
        ("PUT", f"/tickets/{ticket['id']}.json", {"ticket": "solved"}),  # the ticket must be an object
        ("GET", "/tickets/show_many.json", None),  # ids is required
        ("GET", "/tickets/notanid.json", None),  # ticket ids are integers
        ("DELETE", "/users/me.json", None),  # no such operation
    ]
    for method, path, body in good + bad:
        helpdesk.api(method, path, json=body)
    problems = nonconforming_requests(openapi, received)
    assert len(problems) == len(bad), problems
    for (method, path, _), problem in zip(bad, problems, strict=True):
        assert problem.startswith(f"{method} /api/v2{path.split('?')[0]}"), problem
