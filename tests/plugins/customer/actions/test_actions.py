"""Billing actions from the sidebar over real HTTP: the helpdesk, billing and Slack emulators, a real worker.

Each refusal the issue names, permissions decided from the helpdesk's record (never from the page), limits,
the approval flow, the internal note, and exactly-once under double clicks, two agents and billing timeouts.
"""

from __future__ import annotations

import json
import threading
import uuid

import pytest
import requests

from plugins.customer.models import CustomerAction
from tests.plugins.customer.actions.support import (
    APPROVALS,
    CUSTOMER,
    LEAD_SLACK,
    TICKET,
    actions,
    ask,
    bearer,
)


@pytest.fixture
def slack_users(slack_emulator):
    slack_emulator.state.add_user("lena", "Lena Lead", "lead@acme.example", user_id=LEAD_SLACK)
    slack_emulator.state.add_user("marta", "Marta Rossi", "marta@acme.example", user_id="U0100MARTA")
    return slack_emulator


def override(app, **values) -> None:
    """Per-account settings, as an admin saves them (the deployment's settings stay as configured)."""
    from app.accounts import active_accounts
    from app.api import context_for, transaction

    with app.app_context(), transaction(app) as session:
        context_for("customer", active_accounts(app)[0], session, app).save_settings(values)


def approval_messages(slack):
    return slack.call("GET", f"/__sandbox/messages?channel={APPROVALS}")["messages"]


def only_action(app) -> CustomerAction:
    [action] = actions(app)
    return action


def notes(helpdesk, ticket_id: int) -> list[str]:
    comments = helpdesk.api("GET", f"/tickets/{ticket_id}/comments.json")["comments"]
    return [comment["body"] for comment in comments if not comment["public"]]


@pytest.fixture
def ticket(helpdesk, opened):
    """A real helpdesk ticket of the customer, opened in the sidebar."""
    created = helpdesk.call("POST", "/__sandbox/tickets", json={
        "requester_email": CUSTOMER, "subject": "Charged twice for the final", "body": "Please help"})["ticket"]
    return opened(created["id"])


def refund(client, session, ticket_id, **body):
    return ask(client, session, ticket_id=ticket_id, **{"kind": "refund", "purchase_id": "pur_ada_ppv",
                                                        "reason": "Stream did not play", **body})


# --- done once, with its note ----------------------------------------------------------------------------------

def test_a_tier1_refund_within_limits_is_made_once_and_noted_on_the_ticket(
        client, app, helpdesk, billing, agents, session_for, ticket, worker):
    answer = refund(client, session_for(agents.tier1), ticket, amount=500)
    assert answer.status_code == 202, answer.get_json()
    worker.run_until_idle()
    action = only_action(app)
    assert (action.state, action.amount, action.currency, action.agent_name) == ("done", 500, "EUR", "Marta Rossi")
    assert action.agent_groups == ["Tier 1"] and action.rule == "rule 4 (everyone)"
    [made] = billing.refunds()
    assert (made["purchase_id"], made["amount"]) == ("pur_ada_ppv", 500)
    assert action.billing_reference == made["id"]
    [note] = notes(helpdesk, ticket)
    assert "Marta Rossi refunded €5.00" in note and made["id"] in note and "Stream did not play" in note


def test_the_answer_waits_for_the_worker_and_offers_a_reply_in_the_requesters_language(
        client, app, helpdesk, billing, agents, session_for, ticket):
    from app.worker import Worker

    override(app, answer_wait_seconds=5)
    stop = threading.Event()
    worker = Worker(app, worker_id="background")

    def run() -> None:
        while not stop.is_set():
            if not worker.run_until_idle():
                stop.wait(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        answer = refund(client, session_for(agents.tier1), ticket)
    finally:
        stop.set()
        thread.join(5)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["action"]["state"] == "done" and body["action"]["amount"] == 1499
    assert body["message"]["t"] == "customer.done"
    # The requester's helpdesk locale is Italian: the reply the agent can insert is Italian.
    assert body["reply"].startswith("Ho rimborsato 14,99") and "Champions League final" in body["reply"]


# --- refusals: nothing is asked of the billing system -----------------------------------------------------------

@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"amount": 1500}, 422, "amount", "at most"),
    ({"amount": 0}, 422, "amount", "more than zero"),
    ({"amount": 4.99}, 422, "amount", "whole number"),
    ({"amount": True}, 422, "amount", "whole number"),
    ({"amount": "499"}, 422, "amount", "whole number"),
    ({"purchase_id": "pur_bob_ppv"}, 422, "purchase_id", "not one of this customer's"),
    ({"purchase_id": "pur_nope"}, 422, "purchase_id", "not one of this customer's"),
    ({"reason": "Because"}, 422, "reason", "refund reasons"),
    ({"reason": None}, 422, "reason", "choose a reason"),
    ({"kind": "wire_transfer"}, 422, "kind", "kind must be one of"),
    ({"request_id": "x"}, 422, "request_id", "request_id"),
    ({"as_ticket_id": "4242"}, 422, "ticket_id", "ticket_id"),
])
def test_a_bad_request_is_refused_naming_the_field(client, app, billing, agents, session_for, ticket, body,
                                                   status, field, words):
    if "as_ticket_id" in body:
        ticket = body.pop("as_ticket_id")
    answer = refund(client, session_for(agents.tier1), ticket, **body)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()["error"]
    assert error.get("field") == field and words in error["message"]
    assert actions(app) == [] and billing.refunds() == []


def test_an_already_refunded_purchase_is_refused(client, app, billing, agents, session_for, ticket, worker):
    session = session_for(agents.tier1)
    assert refund(client, session, ticket).status_code == 202
    worker.run_until_idle()
    from plugins.customer.billing import cache

    cache.clear()  # the panel reads the billing system again, as it does after an action
    answer = refund(client, session, ticket)
    assert answer.status_code == 409 and "already fully refunded" in answer.get_json()["error"]["message"]
    assert len(billing.refunds()) == 1


def test_a_switched_off_action_and_a_closed_ticket_are_refused(client, app, billing, agents, session_for,
                                                               opened, helpdesk):
    session = session_for(agents.tier1)
    opened(TICKET, status="closed")
    answer = refund(client, session, TICKET)
    assert answer.status_code == 403 and "closed" in answer.get_json()["error"]["message"]
    override(app, actions=["promo_code"], refuse_closed_tickets=False)
    answer = refund(client, session, TICKET)
    assert answer.status_code == 403 and "switched off" in answer.get_json()["error"]["message"]
    assert actions(app) == [] and billing.refunds() == []


def test_a_ticket_the_sidebar_never_opened_is_refused(client, app, billing, agents, session_for):
    answer = refund(client, session_for(agents.tier1), 999_999)
    assert answer.status_code == 404 and answer.get_json()["error"]["field"] == "ticket_id"


def test_without_a_sidebar_session_nothing_is_accepted(client, app, billing, ticket):
    answer = client.post("/sidebar/api/customer/actions", json={"kind": "refund"})
    assert answer.status_code == 401
    forged = client.post("/sidebar/api/customer/actions", json={"kind": "refund"},
                         headers=bearer("eyJhbGciOiJIUzI1NiJ9.e30.forged"))
    assert forged.status_code == 401


# --- permissions come from the helpdesk, never from the page ---------------------------------------------------

def test_a_role_or_agent_forged_by_the_page_changes_nothing(client, app, helpdesk, billing, agents, session_for,
                                                            ticket, worker, slack_users):
    # A tier 1 agent's page claims to be the admin, to be another agent, and to be allowed: all ignored.
    answer = refund(client, session_for(agents.tier1), ticket, purchase_id="pur_ada_big", amount=4999,
                    role="admin", agent_id=agents.admin, user_role="admin", approved=True)
    assert answer.status_code == 202
    worker.run_until_idle()
    action = only_action(app)
    assert action.agent_id == agents.tier1 and action.agent_role == "agent"
    assert action.state == "awaiting_approval" and "limit per ticket of €20.00" in action.approval_reason
    assert billing.refunds() == []


def test_the_signed_loads_role_claim_does_not_lift_limits_either(client, app, billing, agents, session_for,
                                                                 ticket, worker, slack_users):
    session = session_for(agents.tier1, context={"product": "support", "location": "ticket_sidebar",
                                                 "ticket_id": ticket, "user_id": agents.tier1,
                                                 "user_role": "admin"})
    refund(client, session, ticket, purchase_id="pur_ada_big")
    worker.run_until_idle()
    assert only_action(app).state == "awaiting_approval"


def test_tier2_and_admins_have_higher_limits(client, app, billing, agents, session_for, ticket, worker):
    refund(client, session_for(agents.tier2), ticket, purchase_id="pur_ada_big", amount=4000)
    refund(client, session_for(agents.admin), ticket, purchase_id="pur_ada_big", amount=999)
    worker.run_until_idle()
    assert [(a.agent_name, a.state, a.rule) for a in actions(app)] == [
        ("James Carter", "done", "rule 2 (group Tier 2)"), ("Lena Lead", "done", "rule 1 (admin)")]
    assert sorted(r["amount"] for r in billing.refunds()) == [999, 4000]


def test_limits_add_up_per_ticket(client, app, billing, agents, session_for, ticket, worker, slack_users):
    session = session_for(agents.tier1)
    refund(client, session, ticket, purchase_id="pur_ada_big", amount=1500)
    worker.run_until_idle()
    refund(client, session, ticket, purchase_id="pur_ada_big", amount=600)  # 21.00 on this ticket: too much
    worker.run_until_idle()
    assert [a.state for a in actions(app)] == ["done", "awaiting_approval"]
    assert "€15.00 already refunded" in actions(app)[1].approval_reason
    # The sidebar says why in the agent's language: the limit and what was spent as money, not English text.
    panel = client.get(f"/sidebar/api/customer/tickets/{ticket}", headers=bearer(session)).get_json()
    [history] = [block for block in panel["blocks"] if block.get("name") == "customer-actions"]
    assert history["items"][0]["text"]["t"] == "customer.approval.per_ticket"
    assert history["items"][0]["text"]["args"] == {"limit": {"money": 2000, "currency": "EUR"},
                                                   "spent": {"money": 1500, "currency": "EUR"}}


def test_an_end_user_or_an_unknown_user_may_do_nothing(client, app, helpdesk, billing, session_for, ticket,
                                                       worker):
    end_user = helpdesk.api("POST", "/users.json", json={"user": {"name": "Eve", "email": "eve@x.example",
                                                                  "role": "end-user"}})["user"]["id"]
    refund(client, session_for(end_user), ticket)
    refund(client, session_for(987_654), ticket)
    worker.run_until_idle()
    assert [(a.state, a.refusal) for a in actions(app)] == [
        ("refused", "your helpdesk user is not an active agent")] * 2
    assert billing.refunds() == []


# --- approval in Slack ---------------------------------------------------------------------------------------

def test_above_the_limit_a_lead_approves_in_slack_then_the_refund_is_made(
        client, app, helpdesk, billing, agents, session_for, ticket, worker, slack_users, deskmate_server):
    slack = slack_users
    slack.call("POST", "/__sandbox/config", json={"interactivity_url": f"{deskmate_server.url}/slack/interactions"})
    refund(client, session_for(agents.tier1), ticket, purchase_id="pur_ada_big", reason="Goodwill gesture")
    worker.run_until_idle()
    [message] = approval_messages(slack)
    assert "Marta Rossi" in message["text"] and "€49.99" in message["text"]
    # Someone who is not an approver clicks: told so privately, nothing changes.
    answer = slack.call("POST", "/__sandbox/interact", json={"channel": APPROVALS, "ts": message["ts"],
                                                             "action_id": "customer.approve", "user": "U0100MARTA"})
    assert answer["status"] == 200
    worker.run_until_idle()
    assert only_action(app).state == "awaiting_approval" and billing.refunds() == []
    [told] = slack.call("GET", "/__sandbox/messages")["ephemeral"]
    assert "Only the approvers" in told["text"]
    # The lead approves (twice: a double click); one refund, the message says who and what happened.
    for _ in range(2):
        slack.call("POST", "/__sandbox/interact", json={"channel": APPROVALS, "ts": message["ts"],
                                                        "action_id": "customer.approve", "user": LEAD_SLACK})
    worker.run_until_idle()
    action = only_action(app)
    assert (action.state, action.approver_slack_id, action.approver_name) == ("done", LEAD_SLACK, "lena")
    assert [r["amount"] for r in billing.refunds()] == [4999]
    [updated] = approval_messages(slack)
    assert "Approved by" in json.dumps(updated["blocks"]) and action.billing_reference in json.dumps(updated["blocks"])
    assert "customer.approve" not in json.dumps(updated["blocks"])
    [note] = notes(helpdesk, ticket)
    assert "Approved by lena" in note


def test_a_declined_request_is_never_made_and_says_so_on_the_ticket(
        client, app, helpdesk, billing, agents, session_for, ticket, worker, slack_users, deskmate_server):
    slack = slack_users
    slack.call("POST", "/__sandbox/config", json={"interactivity_url": f"{deskmate_server.url}/slack/interactions"})
    refund(client, session_for(agents.tier1), ticket, purchase_id="pur_ada_big")
    worker.run_until_idle()
    [message] = approval_messages(slack)
    slack.call("POST", "/__sandbox/interact", json={"channel": APPROVALS, "ts": message["ts"],
                                                    "action_id": "customer.decline", "user": LEAD_SLACK})
    worker.run_until_idle()
    assert only_action(app).state == "declined" and billing.refunds() == []
    [note] = notes(helpdesk, ticket)
    assert "declined" in note and "Marta Rossi" in note


def test_without_an_approval_channel_an_action_above_the_limit_is_refused(client, app, billing, agents,
                                                                          session_for, ticket, worker):
    override(app, approvals_channel=None)
    refund(client, session_for(agents.tier1), ticket, purchase_id="pur_ada_big")
    worker.run_until_idle()
    action = only_action(app)
    assert action.state == "refused" and "no lead can approve it here" in action.refusal


# --- exactly once ------------------------------------------------------------------------------------------

def test_a_double_click_is_one_action_and_one_refund(client, app, billing, agents, session_for, ticket, worker):
    session = session_for(agents.tier1)
    request_id = uuid.uuid4().hex
    answers = [refund(client, session, ticket, request_id=request_id) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_json()["action"]["id"] for a in answers}) == 1
    worker.run_until_idle()
    assert len(actions(app)) == 1 and len(billing.refunds()) == 1
    # A retry after the refund was made (its answer lost): told it is done, not "already refunded".
    again = refund(client, session, ticket, request_id=request_id)
    assert again.status_code == 200 and again.get_json()["action"]["state"] == "done"
    assert again.get_json()["reply"].startswith("Ho rimborsato")
    assert len(billing.refunds()) == 1
    # The same request_id from another agent or for another action is refused rather than taken as the first.
    other = ask(client, session, ticket_id=ticket, request_id=request_id, kind="promo_code", campaign="PPV-SORRY")
    assert other.status_code == 409
    stranger = refund(client, session_for(agents.tier2), ticket, request_id=request_id)
    assert stranger.status_code == 409


def test_two_agents_refunding_the_same_purchase_at_once_refund_it_once(client, app, billing, agents, session_for,
                                                                       ticket, worker):
    first, second = session_for(agents.tier2), session_for(agents.admin)
    barrier = threading.Barrier(2)
    answers = []

    def press(session: str) -> None:
        with app.test_client() as own:
            barrier.wait()
            answers.append(refund(own, session, ticket, purchase_id="pur_ada_big").status_code)

    threads = [threading.Thread(target=press, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [202, 202]
    worker.run_until_idle()
    states = sorted(a.state for a in actions(app))
    assert states == ["done", "refused"], [(a.state, a.refusal) for a in actions(app)]
    [made] = billing.refunds()
    assert made["amount"] == 4999
    refused = next(a for a in actions(app) if a.state == "refused")
    # Refused before the write (the fresh read showed nothing left) or by the billing system itself.
    assert "refunded" in refused.refusal


def test_a_billing_timeout_is_retried_with_the_same_key_and_refunds_once(client, app, billing, agents,
                                                                         session_for, ticket, worker, clock):
    # Every write is performed, then its answer is held past Deskmate's 1-second write timeout.
    billing.faults(timeout_rate=1.0, timeout_ms=1500)
    refund(client, session_for(agents.tier1), ticket)
    worker.run_until_idle()
    action = only_action(app)
    assert action.state == "approved"  # the answer was lost: not known to be done yet
    assert len(billing.refunds()) == 1  # ...but the billing system did it
    billing.faults()
    clock.advance(seconds=600)  # past the retry's backoff
    worker.run_until_idle()
    action = only_action(app)
    assert action.state == "done"
    [made] = billing.refunds()
    assert action.billing_reference == made["id"]


def test_billing_errors_are_retried_and_a_lasting_failure_is_shown(client, app, billing, agents, session_for,
                                                                   ticket, worker, clock):
    billing.faults(error_rate=1.0)
    refund(client, session_for(agents.tier1), ticket)
    for _ in range(12):
        worker.run_until_idle(timers=True)
        clock.advance(seconds=3600)
    action = only_action(app)
    assert action.state == "failed" and billing.refunds() == []
    assert not action.reserved  # the amount no longer counts against the agent's day


# --- the panel -------------------------------------------------------------------------------------------------

def test_the_panel_offers_the_actions_and_shows_the_tickets_history(client, app, billing, agents, session_for,
                                                                    ticket, worker):
    session = session_for(agents.tier1)
    client.get(f"/sidebar/api/tickets/{ticket}", headers=bearer(session))
    panel = client.get(f"/sidebar/api/customer/tickets/{ticket}", headers=bearer(session)).get_json()
    forms = {block["name"]: block for block in panel["blocks"] if block["type"] == "form"}
    assert set(forms) == {"refund", "reverse-pur_ada_dup", "cancel-subscription", "promo-code"}
    options = [option["value"] for option in forms["refund"]["fields"][0]["options"]]
    assert options == ["pur_ada_dup", "pur_ada_ppv", "pur_ada_big"]
    assert "refresh_seconds" not in panel
    refund(client, session, ticket)
    panel = client.get(f"/sidebar/api/customer/tickets/{ticket}", headers=bearer(session)).get_json()
    assert panel["refresh_seconds"] == 2  # an action is open: the page asks again
    worker.run_until_idle()
    panel = client.get(f"/sidebar/api/customer/tickets/{ticket}", headers=bearer(session)).get_json()
    [history] = [block for block in panel["blocks"] if block.get("name") == "customer-actions"]
    assert history["items"][0]["badge"]["text"] == {"t": "customer.action_state.done"}
    assert "refresh_seconds" not in panel


def test_preview_says_exactly_what_will_happen_and_does_nothing(client, app, billing, agents, session_for,
                                                                ticket):
    answer = client.post("/sidebar/api/customer/actions/preview", headers=bearer(session_for(agents.tier1)),
                         json={"ticket_id": ticket, "kind": "refund", "purchase_id": "pur_ada_ppv", "amount": 700,
                               "reason": "Stream did not play"})
    assert answer.status_code == 200
    confirm = answer.get_json()["confirm"]
    assert confirm["t"] == "customer.confirm.refund"
    assert confirm["args"]["amount"] == {"money": 700, "currency": "EUR"} and confirm["args"]["email"] == CUSTOMER
    assert actions(app) == [] and billing.refunds() == []


def test_other_actions_cancel_reverse_and_issue_a_code(client, app, helpdesk, billing, agents, session_for, ticket,
                                                       worker):
    session = session_for(agents.tier2)
    assert ask(client, session, ticket_id=ticket, kind="reverse_duplicate", purchase_id="pur_ada_dup").status_code \
        == 202
    assert ask(client, session, ticket_id=ticket, kind="cancel_subscription", when="period_end").status_code == 202
    assert ask(client, session, ticket_id=ticket, kind="promo_code", campaign="PPV-SORRY").status_code == 202
    worker.run_until_idle()
    assert [(a.kind, a.state) for a in actions(app)] == [
        ("reverse_duplicate", "done"), ("cancel_subscription", "done"), ("promo_code", "done")]
    ledger = billing.ledger()
    assert [r["purchase_id"] for r in ledger["refunds"]] == ["pur_ada_dup"]
    assert len(ledger["cancellations"]) == 1 and len(ledger["promo_codes"]) == 1
    assert len(notes(helpdesk, ticket)) == 3


def test_the_audit_page_filters_and_exports(client, app, billing, agents, session_for, ticket, worker,
                                            admin_token):
    from tests.core.test_admin import sign_in

    refund(client, session_for(agents.tier1), ticket, amount=300)
    refund(client, session_for(agents.tier1), ticket, purchase_id="pur_ada_big")
    worker.run_until_idle()
    admin = app.test_client()
    sign_in(admin, admin_token)
    page = admin.get("/admin/customer/actions?state=done")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Marta Rossi" in html and "1 action" in html
    bad = admin.get("/admin/customer/actions?since=yesterday")
    assert bad.status_code == 422 and "must be a date" in bad.get_data(as_text=True)
    export = admin.get("/admin/customer/actions?format=csv")
    lines = export.get_data(as_text=True).strip().splitlines()
    assert export.mimetype == "text/csv" and lines[0].startswith("id,requested_at,ticket_id")
    assert len(lines) == 3


def test_the_billing_api_really_received_the_idempotency_key(client, app, billing, agents, session_for, ticket,
                                                             worker):
    refund(client, session_for(agents.tier1), ticket)
    worker.run_until_idle()
    [made] = billing.refunds()
    action = only_action(app)
    assert made["idempotency_key"] == f"deskmate-{action.account_id}-action-{action.id}"
    # The billing system itself replays it: the same key and body never refund twice.
    again = requests.post(f"{billing.url}/customers/{CUSTOMER}/refunds", timeout=5,
                          headers={"Authorization": "Bearer billing-secret-for-tests",
                                   "Idempotency-Key": made["idempotency_key"]},
                          json={"purchase_id": "pur_ada_ppv", "amount": 1499, "reason": "Stream did not play",
                                "metadata": made["metadata"]})
    assert again.headers.get("Idempotent-Replayed") == "true" and len(billing.refunds()) == 1


def test_settings_refuse_bad_rules(app):
    from pydantic import ValidationError

    from plugins.customer.settings import CustomerSettings

    for bad in ({"approvers": ["lena"]}, {"refund_reasons": ["Same", "same"]}, {"currency": "euro"},
                {"rules": [{"role": "owner"}]}, {"rules": [{"per_ticket": -1}]}, {"refund_reasons": []}):
        with pytest.raises(ValidationError):
            CustomerSettings.model_validate(bad)

