"""The billing emulator's state and Flask app."""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify, request

DEFAULT_SECRET = "billing-sandbox-secret"
PLANS = (("Basic", 7.99), ("Standard", 12.99), ("Premium", 17.99), ("Partner Pro", 249.0))
STATUSES = ("active", "active", "active", "trialing", "past_due", "cancelled")
EVENTS = ("Champions League final", "Tour de France stage 12", "Jazz at the Opera House", "Derby di Milano",
          "World Boxing Night", "Berlin Marathon live", "Festival de Cannes opening", "NBA Paris Game")
CODES = (("WELCOME10", "10%"), ("SPRING25", "25%"), ("PPVFREE", "1 event"), ("LOYAL3", "3 months -20%"))


class BillingState:
    """Customers by e-mail, the secret header, faults and call counts; thread-safe."""

    def __init__(self, *, secret: str = DEFAULT_SECRET, header: str = "Authorization",
                 customers: dict[str, dict[str, Any]] | None = None) -> None:
        self.lock = threading.Lock()
        self.secret = secret
        self.header = header
        self.customers: dict[str, dict[str, Any]] = {k.lower(): v for k, v in (customers or {}).items()}
        self.latency_ms = 0
        self.error_status: int | None = None
        self.calls: Counter[str] = Counter()

    def add(self, customer: dict[str, Any]) -> None:
        with self.lock:
            self.customers[str(customer["email"]).lower()] = customer

    def authorised(self, value: str | None) -> bool:
        expected = self.secret if self.header.lower() != "authorization" else f"Bearer {self.secret}"
        return value is not None and hmac.compare_digest(value, expected)


def sample_customer(email: str, today: date | None = None) -> dict[str, Any]:
    """A deterministic customer for an e-mail: same e-mail, same plan, purchases and codes."""
    rng = random.Random(hashlib.sha256(email.lower().encode()).hexdigest())
    today = today or datetime.now(UTC).date()
    plan, price = PLANS[3] if email.split("@")[-1] in _PARTNER_DOMAINS else rng.choice(PLANS[:3])
    status = "active" if plan == "Partner Pro" else rng.choice(STATUSES)
    purchases = [{"kind": "ppv", "title": rng.choice(EVENTS), "amount": rng.choice((4.99, 9.99, 14.99)),
                  "currency": "EUR", "date": (today - timedelta(days=rng.randint(1, 40))).isoformat()}
                 for _ in range(rng.randint(0, 3))]
    purchases.append({"kind": "subscription", "title": f"{plan} monthly", "amount": price, "currency": "EUR",
                      "date": (today - timedelta(days=rng.randint(1, 28))).isoformat()})
    purchases.sort(key=lambda item: item["date"], reverse=True)
    refunds = [{"title": purchase["title"], "amount": purchase["amount"], "currency": "EUR",
                "date": purchase["date"], "status": rng.choice(("completed", "pending")),
                "reason": rng.choice(("stream interrupted", "double charge", "event postponed"))}
               for purchase in purchases if purchase["kind"] == "ppv" and rng.random() < 0.3]
    codes = [{"code": code, "discount": discount, "status": rng.choice(("active", "redeemed"))}
             for code, discount in rng.sample(CODES, rng.randint(0, 2))]
    renews = today + timedelta(days=rng.randint(1, 30)) if status in ("active", "trialing") else None
    return {
        "email": email.lower(),
        "plan": {"name": plan, "price": price, "currency": "EUR", "interval": "month"},
        "subscription": {"status": status, "renews_at": renews.isoformat() if renews else None},
        "purchases": purchases, "refunds": refunds, "promo_codes": codes,
    }


_PARTNER_DOMAINS = frozenset({"studio-aurora.example", "kinonord.example", "cinesol.example",
                              "lumiere-live.example"})


def seed_customers(state: BillingState, emails: list[str]) -> int:
    """Give every e-mail a sample customer; returns how many."""
    for email in emails:
        state.add(sample_customer(email))
    return len(emails)


def seed_from_helpdesk(state: BillingState, helpdesk: Any) -> int:
    """Sample customers for every end user of a helpdesk emulator state (agents are not customers)."""
    with helpdesk.lock:
        emails = [user["email"] for user in helpdesk.users.values()
                  if user.get("role") == "end-user" and user.get("email")]
    return seed_customers(state, emails)


def create_app(state: BillingState | None = None) -> Flask:
    """The billing emulator; its state is `app.extensions["billing"]`."""
    state = state or BillingState()
    app = Flask(__name__)
    app.extensions["billing"] = state

    @app.get("/customers/<path:email>")
    def customer(email: str) -> Any:
        """One customer by e-mail; needs the secret header."""
        state.calls["customers"] += 1
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        if state.error_status:
            return jsonify({"error": "unavailable"}), state.error_status
        if not state.authorised(request.headers.get(state.header)):
            return jsonify({"error": "unauthorized", "message": f"send the {state.header} header"}), 401
        with state.lock:
            found = state.customers.get(email.lower())
        if found is None:
            return jsonify({"error": "not_found", "message": f"no customer {email}"}), 404
        return jsonify({"customer": found})

    @app.post("/__billing/customers")
    def add_customer() -> Any:
        """Add or replace a customer (`{"email": ..., ...}`); unmetered."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("email"):
            return jsonify({"error": "a customer object with an email is required"}), 400
        state.add(body)
        return jsonify({"customer": body}), 201

    @app.post("/__billing/faults")
    def faults() -> Any:
        """`{"latency_ms": 1500, "error_status": 503}`; `{}` clears."""
        body = request.get_json(silent=True) or {}
        state.latency_ms = int(body.get("latency_ms") or 0)
        state.error_status = int(body["error_status"]) if body.get("error_status") else None
        return jsonify({"latency_ms": state.latency_ms, "error_status": state.error_status})

    @app.get("/__billing/stats")
    def stats() -> Response:
        """Calls served so far."""
        return jsonify(dict(state.calls))

    return app
