"""Webhooks fire like Zendesk's: event envelopes, trigger bodies, signatures, retries and duplicates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from sandbox.testing import RunningHelpdesk, WebhookReceiver

EVENTS = [
    f"zen:event-type:ticket.{kind}"
    for kind in (
        "created",
        "status_changed",
        "priority_changed",
        "group_assignment_changed",
        "agent_assignment_changed",
        "tags_changed",
        "comment_added",
        "custom_field_changed",
        "organization_changed",
        "requester_changed",
    )
]


def _subscribe(helpdesk: RunningHelpdesk, url: str, subscriptions: list[str]) -> dict:
    body = {
        "webhook": {
            "name": "Deskmate",
            "status": "active",
            "endpoint": url,
            "http_method": "POST",
            "request_format": "json",
            "subscriptions": subscriptions,
        }
    }
    response = helpdesk.api("POST", "/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["webhook"]


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["X-Zendesk-Webhook-Signature-Timestamp"]
    expected = base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), headers["X-Zendesk-Webhook-Signature"])


def test_ticket_created_event_is_signed_and_carries_string_ids(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    webhook = _subscribe(helpdesk, webhook_receiver.url, EVENTS)
    secret = helpdesk.api("GET", f"/webhooks/{webhook['id']}/signing_secret").json()["signing_secret"]
    assert secret["algorithm"] == "SHA256"
    requester = helpdesk.state.create_user({"name": "Ana", "email": "ana@example.org"})
    ticket = helpdesk.api(
        "POST",
        "/tickets.json",
        json={
            "ticket": {
                "subject": "PPV refund",
                "priority": "high",
                "requester_id": requester["id"],
                "comment": {"body": "Refund please"},
            }
        },
    ).json()["ticket"]
    received = webhook_receiver.wait_for(1)[0]
    assert _verify(secret["secret"], received.headers, received.body)
    assert received.headers["User-Agent"] == "Zendesk Webhook"
    assert received.headers["X-Zendesk-Webhook-Id"] == webhook["id"]
    assert received.headers["X-Zendesk-Account-Id"] == "1"
    assert received.headers["X-Zendesk-Webhook-Invocation-Id"].isdigit()
    envelope = received.json()
    assert envelope["type"] == "zen:event-type:ticket.created"
    assert envelope["subject"] == f"zen:ticket:{ticket['id']}"
    assert envelope["zendesk_event_version"] == "2022-11-06"
    assert len(envelope["id"]) == 36 and envelope["time"].endswith("Z")
    detail = envelope["detail"]
    assert detail["id"] == str(ticket["id"]) and detail["requester_id"] == str(requester["id"])
    assert detail["priority"] == "HIGH" and detail["status"] == "NEW"
    assert detail["via"] == {"channel": "web_service"}
    assert detail["group_id"] is None and detail["form_id"] == str(ticket["ticket_form_id"])


def test_update_fires_one_event_per_change(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    state = helpdesk.state
    tier2 = state.create_group({"name": "Tier 2"})
    agent = state.create_user({"name": "Marta Rossi", "email": "marta@deskmate.example", "role": "agent"})
    ticket = state.create_ticket({"comment": {"body": "no audio"}, "tags": ["audio"]})
    _subscribe(helpdesk, webhook_receiver.url, EVENTS)
    helpdesk.api(
        "PUT",
        f"/tickets/{ticket['id']}.json",
        json={
            "ticket": {
                "group_id": tier2["id"],
                "status": "open",
                "additional_tags": ["premium_partner"],
                "custom_fields": [{"id": 360001, "value": "ios"}],
                "comment": {"body": "Looking into it", "public": True, "author_id": agent["id"]},
            }
        },
    )
    assert state.wait_for_deliveries(10)
    by_type = {r.json()["type"].rsplit(".", 1)[1]: r.json() for r in webhook_receiver.requests}
    assert set(by_type) == {
        "status_changed",
        "group_assignment_changed",
        "tags_changed",
        "custom_field_changed",
        "comment_added",
    }
    assert by_type["status_changed"]["event"] == {"current": "OPEN", "previous": "NEW"}
    assert by_type["group_assignment_changed"]["event"] == {"current": str(tier2["id"]), "previous": None}
    assert by_type["tags_changed"]["event"] == {"tags": {"added": ["premium_partner"], "removed": []}}
    assert by_type["custom_field_changed"]["event"]["current"] == "ios"
    comment = by_type["comment_added"]["event"]["comment"]
    assert comment["body"] == "Looking into it" and comment["is_public"] is True
    assert comment["author"] == {"id": str(agent["id"]), "is_staff": True, "name": "Marta Rossi"}
    assert all(r.json()["detail"]["group_id"] == str(tier2["id"]) for r in webhook_receiver.requests)


def test_unsubscribed_and_inactive_webhooks_get_nothing(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    hook = _subscribe(helpdesk, webhook_receiver.url, ["zen:event-type:ticket.comment_added"])
    helpdesk.state.create_ticket({"comment": {"body": "created, not commented"}})
    helpdesk.api("PATCH", f"/webhooks/{hook['id']}", json={"webhook": {"status": "inactive"}})
    ticket = helpdesk.state.create_ticket({"comment": {"body": "x"}})
    helpdesk.state.add_comment(ticket["id"], "reply", author_id=helpdesk.state.admin_id)
    assert helpdesk.state.wait_for_deliveries(5)
    assert webhook_receiver.requests == []


def test_trigger_webhook_body_substitutes_placeholders_json_escaped(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    state = helpdesk.state
    hook = _subscribe(helpdesk, webhook_receiver.url, ["conditional_ticket_events"])
    org = state.create_organization({"name": "Studio Aurora", "domain_names": ["studio-aurora.example"]})
    template = (
        '{"ticket_id": {{ticket.id}}, "email": "{{ticket.requester.email}}", '
        '"org": "{{ticket.organization.id}}", "title": "{{ticket.title}}", "tags": "{{ticket.tags}}", '
        '"status": "{{ticket.status}}", "unknown": "{{ticket.nope}}"}'
    )
    trigger = {
        "trigger": {
            "title": "Notify Deskmate on create",
            "conditions": {"all": [{"field": "update_type", "operator": "is", "value": "Create"}]},
            "actions": [{"field": "notification_webhook", "value": [hook["id"], template]}],
        }
    }
    assert helpdesk.api("POST", "/triggers.json", json=trigger).status_code == 201
    requester = state.create_user({"name": "Bo", "email": "bo@studio-aurora.example"})
    ticket = state.create_ticket(
        {
            "subject": 'Live "premiere" \\ broken',
            "comment": {"body": "x"},
            "requester_id": requester["id"],
            "tags": ["live"],
        }
    )
    state.update_ticket(ticket["id"], {"status": "open"})  # a Change: the Create-only trigger stays quiet
    assert state.wait_for_deliveries(5)
    assert len(webhook_receiver.requests) == 1
    received = webhook_receiver.requests[0]
    body = received.json()
    assert body == {
        "ticket_id": ticket["id"],
        "email": "bo@studio-aurora.example",
        "org": str(org["id"]),
        "title": 'Live "premiere" \\ broken',
        "tags": "live",
        "status": "New",
        "unknown": "",
    }
    assert _verify(state.webhook_secret(hook["id"]), received.headers, received.body)


def test_trigger_conditions_on_status_group_and_tags(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    state = helpdesk.state
    hook = state.create_webhook(
        {"name": "t", "endpoint": webhook_receiver.url, "subscriptions": ["conditional_ticket_events"]}
    )
    tier2 = state.create_group({"name": "Tier 2"})
    state.create_trigger(
        {
            "title": "Solved premium in tier 2",
            "conditions": {
                "all": [
                    {"field": "update_type", "operator": "is", "value": "Change"},
                    {"field": "status", "operator": "value", "value": "solved"},
                    {"field": "group_id", "operator": "is", "value": str(tier2["id"])},
                    {"field": "current_tags", "operator": "includes", "value": "premium_partner vip"},
                ]
            },
            "actions": [{"field": "notification_webhook", "value": [hook["id"], '{"id": "{{ticket.id}}"}']}],
        }
    )
    match = state.create_ticket(
        {"comment": {"body": "x"}, "group_id": tier2["id"], "tags": ["premium_partner"]}
    )
    other = state.create_ticket({"comment": {"body": "x"}, "group_id": tier2["id"]})
    state.update_ticket(match["id"], {"status": "solved"})
    state.update_ticket(other["id"], {"status": "solved"})
    state.update_ticket(match["id"], {"comment": {"body": "after solve"}})  # status unchanged: no fire
    assert state.wait_for_deliveries(5)
    assert [r.json() for r in webhook_receiver.requests] == [{"id": str(match["id"])}]


def test_failed_delivery_is_retried_with_same_invocation_id(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    # Zendesk retries a 409, and a 503 (or 429) whose Retry-After is under 60 seconds.
    webhook_receiver.statuses = [(503, {"Retry-After": "1"}), 409]
    _subscribe(helpdesk, webhook_receiver.url, ["zen:event-type:ticket.created"])
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    received = webhook_receiver.wait_for(3)
    assert len({r.headers["X-Zendesk-Webhook-Invocation-Id"] for r in received}) == 1
    assert len({r.json()["id"] for r in received}) == 1
    assert helpdesk.control("POST", "/deliveries/flush?timeout=5").json() == {"flushed": True, "pending": 0}
    attempts = helpdesk.control("GET", "/deliveries").json()["deliveries"]
    assert [(a["attempt"], a["status_code"], a["ok"]) for a in attempts] == [
        (1, 503, False),
        (2, 409, False),
        (3, 200, True),
    ]


def test_answers_zendesk_does_not_retry_lose_the_delivery(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    # A 500, a 503 without Retry-After, a 503 asking for a minute or more: each is the delivery's only attempt.
    webhook_receiver.statuses = [500, 503, (503, {"Retry-After": "60"}), 404]
    _subscribe(helpdesk, webhook_receiver.url, ["zen:event-type:ticket.created"])
    for _ in range(4):
        helpdesk.state.create_ticket({"comment": {"body": "x"}})
    assert helpdesk.state.wait_for_deliveries(5)
    attempts = helpdesk.state.deliveries()
    assert sorted(a["status_code"] for a in attempts) == [404, 500, 503, 503]
    assert {a["attempt"] for a in attempts} == {1}
    assert len(webhook_receiver.requests) == 4


def test_circuit_breaker_trips_drops_deliveries_and_closes_after_a_good_probe(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    clock = [1_000.0]
    dispatcher = helpdesk.state.dispatcher
    dispatcher.clock = lambda: clock[0]  # the breaker's five-second pause, on a clock the test moves
    dispatcher.retries = 0
    webhook = _subscribe(helpdesk, webhook_receiver.url, ["zen:event-type:ticket.created"])
    webhook_receiver.statuses = [500] * 10
    for _ in range(10):  # ten failures out of ten requests: 70% or more within five minutes
        helpdesk.state.create_ticket({"comment": {"body": "x"}})
        assert helpdesk.state.wait_for_deliveries(5)
    assert dispatcher.breakers()[webhook["id"]]["state"] == "open"
    for _ in range(3):  # not sent while open: dropped, not queued
        helpdesk.state.create_ticket({"comment": {"body": "x"}})
    assert helpdesk.state.wait_for_deliveries(5)
    assert len(webhook_receiver.requests) == 10
    breaker = helpdesk.control("GET", "/deliveries").json()["breakers"][webhook["id"]]
    assert (breaker["state"], breaker["trips"], breaker["dropped"]) == ("open", 1, 3)
    clock[0] += 5  # the pause is over: one probe; it fails, so the breaker opens for five more seconds
    webhook_receiver.statuses = [500]
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    assert helpdesk.state.wait_for_deliveries(5)
    assert len(webhook_receiver.requests) == 11
    assert dispatcher.breakers()[webhook["id"]]["trips"] == 2
    clock[0] += 5  # a good probe closes it, and what follows is delivered again
    for _ in range(3):
        helpdesk.state.create_ticket({"comment": {"body": "x"}})
        assert helpdesk.state.wait_for_deliveries(5)
    assert len(webhook_receiver.requests) == 14
    assert dispatcher.breakers()[webhook["id"]]["state"] == "closed"


def test_unreachable_endpoint_gives_up_after_retries(helpdesk: RunningHelpdesk) -> None:
    helpdesk.state.create_webhook(
        {
            "name": "gone",
            "endpoint": "http://127.0.0.1:9/hook",
            "subscriptions": ["zen:event-type:ticket.created"],
        }
    )
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    assert helpdesk.state.wait_for_deliveries(10)
    attempts = helpdesk.state.deliveries()
    assert len(attempts) == 1 + helpdesk.state.dispatcher.retries
    assert all(a["error"] and a["status_code"] is None for a in attempts)


def test_duplicate_delivery_fault_repeats_invocations_and_events(
    helpdesk: RunningHelpdesk, webhook_receiver: WebhookReceiver
) -> None:
    helpdesk.control("POST", "/faults", json={"duplicate_webhooks": 2})
    _subscribe(helpdesk, webhook_receiver.url, ["zen:event-type:ticket.created"])
    helpdesk.state.create_ticket({"comment": {"body": "x"}})
    received = webhook_receiver.wait_for(3)
    assert len(received) == 3
    assert len({r.json()["id"] for r in received}) == 1  # one event
    assert (
        len({r.headers["X-Zendesk-Webhook-Invocation-Id"] for r in received}) == 2
    )  # a repeat and a new one


def test_webhook_api_validates_and_hides_credentials(helpdesk: RunningHelpdesk) -> None:
    bad = helpdesk.api(
        "POST",
        "/webhooks",
        json={
            "webhook": {"name": "x", "endpoint": "not a url", "subscriptions": ["conditional_ticket_events"]}
        },
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["source"]["pointer"] == "/webhook/endpoint"
    created = helpdesk.api(
        "POST",
        "/webhooks",
        json={
            "webhook": {
                "name": "x",
                "endpoint": "https://deskmate.example/webhooks/zendesk",
                "subscriptions": ["conditional_ticket_events"],
                "authentication": {
                    "type": "bearer_token",
                    "data": {"token": "s3cret"},
                    "add_position": "header",
                },
            }
        },
    )
    hook = created.json()["webhook"]
    assert "data" not in hook["authentication"]
    listed = helpdesk.api("GET", "/webhooks").json()
    assert [w["id"] for w in listed["webhooks"]] == [hook["id"]] and listed["meta"]["has_more"] is False
    assert "s3cret" not in json.dumps(listed)
    assert helpdesk.api("DELETE", f"/webhooks/{hook['id']}").status_code == 204
    assert helpdesk.api("GET", f"/webhooks/{hook['id']}").status_code == 404
