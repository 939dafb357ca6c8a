"""The billing emulator over real HTTP: its data, the Stripe-like writes, idempotency keys, faults, the ledger."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from sandbox.billing import BillingState, create_app, sample_customer, seed_customers, seed_from_helpdesk
from sandbox.billing.idempotency import IdempotencyStore
from sandbox.cli import billing_emulator, main
from sandbox.server import ServerThread
from sandbox.timeutil import ManualClock
from sandbox.zendesk import HelpdeskState

SECRET = {"Authorization": "Bearer billing-sandbox-secret"}
EMAIL = "ada@viewers.example"


class Billing:
    """A running emulator with one known customer, and shortcuts for its calls."""

    def __init__(self, state: BillingState, url: str) -> None:
        self.state = state
        self.url = url
        self.session = requests.Session()

    def customer_url(self, email: str = EMAIL) -> str:
        return f"{self.url}/customers/{email.replace('@', '%40')}"

    def get(self, email: str = EMAIL, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("headers", SECRET)
        return self.session.get(self.customer_url(email), timeout=10, **kwargs)

    def post(self, path: str, body: Any = None, *, key: str | None = None, email: str = EMAIL,
             timeout: float = 10, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        sent = dict(SECRET if headers is None else headers)
        if key is not None:
            sent["Idempotency-Key"] = key
        # A session per call: threads in these tests post at the same time.
        return requests.post(self.customer_url(email) + path, json=body, headers=sent, timeout=timeout, **kwargs)

    def refund(self, amount: Any = 300, *, purchase_id: str = "pur_ppv", key: str | None = None,
               **fields: Any) -> requests.Response:
        body = {"purchase_id": purchase_id, "amount": amount, "reason": "stream interrupted", **fields}
        return self.post("/refunds", body, key=key)

    def faults(self, **settings: Any) -> dict[str, Any]:
        response = requests.post(f"{self.url}/__billing/faults", json=settings, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def ledger(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/__billing/ledger", timeout=10).json()

    def stats(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/__billing/stats", timeout=10).json()

    def purchase(self, purchase_id: str = "pur_ppv") -> dict[str, Any]:
        return next(p for p in self.get().json()["customer"]["purchases"] if p["id"] == purchase_id)


def known_customer() -> dict[str, Any]:
    return {
        "email": EMAIL, "id": "cus_0123456789ab", "currency": "EUR",
        "plan": {"name": "Premium", "price": 1799, "currency": "EUR", "interval": "month"},
        "subscription": {"id": "sub_ada", "status": "active", "renews_at": "2026-12-20",
                         "current_period_end": "2026-12-20", "cancel_at_period_end": False, "cancelled_at": None},
        "purchases": [
            {"id": "pur_ppv", "kind": "ppv", "title": "Champions League final", "amount": 999, "currency": "EUR",
             "date": "2026-11-20", "amount_refunded": 0, "status": "paid", "duplicate_of": None},
            {"id": "pur_sub", "kind": "subscription", "title": "Premium monthly", "amount": 1799,
             "currency": "EUR", "date": "2026-11-14", "amount_refunded": 0, "status": "paid",
             "duplicate_of": None},
        ],
        "refunds": [], "promo_codes": [],
    }


@pytest.fixture
def billing() -> Iterator[Billing]:
    state = BillingState()
    state.add(known_customer())
    state.add({"email": "bob@viewers.example", "subscription": None,
               "purchases": [{"id": "pur_bob", "kind": "ppv", "title": "Derby di Milano", "amount": 499,
                              "date": "2026-11-01"}]})
    with ServerThread(create_app(state)) as server:
        yield Billing(state, server.url)


def error(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "code", "message", "param"}, body
    return body["error"]


# The data


def test_sample_customers_are_deterministic_and_in_minor_units() -> None:
    today = date(2026, 12, 1)
    ada = sample_customer("Ada@Viewers.example", today)
    assert ada == sample_customer("ada@viewers.example", today)
    assert ada["id"].startswith("cus_") and len(ada["id"]) == 16 and int(ada["id"][4:], 16) >= 0
    assert ada["email"] == "ada@viewers.example" and ada["currency"] == "EUR"
    assert isinstance(ada["plan"]["price"], int) and ada["plan"]["interval"] == "month"
    subscription = ada["subscription"]
    assert subscription["id"].startswith("sub_")
    assert set(subscription) == {"id", "status", "renews_at", "current_period_end", "cancel_at_period_end",
                                 "cancelled_at"}
    dates = [purchase["date"] for purchase in ada["purchases"]]
    assert dates == sorted(dates, reverse=True)
    for purchase in ada["purchases"]:
        assert purchase["id"].startswith("pur_")
        assert isinstance(purchase["amount"], int) and not isinstance(purchase["amount"], bool)
        assert set(purchase) == {"id", "kind", "title", "amount", "currency", "date", "amount_refunded",
                                 "status", "duplicate_of"}
    assert sample_customer("bob@viewers.example", today)["id"] != ada["id"]


def test_about_one_customer_in_four_has_a_duplicate_pay_per_view_charge() -> None:
    today = date(2026, 12, 1)
    customers = [sample_customer(f"viewer{n}@mail.example", today) for n in range(400)]
    with_duplicate = 0
    for customer in customers:
        by_id = {purchase["id"]: purchase for purchase in customer["purchases"]}
        duplicates = [purchase for purchase in customer["purchases"] if purchase["duplicate_of"]]
        with_duplicate += bool(duplicates)
        for duplicate in duplicates:
            first = by_id[duplicate["duplicate_of"]]
            assert duplicate["kind"] == first["kind"] == "ppv"
            assert (duplicate["title"], duplicate["amount"], duplicate["date"]) == \
                (first["title"], first["amount"], first["date"])
            assert duplicate["amount_refunded"] == 0  # left for the agent to reverse
            # Newest first: the second charge is listed before the one it duplicates.
            assert customer["purchases"].index(duplicate) < customer["purchases"].index(first)
    assert 0.17 < with_duplicate / len(customers) < 0.33


def test_seeded_refunds_agree_with_their_purchases() -> None:
    today = date(2026, 12, 1)
    for n in range(200):
        customer = sample_customer(f"viewer{n}@mail.example", today)
        by_id = {purchase["id"]: purchase for purchase in customer["purchases"]}
        refunded: dict[str, int] = {}
        for refund in customer["refunds"]:
            assert refund["id"].startswith("re_") and refund["status"] in ("succeeded", "pending")
            refunded[refund["purchase_id"]] = refunded.get(refund["purchase_id"], 0) + refund["amount"]
        for purchase_id, purchase in by_id.items():
            assert purchase["amount_refunded"] == refunded.get(purchase_id, 0)
            expected = ("paid" if not purchase["amount_refunded"] else
                        "refunded" if purchase["amount_refunded"] == purchase["amount"] else "partially_refunded")
            assert purchase["status"] == expected
        for code in customer["promo_codes"]:
            assert set(code) == {"code", "campaign", "discount", "status", "expires_at"}


def test_seeding_from_the_helpdesk_takes_its_end_users_only() -> None:
    from sandbox.seed import seed_helpdesk

    helpdesk = HelpdeskState()
    try:
        seed_helpdesk(helpdesk, tickets=0)
        state = BillingState()
        count = seed_from_helpdesk(state, helpdesk)
        assert count == 60 and len(state.customers) == 60
        assert not any(email.endswith("@deskmate.example") for email in state.customers)
    finally:
        helpdesk.close()


def test_get_customer_needs_the_secret_and_answers_stripe_shaped_errors(billing: Billing) -> None:
    assert error(billing.get(headers={}))["code"] == "unauthorized"
    assert billing.get(headers={}).status_code == 401
    assert billing.get(headers={"Authorization": "Bearer wrong"}).status_code == 401
    missing = billing.get("nobody@viewers.example")
    assert missing.status_code == 404 and error(missing)["code"] == "resource_missing"
    found = billing.get("ADA@viewers.example")
    assert found.status_code == 200 and found.json()["customer"]["id"] == "cus_0123456789ab"


def test_hand_written_customers_get_ids_and_totals(billing: Billing) -> None:
    bob = billing.get("bob@viewers.example").json()["customer"]
    assert bob["id"].startswith("cus_") and bob["currency"] == "EUR" and bob["subscription"] is None
    assert bob["purchases"][0] | {"amount_refunded": 0, "status": "paid", "duplicate_of": None} == \
        bob["purchases"][0]


def test_campaigns_need_the_secret(billing: Billing) -> None:
    assert requests.get(f"{billing.url}/campaigns", timeout=10).status_code == 401
    campaigns = requests.get(f"{billing.url}/campaigns", headers=SECRET, timeout=10).json()["campaigns"]
    assert {c["id"] for c in campaigns} >= {"PPV-SORRY", "LOYAL-20", "WELCOME-BACK"}
    assert all(set(c) == {"id", "name", "discount"} for c in campaigns)


# Refunds


def test_partial_then_full_refund_updates_the_purchase(billing: Billing) -> None:
    first = billing.refund(300, metadata={"ticket": "42"})
    assert first.status_code == 201, first.text
    refund = first.json()["refund"]
    assert refund["id"].startswith("re_") and refund["amount"] == 300 and refund["currency"] == "EUR"
    assert refund["purchase_id"] == "pur_ppv" and refund["title"] == "Champions League final"
    assert refund["status"] == "succeeded" and refund["reason"] == "stream interrupted"
    assert refund["created"].endswith("Z") and refund["metadata"] == {"ticket": "42"}
    assert (billing.purchase()["amount_refunded"], billing.purchase()["status"]) == (300, "partially_refunded")
    assert billing.refund(699).status_code == 201
    assert (billing.purchase()["amount_refunded"], billing.purchase()["status"]) == (999, "refunded")
    refunds = billing.get().json()["customer"]["refunds"]
    assert [r["amount"] for r in refunds] == [699, 300]  # newest first


@pytest.mark.parametrize(("body", "param"), [
    ([], None),
    ({"amount": 100, "reason": "x"}, "purchase_id"),
    ({"purchase_id": 7, "amount": 100, "reason": "x"}, "purchase_id"),
    ({"purchase_id": "pur_ppv", "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": True, "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": 5.0, "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": "500", "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": 0, "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": -5, "reason": "x"}, "amount"),
    ({"purchase_id": "pur_ppv", "amount": 100}, "reason"),
    ({"purchase_id": "pur_ppv", "amount": 100, "reason": 3}, "reason"),
    ({"purchase_id": "pur_ppv", "amount": 100, "reason": "x" * 201}, "reason"),
    ({"purchase_id": "pur_ppv", "amount": 100, "reason": "x", "metadata": {"a": 1}}, "metadata"),
    ({"purchase_id": "pur_ppv", "amount": 100, "reason": "x", "metadata": ["a"]}, "metadata"),
    ({"purchase_id": "pur_ppv", "amount": 100, "reason": "x", "currency": "EUR"}, "currency"),
])
def test_refund_parameters_are_checked_strictly(billing: Billing, body: Any, param: str | None) -> None:
    response = billing.post("/refunds", body)
    assert response.status_code == 400
    assert error(response) | {"message": ""} == {"type": "invalid_request_error", "code": "parameter_invalid",
                                                  "param": param, "message": ""}
    assert billing.ledger()["refunds"] == [] and billing.purchase()["amount_refunded"] == 0


def test_a_body_that_is_not_json_is_a_parameter_error(billing: Billing) -> None:
    response = requests.post(billing.customer_url() + "/refunds", data="amount=5", headers=SECRET, timeout=10)
    assert response.status_code == 400 and error(response)["code"] == "parameter_invalid"


def test_a_reason_of_200_characters_is_accepted(billing: Billing) -> None:
    assert billing.refund(100, reason="é" * 200).status_code == 201


def test_refund_of_a_purchase_the_customer_does_not_have_is_resource_missing(billing: Billing) -> None:
    for purchase_id in ("pur_nope", "pur_bob"):  # pur_bob is another customer's
        response = billing.refund(100, purchase_id=purchase_id)
        assert response.status_code == 404
        assert error(response) | {"message": ""} == {"type": "invalid_request_error", "code": "resource_missing",
                                                      "param": "purchase_id", "message": ""}
    unknown = billing.post("/refunds", {"purchase_id": "pur_ppv", "amount": 1, "reason": "x"},
                           email="nobody@viewers.example")
    assert unknown.status_code == 404 and error(unknown)["code"] == "resource_missing"


def test_refunding_more_than_is_left_names_what_is_left(billing: Billing) -> None:
    assert billing.refund(400).status_code == 201
    response = billing.refund(600)
    assert response.status_code == 400
    problem = error(response)
    assert (problem["code"], problem["param"]) == ("amount_too_large", "amount")
    assert "5.99 EUR" in problem["message"] and "599" in problem["message"]
    assert billing.purchase()["amount_refunded"] == 400


def test_a_fully_refunded_purchase_refuses_more(billing: Billing) -> None:
    assert billing.refund(999).status_code == 201
    response = billing.refund(1)
    assert response.status_code == 400
    assert (error(response)["code"], error(response)["param"]) == ("charge_already_refunded", "purchase_id")


def test_writes_need_the_secret(billing: Billing) -> None:
    body = {"purchase_id": "pur_ppv", "amount": 100, "reason": "x"}
    assert billing.post("/refunds", body, headers={}).status_code == 401
    assert billing.post("/subscription/cancel", {"at": "now"}, headers={}).status_code == 401
    assert billing.post("/promo_codes", {"campaign": "PPV-SORRY"}, headers={}).status_code == 401
    assert billing.ledger() == {"refunds": [], "cancellations": [], "promo_codes": []}


def test_concurrent_refunds_never_exceed_what_was_paid(billing: Billing) -> None:
    billing.faults(latency_ms=50)  # every request is in flight at once before performing
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda n: billing.refund(300, key=f"k{n}"), range(10)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [400] * 7
    assert {error(r)["code"] for r in responses if r.status_code == 400} == {"amount_too_large"}
    assert sum(refund["amount"] for refund in billing.ledger()["refunds"]) == 900
    assert billing.purchase()["amount_refunded"] == 900


# Subscription and promo codes


def test_cancel_at_period_end_then_now(billing: Billing) -> None:
    response = billing.post("/subscription/cancel", {"at": "period_end"})
    assert response.status_code == 200, response.text
    subscription = response.json()["subscription"]
    assert subscription["id"] == "sub_ada" and subscription["status"] == "active"
    assert subscription["cancel_at_period_end"] is True and subscription["renews_at"] is None
    assert subscription["current_period_end"] == "2026-12-20" and subscription["cancelled_at"].endswith("Z")
    again = billing.post("/subscription/cancel", {"at": "period_end"})
    assert again.status_code == 400 and error(again)["code"] == "subscription_already_cancelled"
    now = billing.post("/subscription/cancel", {"at": "now"}).json()["subscription"]
    assert now["status"] == "cancelled" and now["cancel_at_period_end"] is False
    assert billing.get().json()["customer"]["subscription"] == now
    for at in ("now", "period_end"):
        response = billing.post("/subscription/cancel", {"at": at})
        assert response.status_code == 400 and error(response)["code"] == "subscription_already_cancelled"
    assert [c["at"] for c in billing.ledger()["cancellations"]] == ["period_end", "now"]


@pytest.mark.parametrize("body", [{}, {"at": "tomorrow"}, {"at": True}, {"at": "now", "prorate": True}])
def test_cancel_parameters_are_checked(billing: Billing, body: dict[str, Any]) -> None:
    response = billing.post("/subscription/cancel", body)
    assert response.status_code == 400 and error(response)["code"] == "parameter_invalid"
    assert error(response)["param"] == ("prorate" if "prorate" in body else "at")


def test_cancelling_without_a_subscription_is_resource_missing(billing: Billing) -> None:
    response = billing.post("/subscription/cancel", {"at": "now"}, email="bob@viewers.example")
    assert response.status_code == 404 and error(response)["code"] == "resource_missing"


def test_promo_code_from_a_campaign(billing: Billing) -> None:
    response = billing.post("/promo_codes", {"campaign": "PPV-SORRY", "metadata": {"ticket": "42"}})
    assert response.status_code == 201, response.text
    code = response.json()["promo_code"]
    assert code["code"].startswith("PPV-SORRY-") and code["campaign"] == "PPV-SORRY"
    assert code["discount"] == "1 free pay-per-view event" and code["status"] == "active"
    assert date.fromisoformat(code["expires_at"]) > date.fromisoformat(code["created"][:10])
    assert billing.get().json()["customer"]["promo_codes"][0]["code"] == code["code"]
    [issued] = billing.ledger()["promo_codes"]
    assert issued["code"] == code["code"] and issued["metadata"] == {"ticket": "42"}


@pytest.mark.parametrize(("body", "status", "code", "param"), [
    ({"campaign": "NOPE"}, 404, "resource_missing", "campaign"),
    ({}, 400, "parameter_invalid", "campaign"),
    ({"campaign": 3}, 400, "parameter_invalid", "campaign"),
    ({"campaign": "PPV-SORRY", "metadata": "x"}, 400, "parameter_invalid", "metadata"),
])
def test_promo_code_errors(billing: Billing, body: dict[str, Any], status: int, code: str,
                           param: str) -> None:
    response = billing.post("/promo_codes", body)
    assert response.status_code == status and (error(response)["code"], error(response)["param"]) == (code, param)


# Idempotency keys


def test_the_same_key_and_body_replays_the_first_answer(billing: Billing) -> None:
    first = billing.refund(300, key="refund-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = billing.refund(300, key="refund-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(billing.ledger()["refunds"]) == 1 and billing.purchase()["amount_refunded"] == 300
    assert billing.ledger()["refunds"][0]["idempotency_key"] == "refund-1"
    assert billing.stats()["replayed"] == 1


def test_an_error_answer_is_replayed_too(billing: Billing) -> None:
    first = billing.refund(5000, key="too-much")
    again = billing.refund(5000, key="too-much")
    assert first.status_code == again.status_code == 400 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_key_reused_with_another_body_or_path_is_refused(billing: Billing) -> None:
    assert billing.refund(300, key="k").status_code == 201
    for response in (billing.refund(301, key="k"),
                     billing.post("/promo_codes", {"campaign": "PPV-SORRY"}, key="k")):
        assert response.status_code == 400
        assert error(response) | {"message": ""} == {"type": "idempotency_error", "code": "idempotency_key_reused",
                                                      "param": None, "message": ""}
    assert len(billing.ledger()["refunds"]) == 1 and billing.ledger()["promo_codes"] == []


def test_keys_are_independent_of_json_key_order(billing: Billing) -> None:
    body = {"purchase_id": "pur_ppv", "amount": 300, "reason": "x"}
    assert billing.post("/refunds", body, key="k").status_code == 201
    reordered = requests.post(billing.customer_url() + "/refunds", data=json.dumps(dict(reversed(body.items()))),
                              headers={**SECRET, "Idempotency-Key": "k", "Content-Type": "application/json"},
                              timeout=10)
    assert reordered.status_code == 201 and reordered.headers["Idempotent-Replayed"] == "true"


def test_a_request_refused_for_its_parameters_leaves_the_key_free(billing: Billing) -> None:
    assert billing.refund("300", key="k").status_code == 400
    assert billing.refund(300, key="k").status_code == 201


def test_a_key_still_being_performed_answers_409(billing: Billing) -> None:
    billing.faults(latency_ms=600)
    answers: dict[str, requests.Response] = {}
    first = threading.Thread(target=lambda: answers.setdefault("first", billing.refund(300, key="slow")))
    first.start()
    time.sleep(0.2)
    second = billing.refund(300, key="slow")
    first.join()
    assert answers["first"].status_code == 201
    assert second.status_code == 409
    assert error(second) | {"message": ""} == {"type": "idempotency_error", "code": "idempotency_key_in_use",
                                               "param": None, "message": ""}
    billing.faults()
    third = billing.refund(300, key="slow")
    assert third.status_code == 201 and third.headers["Idempotent-Replayed"] == "true"
    assert len(billing.ledger()["refunds"]) == 1


def test_a_key_longer_than_255_characters_is_refused(billing: Billing) -> None:
    response = billing.refund(300, key="k" * 256)
    assert response.status_code == 400 and error(response)["code"] == "parameter_invalid"
    assert billing.refund(300, key="k" * 255).status_code == 201


def test_keys_expire_after_a_day_and_memory_is_bounded() -> None:
    clock = ManualClock(1_000_000.0)
    store = IdempotencyStore(clock, max_keys=3)
    assert store.begin("a", "f").kind == "new"
    store.finish("a", 201, {"ok": 1})
    clock.advance(23 * 3600)
    assert store.begin("a", "f").kind == "replay"
    clock.advance(3600)
    assert store.begin("a", "other").kind == "new"  # expired: the key is free again
    store.finish("a", 201, {})
    assert store.begin("flight", "f").kind == "new"  # in flight, never dropped
    for key in ("b", "c", "d"):
        assert store.begin(key, "f").kind == "new"
        store.finish(key, 201, {})
    assert len(store) == 3
    assert store.begin("flight", "f").kind == "in_use"
    assert store.begin("a", "f").kind == "new"  # the oldest answered key went first


# Faults


def test_timeout_fault_performs_once_and_the_retry_replays(billing: Billing) -> None:
    billing.faults(timeout_rate=1, timeout_ms=1500)
    with pytest.raises(requests.Timeout):
        billing.post("/refunds", {"purchase_id": "pur_ppv", "amount": 300, "reason": "x"}, key="lost",
                     timeout=0.5)
    assert billing.purchase()["amount_refunded"] == 300  # performed although the client never heard
    billing.faults()
    retry = billing.post("/refunds", {"purchase_id": "pur_ppv", "amount": 300, "reason": "x"}, key="lost")
    assert retry.status_code == 201 and retry.headers["Idempotent-Replayed"] == "true"
    [made] = billing.ledger()["refunds"]
    assert retry.json()["refund"]["id"] == made["id"]
    assert billing.purchase()["amount_refunded"] == 300
    assert billing.stats()["injected"]["timeout"] == 1


def test_error_fault_answers_503_before_performing(billing: Billing) -> None:
    billing.faults(error_rate=1)
    response = billing.refund(300, key="k")
    assert response.status_code == 503 and error(response)["type"] == "api_error"
    billing.faults()
    assert billing.ledger()["refunds"] == [] and billing.purchase()["amount_refunded"] == 0
    retry = billing.refund(300, key="k")  # nothing was kept under the key
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers


def test_conflict_fault_answers_409_in_use_before_performing(billing: Billing) -> None:
    billing.faults(conflict_rate=1)
    response = billing.post("/promo_codes", {"campaign": "LOYAL-20"}, key="k")
    assert response.status_code == 409 and error(response)["code"] == "idempotency_key_in_use"
    billing.faults()
    assert billing.ledger()["promo_codes"] == []
    assert billing.post("/promo_codes", {"campaign": "LOYAL-20"}, key="k").status_code == 201


def test_a_seed_makes_fault_rates_repeatable(billing: Billing) -> None:
    def statuses() -> list[int]:
        billing.faults(error_rate=0.5, seed=11)
        return [billing.post("/promo_codes", {"campaign": "LOYAL-20"}).status_code for _ in range(12)]

    first = statuses()
    assert set(first) == {201, 503}
    assert statuses() == first


def test_latency_and_error_status_apply_to_reads(billing: Billing) -> None:
    billing.faults(latency_ms=300)
    started = time.monotonic()
    assert billing.get().status_code == 200
    assert time.monotonic() - started >= 0.3
    billing.faults(error_status=502)
    assert billing.get().status_code == 502 and billing.refund(1).status_code == 502
    billing.faults()
    assert billing.get().status_code == 200


@pytest.mark.parametrize("settings", [{"error_rate": 2}, {"timeout_rate": "half"}, {"latency_ms": -1},
                                      {"error_status": 200}, {"storm_seconds": 3}, {"seed": 1.5}])
def test_bad_fault_settings_are_refused(billing: Billing, settings: dict[str, Any]) -> None:
    response = requests.post(f"{billing.url}/__billing/faults", json=settings, timeout=10)
    assert response.status_code == 400 and error(response)["param"] == next(iter(settings))


def test_empty_fault_settings_clear_them(billing: Billing) -> None:
    billing.faults(error_rate=1, latency_ms=5)
    assert billing.faults() == requests.get(f"{billing.url}/__billing/faults", timeout=10).json()
    assert billing.faults()["error_rate"] == 0 and billing.refund(1).status_code == 201


# Ledger and stats


def test_the_ledger_records_every_write_with_its_key_and_metadata(billing: Billing) -> None:
    billing.refund(100, key="r1", metadata={"ticket": "42", "agent": "7"})
    billing.refund(100, key="r1", metadata={"ticket": "42", "agent": "7"})  # a replay adds nothing
    billing.refund(50)
    billing.post("/subscription/cancel", {"at": "now"}, key="c1")
    billing.post("/promo_codes", {"campaign": "WELCOME-BACK"}, key="p1")
    ledger = billing.ledger()
    assert [(r["purchase_id"], r["amount"], r["idempotency_key"]) for r in ledger["refunds"]] == \
        [("pur_ppv", 100, "r1"), ("pur_ppv", 50, None)]
    assert ledger["refunds"][0]["metadata"] == {"ticket": "42", "agent": "7"}
    assert ledger["refunds"][0]["email"] == EMAIL and ledger["refunds"][0]["customer_id"] == "cus_0123456789ab"
    assert [(c["subscription_id"], c["at"], c["idempotency_key"]) for c in ledger["cancellations"]] == \
        [("sub_ada", "now", "c1")]
    assert [(p["campaign"], p["idempotency_key"]) for p in ledger["promo_codes"]] == [("WELCOME-BACK", "p1")]


def test_stats_count_calls_per_endpoint(billing: Billing) -> None:
    billing.get()
    billing.get()
    billing.refund(1)
    billing.post("/subscription/cancel", {"at": "now"})
    billing.post("/promo_codes", {"campaign": "LOYAL-20"})
    requests.get(f"{billing.url}/campaigns", headers=SECRET, timeout=10)
    billing.ledger()
    stats = billing.stats()
    assert stats["calls"] == {"customers": 2, "refunds": 1, "subscription_cancel": 1, "promo_codes": 1,
                              "campaigns": 1}
    assert billing.state.calls["customers"] == 2


def test_unknown_routes_answer_in_the_same_shape(billing: Billing) -> None:
    response = requests.get(f"{billing.url}/nowhere", headers=SECRET, timeout=10)
    assert response.status_code == 404 and error(response)["type"] == "invalid_request_error"
    response = requests.put(billing.customer_url() + "/refunds", headers=SECRET, timeout=10)
    assert response.status_code == 405 and error(response)


# Wiring


def test_serve_has_a_billing_port_and_zero_disables_it() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--billing-port" in result.output and "5103" in result.output
    helpdesk = HelpdeskState()
    try:
        assert billing_emulator(helpdesk, 0) is None
        helpdesk.create_user({"name": "Ada", "email": EMAIL, "role": "end-user"})
        server = billing_emulator(helpdesk, _free_port())
        assert server is not None
        with server:
            response = requests.get(f"{server.url}/customers/{EMAIL}", headers=SECRET, timeout=10)
            assert response.status_code == 200 and response.json()["customer"]["email"] == EMAIL
    finally:
        helpdesk.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_seed_customers_dates_follow_the_state_clock() -> None:
    state = BillingState(clock=ManualClock(1_767_225_600.0))  # 2026-01-01
    seed_customers(state, [EMAIL])
    assert all(p["date"] < "2026-01-01" for p in state.customers[EMAIL]["purchases"])
