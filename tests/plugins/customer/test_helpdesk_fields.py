"""The default source: the requester's and organization's helpdesk fields, from the sidebar's sideload."""

from __future__ import annotations

from plugins.customer.fields import from_helpdesk, items, promo_codes
from plugins.customer.settings import CustomerSettings
from tests.sidebar.conftest import bearer, index_ticket

SETTINGS = CustomerSettings()


def test_premium_partner_shows_its_plan_from_the_organization_field():
    panel = from_helpdesk({"id": 1, "user_fields": {}},
                          {"id": 7, "organization_fields": {"partner_tier": "premium"}}, SETTINGS)
    assert panel == {"source": "helpdesk", "state": "ok", "plan": "premium", "subscription": None,
                     "purchases": [], "refunds": [], "promo_codes": []}


def test_user_fields_win_over_organization_fields_and_are_parsed():
    requester = {"id": 1, "user_fields": {
        "plan": "Premium", "subscription_status": "Past due", "subscription_renews_at": "2026-12-01",
        "recent_purchases": "2026-11-20 | PPV | Champions League final | 9.99 EUR\n2026-11-02 | Jazz night",
        "refunds": '[{"title": "Champions League final", "amount": 9.99, "currency": "EUR", '
                   '"status": "pending"}]',
        "promo_codes": "WELCOME10, SPRING25"}}
    panel = from_helpdesk(requester, {"id": 7, "organization_fields": {"partner_tier": "standard"}}, SETTINGS)
    assert panel["plan"] == "Premium"
    assert panel["subscription"] == {"status": "past_due", "renews_at": "2026-12-01"}
    assert panel["purchases"] == [
        {"date": "2026-11-20", "kind": "ppv", "title": "Champions League final", "amount": 9.99,
         "currency": "EUR"},
        {"date": "2026-11-02", "title": "Jazz night"}]
    assert panel["refunds"] == [{"title": "Champions League final", "amount": 9.99, "currency": "EUR",
                                 "status": "pending"}]
    assert panel["promo_codes"] == [{"code": "WELCOME10"}, {"code": "SPRING25"}]


def test_requester_without_customer_fields_is_an_empty_panel_not_an_error():
    panel = from_helpdesk({"id": 1, "user_fields": {"plan": ""}}, None, SETTINGS)
    assert panel["state"] == "empty"


def test_unknown_requester_says_so():
    assert from_helpdesk(None, None, SETTINGS) == {"source": "helpdesk", "state": "no_requester"}


def test_configured_field_keys_are_used():
    settings = CustomerSettings(plan_fields=["tariff"], promo_codes_fields=["vouchers"])
    fields = {"tariff": "Gold", "plan": "ignored", "vouchers": ["A1", {"code": "B2", "status": "redeemed"}]}
    panel = from_helpdesk({"id": 1, "user_fields": fields}, None, settings)
    assert panel["plan"] == "Gold"
    assert panel["promo_codes"] == [{"code": "A1"}, {"code": "B2", "status": "redeemed"}]


def test_lists_are_capped_and_amounts_with_commas_read():
    lines = "\n".join(f"2026-11-{day:02d} | ppv | Event {day} | 4,99 EUR" for day in range(1, 10))
    parsed = items(lines, 5)
    assert len(parsed) == 5
    assert parsed[0]["amount"] == 4.99
    assert promo_codes(12345, 5) == [{"code": "12345"}]


def test_panel_reaches_the_sidebar_from_the_sideloaded_requester(client, app, account_id, sidebar_session):
    index_ticket(app, account_id, 42,
                 requester={"id": 501, "name": "Ada", "email": "ada@viewers.example",
                            "user_fields": {"plan": "Standard", "subscription_status": "active"}},
                 organization=None)
    body = client.get("/sidebar/api/tickets/42", headers=bearer(sidebar_session)).get_json()
    panel = body["panels"]["customer"]
    assert panel["data"]["plan"] == "Standard"
    assert panel["data"]["subscription"]["status"] == "active"
    [facts, no_activity] = panel["blocks"]
    assert facts["type"] == "facts" and [row["value"] for row in facts["rows"]] == [
        "Standard", {"t": "customer.subscription_status.active", "default": "active"}]
    assert no_activity["text"] == {"t": "customer.no_activity"}
    assert body["meta"]["helpdesk_calls"] == 0
