"""The billing actions admin page in the admin's language: words for states and actions, local times, filters
that keep what was typed and say in plain words what to fix."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.db import storage
from plugins.customer.models import CustomerAction
from tests.core.test_admin import sign_in


@pytest.fixture
def app_config(app_config):
    app_config["plugins"] = ["customer"]
    return app_config


def add_action(app, account_id, clock, n, **values):
    with storage.session(app) as session:
        fields = {"kind": "refund", "state": "done", "ticket_id": 301, "customer_email": "ada@viewer.example",
                  "agent_id": 1000001, "agent_name": "Marta Rossi", "purchase_id": "pur_1",
                  "purchase_title": "Derby di Milano", "amount": 999, "currency": "EUR",
                  "reason": "Stream did not play", "requested_at": clock.now() - timedelta(hours=2)}
        session.add(CustomerAction(account_id=account_id, request_id=f"r{n}", **{**fields, **values}))


def test_page_speaks_french_with_local_times_and_plurals(app, client, admin_token, account_id, clock):
    add_action(app, account_id, clock, 1)
    add_action(app, account_id, clock, 2, state="awaiting_approval", kind="promo_code", amount=None, currency=None,
               option="WINTER")
    sign_in(client, admin_token)
    page = client.get("/admin/customer/actions?lang=fr").get_data(as_text=True)
    assert "Actions de facturation" in page and "2 actions" in page
    assert "rembourser 9,99\xa0€ pour « Derby di Milano »" in page
    assert "en attente d\u2019approbation" in page and "effectuée" in page
    assert "9,99\xa0€ en 1 action" in page
    shown = re.sub(r'datetime="[^"]*"', "", page)
    assert not re.search(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", shown)
    assert "il y a 2 heures" in page


def test_a_bad_filter_is_explained_and_what_was_typed_is_kept(app, client, admin_token, account_id, clock):
    sign_in(client, admin_token)
    answer = client.get("/admin/customer/actions?lang=it&agent=Marta&since=ieri")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "I filtri non sono stati applicati: «Dal» deve essere una data, per esempio 2026-12-07." in page
    assert 'name="agent" value="Marta"' in page and 'name="since" value="ieri"' in page
    reversed_period = client.get("/admin/customer/actions?lang=en&since=2026-12-08&until=2026-12-01")
    assert "“To” must not be before “From”." in reversed_period.get_data(as_text=True)
