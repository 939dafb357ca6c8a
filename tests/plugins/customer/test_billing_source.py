"""The billing source over real HTTP (the sandbox's billing emulator): data, cache, and every failure."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plugins.customer.settings import CustomerSettings
from tests.sidebar.conftest import bearer, index_ticket


def open_ticket(client, app, account_id, session, email: str) -> dict:
    """Open the ticket (the panel is a deferred block: no billing call), then fetch the block as the page does."""
    index_ticket(app, account_id, 42, requester={"id": 501, "name": "Someone", "email": email})
    response = client.get("/sidebar/api/tickets/42", headers=bearer(session))
    assert response.status_code == 200
    panel = response.get_json()["panels"]["customer"]
    [block] = panel["blocks"]
    assert block == {"type": "deferred", "source": "/sidebar/api/customer/tickets/42"}
    deferred = client.get(block["source"], headers=bearer(session))
    assert deferred.status_code == 200
    answer = deferred.get_json()
    assert isinstance(answer["blocks"], list)
    return answer["data"]


def test_opening_the_sidebar_never_waits_on_the_billing_system(billing_settings, billing, client, app,
                                                               account_id, sidebar_session):
    billing.state.latency_ms = 2000
    index_ticket(app, account_id, 42, requester={"id": 501, "name": "Someone", "email": "ada@viewers.example"})
    response = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session))
    assert response.status_code == 200
    assert response.get_json()["panels"]["customer"]["data"] == {"source": "billing", "state": "deferred"}
    assert billing.calls() == 0


def test_the_billing_route_needs_a_session_and_a_ticket_the_sidebar_opened(billing_settings, billing, client,
                                                                           sidebar_session):
    assert client.get("/sidebar/api/customer/tickets/42").status_code == 401
    assert client.get("/sidebar/api/customer/tickets/42", headers=bearer(sidebar_session)).status_code == 404
    assert billing.calls() == 0


def test_the_billing_answer_is_rendered_as_blocks(billing_settings, billing, client, app, account_id,
                                                  sidebar_session):
    index_ticket(app, account_id, 42,
                 requester={"id": 501, "name": "Someone", "email": "partner@studio-aurora.example"})
    client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session))
    answer = client.get("/sidebar/api/customer/tickets/42", headers=bearer(sidebar_session)).get_json()
    types = [(block["type"], block.get("name")) for block in answer["blocks"]]
    # The customer's record, then what an agent can do (the purchase is refunded already: no refund form).
    assert types == [("facts", None), ("list", "purchases"), ("list", "refunds"), ("badges", "promo-codes"),
                     ("form", "cancel-subscription"), ("form", "promo-code")]
    [purchase] = answer["blocks"][1]["items"]
    assert purchase["aside"] == {"money": 999, "currency": "EUR"}


def test_partner_panel_comes_from_the_billing_system(billing_settings, billing, client, app, account_id,
                                                     sidebar_session):
    panel = open_ticket(client, app, account_id, sidebar_session, "Partner@Studio-Aurora.example")
    assert panel == {
        "source": "billing", "plan": "Partner Pro",
        "subscription": {"id": "sub_partner", "status": "active", "renews_at": "2026-12-01",
                         "current_period_end": "2026-12-01", "cancel_at_period_end": False},
        "purchases": [{"id": "pur_final", "title": "Champions League final", "kind": "ppv", "amount": 9.99,
                       "amount_minor": 999, "currency": "EUR", "date": "2026-11-20", "amount_refunded": 999,
                       "status": "refunded"}],
        "refunds": [{"id": "re_final", "purchase_id": "pur_final", "title": "Champions League final",
                     "amount": 9.99, "amount_minor": 999, "currency": "EUR", "date": "2026-11-21",
                     "status": "completed", "reason": "stream interrupted"}],
        "promo_codes": [{"code": "PPVFREE", "status": "active", "discount": "1 event"}],
        "state": "ok"}


def test_answers_are_cached_so_repeated_opens_do_not_ask_again(billing_settings, billing, client, app,
                                                               account_id, sidebar_session):
    for _ in range(3):
        assert open_ticket(client, app, account_id, sidebar_session, "ada@viewers.example")["state"] == "ok"
    assert billing.calls() == 1


def test_unknown_customer_is_not_found(billing_settings, billing, client, app, account_id, sidebar_session):
    panel = open_ticket(client, app, account_id, sidebar_session, "nobody@viewers.example")
    assert panel == {"source": "billing", "state": "not_found"}


def test_wrong_secret_is_shown_as_refused(billing_settings, billing, app_config, client, app, account_id,
                                          sidebar_session):
    billing.state.secret = "rotated-secret"
    panel = open_ticket(client, app, account_id, sidebar_session, "ada@viewers.example")
    assert panel == {"source": "billing", "state": "error", "error": "refused"}


def test_slow_billing_system_times_out_within_the_budget(billing_settings, billing, client, app, account_id,
                                                         sidebar_session):
    import time

    billing.state.latency_ms = 2000
    started = time.monotonic()
    panel = open_ticket(client, app, account_id, sidebar_session, "ada@viewers.example")
    assert panel == {"source": "billing", "state": "error", "error": "timeout"}
    assert time.monotonic() - started < 1.5
    # The failure is remembered briefly: the next open does not wait again.
    started = time.monotonic()
    assert open_ticket(client, app, account_id, sidebar_session, "ada@viewers.example")["error"] == "timeout"
    assert time.monotonic() - started < 0.3


def test_billing_outage_is_an_error_state_and_the_rest_of_the_sidebar_still_answers(
        billing_settings, billing, client, app, account_id, sidebar_session):
    billing.state.error_status = 503
    panel = open_ticket(client, app, account_id, sidebar_session, "ada@viewers.example")
    assert panel == {"source": "billing", "state": "error", "error": "unavailable"}


def test_billing_system_down_is_unavailable():
    settings = CustomerSettings(source="billing", billing_url_template="http://127.0.0.1:9/customers/{email}")
    from plugins.customer.billing import from_billing

    assert from_billing(1, "ada@viewers.example", settings) == {"source": "billing", "state": "error",
                                                                 "error": "unavailable"}


@pytest.mark.parametrize("template", [
    "http://billing.example/customers/{email}",  # plain http outside loopback
    "https://billing.example/customers/",  # no {email}
    "billing.example/{email}",
])
def test_unsafe_or_useless_url_templates_are_refused_at_start_up(template):
    with pytest.raises(ValidationError):
        CustomerSettings(source="billing", billing_url_template=template)


def test_billing_source_without_a_url_is_refused():
    with pytest.raises(ValidationError, match="billing_url_template"):
        CustomerSettings(source="billing")
