"""The write endpoints' rules: strict parameter checks, then the change, atomic under the state's lock."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .errors import BillingError, invalid, missing
from .state import BillingState

MAX_REASON = 200
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
                          "VUV", "XAF", "XOF", "XPF"})


@dataclass(frozen=True)
class RefundRequest:
    purchase_id: str
    amount: int
    reason: str
    metadata: dict[str, str]


def parse_refund(body: Any) -> RefundRequest:
    """`{"purchase_id", "amount" (int > 0), "reason" (text), "metadata"?}`."""
    fields = _object(body, required=("purchase_id", "amount", "reason"), optional=("metadata",))
    amount = fields["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise invalid("amount", "amount must be a positive integer in minor units (999 for 9.99).")
    reason = fields["reason"]
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise invalid("reason", f"reason must be text of 1 to {MAX_REASON} characters.")
    return RefundRequest(_text(fields, "purchase_id"), amount, reason, _metadata(fields))


def parse_cancel(body: Any) -> str:
    """`{"at": "now" | "period_end"}`."""
    fields = _object(body, required=("at",))
    if fields["at"] not in ("now", "period_end"):
        raise invalid("at", 'at must be "now" or "period_end".')
    return str(fields["at"])


def parse_promo_code(body: Any) -> tuple[str, dict[str, str]]:
    """`{"campaign": "<id>", "metadata"?}`."""
    fields = _object(body, required=("campaign",), optional=("metadata",))
    return _text(fields, "campaign"), _metadata(fields)


def refund(state: BillingState, email: str, request: RefundRequest, key: str | None) -> dict[str, Any]:
    """Refund part or all of one of the customer's purchases; the refund object."""
    with state.lock:
        customer = _customer(state, email)
        purchase = next((p for p in customer["purchases"] if p.get("id") == request.purchase_id), None)
        if purchase is None:
            raise missing("purchase_id", f"The customer has no purchase {request.purchase_id}.")
        left = int(purchase["amount"]) - int(purchase.get("amount_refunded") or 0)
        currency = purchase.get("currency") or customer["currency"]
        if left <= 0:
            raise BillingError(400, "charge_already_refunded",
                               f"Purchase {request.purchase_id} has already been refunded in full.",
                               param="purchase_id")
        if request.amount > left:
            raise BillingError(400, "amount_too_large",
                               f"Only {_money(left, currency)} ({left} in minor units) is left to refund on purchase"
                               f" {request.purchase_id}; the refund asked for {_money(request.amount, currency)}.",
                               param="amount")
        now = state.now()
        refunded = int(purchase.get("amount_refunded") or 0) + request.amount
        purchase["amount_refunded"] = refunded
        purchase["status"] = "refunded" if refunded >= int(purchase["amount"]) else "partially_refunded"
        made = {"id": f"re_{secrets.token_hex(8)}", "purchase_id": purchase["id"], "title": purchase.get("title"),
                "amount": request.amount, "currency": currency, "date": now.date().isoformat(),
                "status": "succeeded", "reason": request.reason, "created": _iso(now),
                "metadata": dict(request.metadata)}
        customer["refunds"].insert(0, made)
        state.ledger["refunds"].append({**made, "email": customer["email"], "customer_id": customer["id"],
                                        "metadata": dict(request.metadata), "idempotency_key": key})
        return dict(made, metadata=dict(made["metadata"]))


def cancel_subscription(state: BillingState, email: str, at: str, key: str | None) -> dict[str, Any]:
    """Cancel now, or stop renewal at the end of the period; the subscription afterwards."""
    with state.lock:
        customer = _customer(state, email)
        subscription = customer.get("subscription")
        if not isinstance(subscription, dict):
            raise missing(None, "The customer has no subscription.")
        if subscription.get("status") == "cancelled":
            raise BillingError(400, "subscription_already_cancelled", "The subscription is already cancelled.")
        if at == "period_end" and subscription.get("cancel_at_period_end"):
            raise BillingError(400, "subscription_already_cancelled",
                               "The subscription already ends with its period, on "
                               f"{subscription.get('current_period_end')}.", param="at")
        now = state.now()
        subscription["cancelled_at"] = _iso(now)
        subscription["renews_at"] = None
        if at == "now":
            subscription["status"] = "cancelled"
            subscription["cancel_at_period_end"] = False
        else:
            subscription["cancel_at_period_end"] = True
        state.ledger["cancellations"].append({
            "subscription_id": subscription.get("id"), "email": customer["email"], "customer_id": customer["id"],
            "at": at, "created": _iso(now), "idempotency_key": key})
        return dict(subscription)


def issue_promo_code(state: BillingState, email: str, campaign_id: str, metadata: dict[str, str],
                     key: str | None) -> dict[str, Any]:
    """A new code from a campaign for the customer; the code object."""
    with state.lock:
        campaign = state.campaigns.get(campaign_id)
        if campaign is None:
            raise missing("campaign", f"There is no campaign {campaign_id}.")
        customer = _customer(state, email)
        now = state.now()
        suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        days = campaign.get("valid_days")
        code = {"code": f"{campaign_id}-{suffix}", "campaign": campaign_id, "discount": campaign["discount"],
                "status": "active",
                "expires_at": (now.date() + timedelta(days=int(days))).isoformat() if days else None,
                "created": _iso(now), "metadata": dict(metadata)}
        customer["promo_codes"].insert(0, code)
        state.ledger["promo_codes"].append({**code, "email": customer["email"], "customer_id": customer["id"],
                                            "metadata": dict(metadata), "idempotency_key": key})
        return dict(code, metadata=dict(metadata))


def unknown_customer(email: str) -> BillingError:
    return missing(None, f"There is no customer with the e-mail {email}.")


def _customer(state: BillingState, email: str) -> dict[str, Any]:
    customer = state.customers.get(email.lower())
    if customer is None:
        raise unknown_customer(email)
    return customer


def _object(body: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid(None, "The body must be a JSON object.")
    for name in body:
        if name not in required and name not in optional:
            raise invalid(name, f"Received unknown parameter: {name}.")
    for name in required:
        if name not in body or body[name] is None:
            raise invalid(name, f"Missing required parameter: {name}.")
    return body


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        raise invalid(name, f"{name} must be a non-empty string of at most 255 characters.")
    return value


def _metadata(fields: dict[str, Any]) -> dict[str, str]:
    value = fields.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_METADATA_KEYS or not all(
            isinstance(k, str) and 0 < len(k) <= MAX_METADATA_KEY and isinstance(v, str)
            and len(v) <= MAX_METADATA_VALUE for k, v in value.items()):
        raise invalid("metadata", f"metadata must be an object of at most {MAX_METADATA_KEYS} string keys"
                                  f" (up to {MAX_METADATA_KEY} characters) with string values (up to"
                                  f" {MAX_METADATA_VALUE}).")
    return dict(value)


def _money(minor: int, currency: str) -> str:
    if currency.upper() in ZERO_DECIMAL:
        return f"{minor} {currency}"
    return f"{minor // 100}.{minor % 100:02d} {currency}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
