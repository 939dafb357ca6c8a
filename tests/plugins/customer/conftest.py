"""Fixtures for the customer panel: the plugin alone, a sidebar session, the billing emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugins.customer.billing import cache
from sandbox.billing import BillingState, create_app, sample_customer
from sandbox.server import ServerThread
from tests.sidebar.conftest import app_key, installation, sidebar_session, signed_token  # noqa: F401

BILLING_SECRET = "billing-secret-for-tests"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["plugins"] = ["customer"]
    return app_config


@pytest.fixture(autouse=True)
def _empty_billing_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


class Billing:
    """The running billing emulator."""

    def __init__(self, state: BillingState, url: str) -> None:
        self.state = state
        self.url = url

    def calls(self) -> int:
        return self.state.calls["customers"]


@pytest.fixture
def billing() -> Iterator[Billing]:
    state = BillingState(secret=BILLING_SECRET)
    state.add(sample_customer("ada@viewers.example"))
    state.add({"email": "partner@studio-aurora.example", "plan": {"name": "Partner Pro"},
               "subscription": {"id": "sub_partner", "status": "active", "renews_at": "2026-12-01"},
               "purchases": [{"id": "pur_final", "kind": "ppv", "title": "Champions League final", "amount": 999,
                              "currency": "EUR", "date": "2026-11-20", "amount_refunded": 999,
                              "status": "refunded"}],
               "refunds": [{"id": "re_final", "purchase_id": "pur_final", "title": "Champions League final",
                            "amount": 999, "currency": "EUR", "date": "2026-11-21", "status": "completed",
                            "reason": "stream interrupted"}],
               "promo_codes": [{"code": "PPVFREE", "discount": "1 event", "status": "active"}]})
    server = ServerThread(create_app(state)).start()
    yield Billing(state, server.url)
    server.stop()


@pytest.fixture
def billing_settings(app_config: dict[str, Any], billing: Billing) -> dict[str, Any]:
    settings = {"source": "billing", "billing_url_template": billing.url + "/customers/{email}",
                "billing_secret": f"Bearer {BILLING_SECRET}", "billing_timeout_seconds": 0.5}
    app_config["plugin_settings"] = {"customer": settings}
    return settings
