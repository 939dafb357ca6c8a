"""Deterministic sample customers: the same e-mail always gets the same ids, plan, purchases and codes."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .state import BillingState

# Prices and amounts in minor units (cents).
PLANS = (("Basic", 799), ("Standard", 1299), ("Premium", 1799), ("Partner Pro", 24900))
STATUSES = ("active", "active", "active", "trialing", "past_due", "cancelled")
EVENTS = ("Champions League final", "Tour de France stage 12", "Jazz at the Opera House", "Derby di Milano",
          "World Boxing Night", "Berlin Marathon live", "Festival de Cannes opening", "NBA Paris Game")
PPV_PRICES = (499, 999, 1499)
REASONS = ("stream interrupted", "double charge", "event postponed")
CODES = (("WELCOME10", "10%"), ("SPRING25", "25%"), ("PPVFREE", "1 event"), ("LOYAL3", "3 months -20%"))
DUPLICATE_SHARE = 0.25
PARTNER_DOMAINS = frozenset({"studio-aurora.example", "kinonord.example", "cinesol.example",
                             "lumiere-live.example"})


def sample_customer(email: str, today: date | None = None) -> dict[str, Any]:
    """A deterministic customer for an e-mail; dates count back from `today`."""
    email = email.lower()
    rng = random.Random(hashlib.sha256(email.encode()).hexdigest())
    today = today or datetime.now(UTC).date()

    def new_id(prefix: str, digits: int = 16) -> str:
        return f"{prefix}_{rng.getrandbits(4 * digits):0{digits}x}"

    def day(back_from: int, back_to: int) -> date:
        return today - timedelta(days=rng.randint(back_from, back_to))

    customer_id = new_id("cus", 12)
    plan, price = PLANS[3] if email.split("@")[-1] in PARTNER_DOMAINS else rng.choice(PLANS[:3])
    status = "active" if plan == "Partner Pro" else rng.choice(STATUSES)
    ppv = [_purchase(new_id("pur"), "ppv", rng.choice(EVENTS), rng.choice(PPV_PRICES), day(1, 40))
           for _ in range(rng.randint(0, 3))]
    if rng.random() < DUPLICATE_SHARE:
        # A double charge: the same event, amount and day billed twice; the second names the first.
        if not ppv:
            ppv.append(_purchase(new_id("pur"), "ppv", rng.choice(EVENTS), rng.choice(PPV_PRICES), day(1, 40)))
        first = ppv[0]
        # Put before the first: the stable newest-first sort keeps the later charge ahead of it.
        ppv.insert(0, {**first, "id": new_id("pur"), "duplicate_of": first["id"]})
    paid = day(1, 28)
    purchases = [*ppv, _purchase(new_id("pur"), "subscription", f"{plan} monthly", price, paid)]
    purchases.sort(key=lambda item: item["date"], reverse=True)
    duplicated = {purchase["duplicate_of"] for purchase in purchases}
    refunds = []
    for purchase in purchases:
        # Leave double charges unrefunded: reversing one is what the sandbox is there to show.
        if purchase["kind"] != "ppv" or purchase["id"] in duplicated or purchase["duplicate_of"]:
            continue
        if rng.random() >= 0.3:
            continue
        amount = purchase["amount"] if rng.random() < 0.7 else purchase["amount"] // 2
        purchase["amount_refunded"] = amount
        purchase["status"] = "refunded" if amount == purchase["amount"] else "partially_refunded"
        refunded_on = min(today, date.fromisoformat(purchase["date"]) + timedelta(days=1))
        refunds.append({"id": new_id("re"), "purchase_id": purchase["id"], "title": purchase["title"],
                        "amount": amount, "currency": "EUR", "date": refunded_on.isoformat(),
                        "status": rng.choice(("succeeded", "succeeded", "pending")),
                        "reason": rng.choice(REASONS), "created": f"{refunded_on.isoformat()}T10:00:00Z",
                        "metadata": {}})
    refunds.sort(key=lambda item: item["date"], reverse=True)
    codes = [{"code": code, "campaign": None, "discount": discount,
              "status": (used := rng.choice(("active", "redeemed"))),
              "expires_at": (today + timedelta(days=rng.randint(5, 60))).isoformat() if used == "active" else None}
             for code, discount in rng.sample(CODES, rng.randint(0, 2))]
    return {
        "id": customer_id, "email": email, "currency": "EUR",
        "plan": {"name": plan, "price": price, "currency": "EUR", "interval": "month"},
        "subscription": _subscription(new_id("sub"), status, today, rng),
        "purchases": purchases, "refunds": refunds, "promo_codes": codes,
    }


def _purchase(purchase_id: str, kind: str, title: str, amount: int, when: date) -> dict[str, Any]:
    return {"id": purchase_id, "kind": kind, "title": title, "amount": amount, "currency": "EUR",
            "date": when.isoformat(), "amount_refunded": 0, "status": "paid", "duplicate_of": None}


def _subscription(subscription_id: str, status: str, today: date, rng: random.Random) -> dict[str, Any]:
    renews: date | None = None
    cancelled_at = None
    if status in ("active", "trialing"):
        renews = period_end = today + timedelta(days=rng.randint(1, 30))
    elif status == "past_due":
        period_end = today - timedelta(days=rng.randint(1, 5))
    else:
        period_end = today - timedelta(days=rng.randint(1, 20))
        cancelled_at = f"{(period_end - timedelta(days=rng.randint(0, 25))).isoformat()}T09:30:00Z"
    return {"id": subscription_id, "status": status, "renews_at": renews.isoformat() if renews else None,
            "current_period_end": period_end.isoformat(), "cancel_at_period_end": False,
            "cancelled_at": cancelled_at}


def seed_customers(state: BillingState, emails: list[str]) -> int:
    """Give every e-mail a sample customer as of the state's clock; returns how many."""
    today = state.today()
    for email in emails:
        state.add(sample_customer(email, today))
    return len(emails)


def seed_from_helpdesk(state: BillingState, helpdesk: Any) -> int:
    """Sample customers for every end user of a helpdesk emulator state (agents are not customers)."""
    with helpdesk.lock:
        emails = [user["email"] for user in helpdesk.users.values()
                  if user.get("role") == "end-user" and user.get("email")]
    return seed_customers(state, emails)
