"""POST /webhooks/zendesk: signed, de-duplicated, stored, answered fast; everything else refused in JSON."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent
from tests.conftest import ticket_event


def stored_events(app) -> list[InboundEvent]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(InboundEvent).order_by(InboundEvent.id)))


def test_signed_webhook_is_stored_once_when_delivered_three_times(app, post_webhook):
    body = ticket_event(101)
    answers = [post_webhook(body, invocation_id="inv-1") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert [a.get_json()["status"] for a in answers] == ["stored", "duplicate", "duplicate"]
    events = stored_events(app)
    assert len(events) == 1
    assert (events[0].event_type, events[0].ticket_id, events[0].state) == ("ticket.created", 101, "pending")


def test_redelivery_with_a_new_invocation_id_is_recognised_by_its_event_id(app, post_webhook):
    body = ticket_event(102)
    assert post_webhook(body, invocation_id="inv-a").status_code == 202
    assert post_webhook(body, invocation_id="inv-b").get_json() == {"status": "duplicate"}
    assert len(stored_events(app)) == 1


def test_wrong_signature_is_refused(app, post_webhook):
    answer = post_webhook(ticket_event(103), secret="not-the-secret")
    assert answer.status_code == 401
    assert "signature" in answer.get_json()["error"]["message"]
    assert stored_events(app) == []


def test_stale_timestamp_is_refused(app, post_webhook, clock):
    stale = (clock.now() - timedelta(minutes=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = post_webhook(ticket_event(104), timestamp=stale)
    assert answer.status_code == 401
    assert "too old" in answer.get_json()["error"]["message"]
    assert stored_events(app) == []


def test_missing_signature_headers_are_refused(client):
    answer = client.post("/webhooks/zendesk", json=ticket_event(105), headers={"X-Zendesk-Account-Id": "9001"})
    assert answer.status_code == 401
    assert answer.is_json


def test_account_without_secret_refuses_everything(database_url, clock):
    from app import create_app
    from app.accounts import sync_default_account
    from tests.conftest import base_config, empty_tables

    app = create_app(base_config(database_url, zendesk_webhook_secret=None), app_clock=clock)
    empty_tables(app)
    sync_default_account(app, clock.now())
    raw = json.dumps(ticket_event(106)).encode()
    answer = app.test_client().post("/webhooks/zendesk", data=raw, headers={
        "X-Zendesk-Webhook-Signature": "anything", "X-Zendesk-Webhook-Signature-Timestamp": "2026-01-01T00:00:00Z",
        "Content-Type": "application/json"})
    assert answer.status_code == 403
    assert "signing secret" in answer.get_json()["error"]["message"]
    storage.engine(app).dispose()


def test_two_megabyte_body_is_refused(app, post_webhook):
    huge = json.dumps({**ticket_event(107), "padding": "x" * 2_000_000}).encode()
    answer = post_webhook(huge)
    assert answer.status_code == 413
    assert answer.is_json
    assert stored_events(app) == []


def test_non_json_body_is_refused(app, post_webhook):
    answer = post_webhook(b"this is not json")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"].startswith("the body is not valid JSON in UTF-8")
    assert answer.get_json()["error"]["field"] == "body"


def test_unknown_event_type_is_refused(app, post_webhook):
    body = {**ticket_event(108), "type": "zen:event-type:ticket.teleported"}
    answer = post_webhook(body)
    assert answer.status_code == 422
    assert "unknown event type" in answer.get_json()["error"]["message"]
    assert stored_events(app) == []


def test_envelope_without_detail_is_refused(app, post_webhook):
    body = ticket_event(109)
    del body["detail"]
    assert post_webhook(body).status_code == 422


def test_deskmate_trigger_payload_is_accepted(app, post_webhook):
    body = {"deskmate": 1, "type": "ticket.created", "ticket": {
        "id": "110", "subject": "Stream froze", "status": "new", "tags": "vip live_event",
        "requester": {"id": "77", "email": "Ana@Partner.example"}, "organization": {"id": "12"},
        "updated_at": "2026-11-23T09:00:00Z"}}
    assert post_webhook(body).status_code == 202
    [event] = stored_events(app)
    assert (event.event_type, event.ticket_id) == ("ticket.created", 110)


def test_webhook_for_an_unknown_account_is_refused(app, post_webhook):
    answer = post_webhook(ticket_event(111), headers={"X-Zendesk-Account-Id": "1234"})
    # The header names an account this deployment does not serve: refused rather than misfiled.
    assert answer.status_code == 404
    assert stored_events(app) == []


def test_wrong_http_method_gets_json_405(client):
    answer = client.get("/webhooks/zendesk")
    assert answer.status_code == 405
    assert answer.is_json


def test_the_stored_payload_is_the_delivered_json(app, post_webhook):
    body = ticket_event(111)
    body["detail"]["subject"] = "Émission figée — «live» ✓"
    assert post_webhook(json.dumps(body, ensure_ascii=False).encode()).status_code == 202
    [event] = stored_events(app)
    assert event.payload == body


def test_a_body_the_database_cannot_store_is_refused_not_failed(app, post_webhook):
    # PostgreSQL's JSONB refuses \u0000 in strings; that is the sender's data, so a 4xx, not a 500 to retry,
    # and SQLite refuses it too rather than keep what PostgreSQL would not.
    body = ticket_event(112)
    body["detail"]["subject"] = "nul \u0000 byte"
    answer = post_webhook(body)
    assert answer.status_code == 422
    assert "cannot store" in answer.get_json()["error"]["message"]
    assert answer.get_json()["error"]["field"] == "detail.subject"
    assert stored_events(app) == []


def test_the_subdomain_path_matches_its_account_and_other_paths_are_not_taken_for_it(app, post_webhook):
    assert post_webhook(ticket_event(113), path="/webhooks/zendesk/acme").status_code == 202
    assert post_webhook(ticket_event(114), path="/webhooks/zendesk/other").status_code == 404
    for path in ("/webhooks/zendeskacme", "/webhooks/zendesk/acme/extra"):
        answer = post_webhook(ticket_event(115), path=path)
        assert (answer.status_code, answer.is_json) == (404, True)
    assert [event.ticket_id for event in stored_events(app)] == [113]


def test_a_body_without_a_length_is_still_held_to_the_size_limit(app, client, post_webhook):
    # A chunked delivery has no Content-Length; the limit is enforced on what is read.
    answer = client.post("/webhooks/zendesk", input_stream=io.BytesIO(b"{" + b" " * 2_000_000 + b"}"),
                         headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert stored_events(app) == []


def test_an_unexpected_failure_is_logged_and_answered_in_json(app, post_webhook, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("app.inbox.store", broken)
    answer = post_webhook(ticket_event(116))
    assert answer.status_code == 500
    assert answer.get_json()["error"]["message"] == "internal error; the server log has the details"
    assert "database went away" in caplog.text


@pytest.mark.parametrize(("change", "field"), [
    ({"event": "oops"}, "event"),
    ({"detail": {"id": True}}, "detail.id"),
    ({"detail": {"id": 1.5}}, "detail.id"),
    ({"subject": {"id": 2}}, "subject"),
    ({"detail": {"id": "2", "requester_id": False}}, "detail.requester_id"),
])
def test_a_signed_but_malformed_envelope_is_refused_naming_the_field(app, post_webhook, change, field):
    # Once stored, such a body failed in the worker (a string 'event' raised ValueError and aborted the batch;
    # an id of true or 1.5 was read as ticket 1); the inbox now reads it at the door and refuses it.
    body = {"type": "zen:event-type:ticket.priority_changed", "id": "u1", "subject": "zen:ticket:2",
            "detail": {"id": "2"}, "event": {}, **change}
    answer = post_webhook(body)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["field"] == field
    assert field in error["message"]
    assert stored_events(app) == []


def test_a_whole_number_id_is_still_taken_in_any_of_its_spellings(app, post_webhook):
    for ticket_id, spelt in ((201, "201"), (202, 202), (203, 203.0)):
        body = ticket_event(ticket_id)
        body["detail"]["id"] = spelt
        assert post_webhook(body).status_code == 202
    assert [event.ticket_id for event in stored_events(app)] == [201, 202, 203]
