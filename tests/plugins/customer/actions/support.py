"""Shared set-up for the billing actions: a helpdesk with agents in groups, a billing system, the Slack
emulator, a ticket the sidebar opened, and sidebar sessions per agent."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from app.db import storage
from plugins.customer.billing import cache
from plugins.customer.models import CustomerAction
from sandbox.billing import BillingState, create_app
from sandbox.server import ServerThread
from tests.sidebar.conftest import bearer, index_ticket, session_from

BILLING_SECRET = "billing-secret-for-tests"
APPROVALS = "C08APPROVALS"  # the Slack sandbox's #billing-approvals
LEAD_SLACK = "U0100LEAD"
CUSTOMER = "ada@viewers.example"
OTHER_CUSTOMER = "bob@viewers.example"
TICKET = 4242


def customer_record(email: str = CUSTOMER, *, prefix: str = "ada") -> dict[str, Any]:
    """A customer in the billing API's shape: two pay-per-view charges (the second a duplicate), a sub."""
    return {
        "id": f"cus_{prefix}", "email": email, "currency": "EUR",
        "plan": {"name": "Premium", "price": 1799, "currency": "EUR", "interval": "month"},
        "subscription": {"id": f"sub_{prefix}", "status": "active", "renews_at": "2026-12-20",
                         "current_period_end": "2026-12-20", "cancel_at_period_end": False, "cancelled_at": None},
        "purchases": [
            {"id": f"pur_{prefix}_dup", "kind": "ppv", "title": "Champions League final", "amount": 1499,
             "currency": "EUR", "date": "2026-12-06", "amount_refunded": 0, "status": "paid",
             "duplicate_of": f"pur_{prefix}_ppv"},
            {"id": f"pur_{prefix}_ppv", "kind": "ppv", "title": "Champions League final", "amount": 1499,
             "currency": "EUR", "date": "2026-12-06", "amount_refunded": 0, "status": "paid",
             "duplicate_of": None},
            {"id": f"pur_{prefix}_big", "kind": "ppv", "title": "World Boxing Night", "amount": 4999,
             "currency": "EUR", "date": "2026-12-01", "amount_refunded": 0, "status": "paid",
             "duplicate_of": None},
        ],
        "refunds": [], "promo_codes": [],
    }


@dataclass
class Billing:
    state: BillingState
    url: str

    def ledger(self) -> dict[str, Any]:
        return requests.get(self.url + "/__billing/ledger", timeout=5).json()  # type: ignore[no-any-return]

    def refunds(self) -> list[dict[str, Any]]:
        return list(self.ledger()["refunds"])

    def faults(self, **settings: Any) -> None:
        requests.post(self.url + "/__billing/faults", json=settings, timeout=5).raise_for_status()


@pytest.fixture
def billing() -> Iterator[Billing]:
    state = BillingState(secret=BILLING_SECRET)
    state.add(customer_record())
    state.add(customer_record(OTHER_CUSTOMER, prefix="bob"))
    server = ServerThread(create_app(state)).start()
    cache.clear()
    yield Billing(state, server.url)
    cache.clear()
    server.stop()


def action_settings(billing: Billing, **overrides: Any) -> dict[str, Any]:
    return {"source": "billing", "billing_url_template": billing.url + "/customers/{email}",
            "billing_secret": f"Bearer {BILLING_SECRET}", "billing_timeout_seconds": 2,
            "billing_write_timeout_seconds": 1, "answer_wait_seconds": 0, "approvals_channel": APPROVALS,
            "approvers": [LEAD_SLACK], **overrides}


@pytest.fixture
def app_config(app_config: dict[str, Any], billing: Billing) -> dict[str, Any]:
    app_config["plugins"] = ["customer"]
    app_config["plugin_settings"] = {"customer": action_settings(billing)}
    return app_config


@dataclass
class Agents:
    tier1: int
    tier2: int
    admin: int
    billing_group: int


@pytest.fixture
def agents(helpdesk: Any) -> Agents:
    """Helpdesk agents in the groups the default rules name (Tier 1 up to 20 EUR a ticket, Tier 2 100 EUR)."""
    ids = {}
    for name in ("Tier 1", "Tier 2", "Billing"):
        ids[name] = helpdesk.api("POST", "/groups.json", json={"group": {"name": name}})["group"]["id"]

    def agent(email: str, name: str, group: str, role: str = "agent") -> int:
        return int(helpdesk.api("POST", "/users.json", json={"user": {
            "name": name, "email": email, "role": role, "default_group_id": ids[group]}})["user"]["id"])

    return Agents(tier1=agent("marta@acme.example", "Marta Rossi", "Tier 1"),
                  tier2=agent("james@acme.example", "James Carter", "Tier 2"),
                  admin=agent("lead@acme.example", "Lena Lead", "Tier 2", role="admin"),
                  billing_group=agent("olivia@acme.example", "Olivia Brooks", "Billing"))


@pytest.fixture
def session_for(client: Any, installation: int, signed_token: Callable[..., str]) -> Callable[[int], str]:
    """A sidebar session for a helpdesk agent, from a signed load as the helpdesk makes it."""

    def make(agent_id: int, **claim_overrides: Any) -> str:
        response = client.post("/sidebar/", data={"token": signed_token(user_id=agent_id, **claim_overrides)})
        assert response.status_code == 200, response.get_data(as_text=True)
        return session_from(response)

    return make


@pytest.fixture
def opened(app: Any, account_id: int) -> Callable[..., int]:
    """Put a ticket of ``email`` in the sidebar's cache, as opening it in the sidebar does."""

    def open_ticket(ticket_id: int = TICKET, email: str = CUSTOMER, status: str = "open",
                    locale: str = "it") -> int:
        index_ticket(app, account_id, ticket_id, status=status,
                     requester={"id": 501, "name": "Ada Viewer", "email": email, "locale": locale})
        return ticket_id

    return open_ticket


def ask(client: Any, session: str, **body: Any) -> Any:
    """POST an action as the sidebar's form does (a fresh request_id unless given)."""
    body = {"ticket_id": TICKET, "request_id": uuid.uuid4().hex, **body}
    return client.post("/sidebar/api/customer/actions", json=body, headers=bearer(session))


def actions(app: Any) -> list[CustomerAction]:
    with storage.session(app) as session:
        return list(session.scalars(sa.select(CustomerAction).order_by(CustomerAction.id)))

