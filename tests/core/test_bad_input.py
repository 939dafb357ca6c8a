"""Bad input is answered with a 4xx naming what is wrong, never a 500, the same on SQLite and PostgreSQL.

Each case is one an attacker or a broken sender actually tried (issue 16): malformed Slack callbacks without
credentials, and, behind a valid signature or token, bodies nested 100,000 deep, UTF-16 or with a byte order
mark, ids past what a BIGINT holds, text PostgreSQL cannot store (NUL, lone surrogates), and the admin login's
``next=``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from app.db import storage
from app.models import InboundEvent, WorkItem
from tests.conftest import SLACK_SIGNING_SECRET, ticket_event

BIGINT_MAX = 2**63 - 1


def stored_events(app) -> list[InboundEvent]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(InboundEvent)))


def assert_json_error(answer, status: int, field: str | None = None) -> dict:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:500])
    assert answer.is_json, answer.get_data(as_text=True)[:500]
    error = answer.get_json()["error"]
    assert error["status"] == status
    if field is not None:
        assert error.get("field") == field, error
    return error


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


# --- POST /slack/interactions, without credentials ------------------------------------------------------------


def slack_headers(body: bytes, timestamp: str) -> dict[str, str]:
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(SLACK_SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": timestamp,
            "Content-Type": "application/x-www-form-urlencoded"}


def click(team: object = None) -> bytes:
    payload = {"type": "block_actions", "team": {"id": "T0001"} if team is None else team,
               "user": {"id": "U1"}, "actions": [{"action_id": "sla_take", "value": "1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("timestamp", ["abc", "1e3", "١٢٣", "-1", ""])
def test_slack_timestamp_that_is_not_a_number_is_a_401(app, client, timestamp):
    # Signed over the very timestamp sent: only its form is wrong.
    body = click()
    answer = client.post("/slack/interactions", data=body, headers=slack_headers(body, timestamp))
    assert_json_error(answer, 401)
    assert stored_events(app) == []


@pytest.mark.parametrize("payload", ['{"team":"x"}', '{"team":{"id":["T0001"]}}', '["x"]', "7", "not json"])
def test_slack_payload_without_a_team_object_is_a_400(app, client, clock, payload):
    body = urlencode({"payload": payload}).encode()
    answer = client.post("/slack/interactions", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(answer, 400, "payload")
    assert stored_events(app) == []


def test_slack_payload_nested_100000_deep_is_a_400(app, client):
    body = urlencode({"payload": "[" * 80_000}).encode()  # within the 256 kB a payload may have
    answer = client.post("/slack/interactions", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_json_error(answer, 400, "payload")


def test_signed_slack_payload_with_a_nul_is_refused_naming_the_field(app, client, clock):
    body = click()
    body = body.replace(b"sla_take", b"sla%5Cu0000take")  # a JSON escape for NUL inside the form field
    answer = client.post("/slack/interactions", data=body,
                         headers=slack_headers(body, str(int(clock.now().timestamp()))))
    assert_json_error(answer, 422, "payload.actions.0.action_id")
    assert stored_events(app) == []


# --- POST /webhooks/zendesk, behind a valid signature ---------------------------------------------------------


def test_signed_webhook_nested_100000_deep_is_a_400(app, post_webhook):
    assert_json_error(post_webhook(deep(100_000)), 400, "body")
    assert stored_events(app) == []


def test_signed_webhook_in_utf16_is_a_400(app, post_webhook):
    raw = json.dumps(ticket_event(201)).encode("utf-16")
    assert_json_error(post_webhook(raw), 400, "body")
    assert stored_events(app) == []


def test_signed_webhook_with_a_byte_order_mark_is_a_400(app, post_webhook):
    # Python's json reads it; PostgreSQL's jsonb refuses it (and the old answer blamed "\u0000").
    raw = b"\xef\xbb\xbf" + json.dumps(ticket_event(202)).encode()
    assert_json_error(post_webhook(raw), 400, "body")
    assert stored_events(app) == []


@pytest.mark.parametrize("ticket_id", [1e23, "99999999999999999999", str(BIGINT_MAX + 1), -(2**63) - 1])
def test_signed_webhook_with_an_id_past_bigint_is_a_422(app, post_webhook, ticket_id):
    body = ticket_event(203)
    body["detail"]["id"] = ticket_id
    assert_json_error(post_webhook(body), 422, "detail.id")
    assert stored_events(app) == []


def test_signed_webhook_with_the_largest_bigint_id_is_stored(app, post_webhook):
    body = ticket_event(204)
    body["detail"]["id"] = str(BIGINT_MAX)
    body["subject"] = f"zen:ticket:{BIGINT_MAX}"
    assert post_webhook(body).status_code == 202
    assert [event.ticket_id for event in stored_events(app)] == [BIGINT_MAX]


@pytest.mark.parametrize(("text", "field"), [
    ("Stream\u0000down", "detail.subject"),
    ("half a pair \ud83d", "detail.subject"),
    ("lone low \udc00", "detail.subject"),
])
def test_signed_webhook_with_text_postgresql_cannot_store_is_a_422_on_every_database(app, post_webhook, text,
                                                                                     field):
    body = ticket_event(205, subject=text)
    assert_json_error(post_webhook(body), 422, field)
    assert stored_events(app) == []


def test_signed_webhook_with_a_nul_in_a_key_names_the_key(app, post_webhook):
    body = ticket_event(206)
    body["event"] = {"a\u0000b": 1}
    assert_json_error(post_webhook(body), 422, "event.a\\u0000b")


def test_signed_webhook_with_a_byte_order_mark_inside_a_string_is_stored(app, post_webhook):
    # Inside a value U+FEFF is an ordinary character that both databases store.
    assert post_webhook(ticket_event(207, subject="\ufeffHello")).status_code == 202
    assert len(stored_events(app)) == 1


def test_escaped_backslash_before_u0000_is_not_a_nul(app, post_webhook):
    assert post_webhook(ticket_event(208, subject="C:\\u0000\\dir")).status_code == 202


# --- JSON bodies of admin and sidebar routes (json_body / request.get_json) -------------------------------------


def test_admin_json_nested_100000_deep_is_a_400(client, admin_headers):
    answer = client.post("/admin/api/work-items/retry", data=deep(100_000),
                         headers={**admin_headers, "Content-Type": "application/json"})
    assert_json_error(answer, 400, "body")


def test_admin_json_in_utf16_is_a_400(client, admin_headers):
    answer = client.post("/admin/api/work-items/retry", data=json.dumps({"ids": [1]}).encode("utf-16"),
                         headers={**admin_headers, "Content-Type": "application/json"})
    assert_json_error(answer, 400, "body")


def test_admin_json_with_an_integer_past_bigint_names_the_field(client, admin_headers):
    answer = client.post("/admin/api/work-items/retry", data=json.dumps({"ids": [1, 2**64]}),
                         headers={**admin_headers, "Content-Type": "application/json"})
    assert_json_error(answer, 422, "ids.1")


# --- URLs and query strings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [2**63, 2**64, 10**30])
def test_ids_past_bigint_in_a_url_are_a_404(client, admin_headers, number):
    for path in (f"/admin/api/news/incidents/{number}", f"/admin/api/feature-requests/{number}",
                 f"/admin/api/sla/clocks/{number}", f"/admin/api/routing/decisions/{number}"):
        assert_json_error(client.get(path, headers=admin_headers), 404)


def test_the_largest_bigint_in_a_url_is_looked_up(client, admin_headers):
    answer = client.get(f"/admin/api/news/incidents/{BIGINT_MAX}", headers=admin_headers)
    assert_json_error(answer, 404)
    assert answer.get_json()["error"]["message"] == "no such incident"  # reached the view


def test_ids_past_an_integer_primary_key_are_a_404_on_postgresql_too(client, admin_headers):
    # Incidents and feature requests have INTEGER keys: PostgreSQL refuses 2^31 in the lookup itself.
    for path in (f"/admin/api/news/incidents/{2**31}", f"/admin/api/feature-requests/{2**31}"):
        assert_json_error(client.get(path, headers=admin_headers), 404)
    answer = client.get(f"/admin/api/routing/decisions?before={2**40}", headers=admin_headers)
    assert answer.status_code == 200
    assert answer.get_json()["decisions"] == []


def test_a_nul_in_a_query_string_is_a_422_naming_it(client, admin_headers):
    answer = client.get("/admin/api/feature-requests?q=a%00b", headers=admin_headers)
    assert_json_error(answer, 422, "q")


def test_routing_decisions_before_past_bigint_is_a_400(client, admin_headers):
    answer = client.get("/admin/api/routing/decisions?before=99999999999999999999", headers=admin_headers)
    assert_json_error(answer, 400, "before")


# --- the admin login's next= -----------------------------------------------------------------------------------


def sign_in(client, admin_token: str, next_value: str):
    client.get("/admin/login")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    return client.post(f"/admin/login?next={next_value}", data={"csrf_token": csrf, "token": admin_token})


@pytest.mark.parametrize("next_value", [
    "/%0A/x",                        # a newline: was a 500 (werkzeug refuses it in a header)
    "/%09/evil.example/phish",       # browsers drop the tab: //evil.example/phish
    "/%0D%0A/evil.example",
    "//evil.example/phish",
    "/\\evil.example/phish",         # browsers read a backslash as a slash
    "%5C%5Cevil.example",
    "https://evil.example/",
    "/%5Cevil.example",
    "javascript:alert(1)",
    "%20//evil.example",
])
def test_login_next_that_leaves_the_site_goes_to_the_admin_home(client, admin_token, next_value):
    answer = sign_in(client, admin_token, next_value)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/"


@pytest.mark.parametrize(("next_value", "location"), [
    ("/admin/work", "/admin/work"),
    ("/admin/feature-requests%3Fq%3D4K", "/admin/feature-requests?q=4K"),
])
def test_login_next_on_this_site_is_honoured(client, admin_token, next_value, location):
    answer = sign_in(client, admin_token, next_value)
    assert answer.status_code == 302
    assert answer.headers["Location"] == location


def test_an_admin_page_answers_bad_input_with_an_html_page(client, admin_token):
    sign_in(client, admin_token, "/admin/")
    answer = client.get(f"/admin/feature-requests/{2**64}")
    assert answer.status_code == 404
    assert answer.mimetype == "text/html"
    answer = client.get("/admin/feature-requests?q=%00")
    assert answer.status_code == 422
    assert answer.mimetype == "text/html"
    assert "q" in answer.get_data(as_text=True)


# --- logs -------------------------------------------------------------------------------------------------------


def test_a_logged_database_error_shows_no_parameters(app, caplog):
    secret = "requester-secret-4711@example.com"
    engine = storage.engine(app)
    with caplog.at_level(logging.ERROR):
        try:
            with engine.begin() as connection:
                connection.execute(sa.insert(WorkItem.__table__).values(
                    account_id=None, kind="x", idempotency_key=secret, payload={"email": secret}))
        except sa.exc.DBAPIError as exc:
            logging.getLogger("deskmate.test").exception("insert failed: %s", exc)
    assert "insert failed" in caplog.text
    assert secret not in caplog.text
