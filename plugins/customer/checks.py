"""What a requested action means against the customer's billing record, or why it cannot be done.

``check(request, customer, settings)`` is run twice: in the sidebar's request, on the customer as the panel
showed it, so the agent hears at once what is wrong; and in the worker, on the customer as the billing system
says just before the write, so nothing the page sends (a purchase id, an amount) is ever trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plugins.customer.settings import ACTION_KINDS, CustomerSettings
from plugins.customer.texts import money

MAX_AMOUNT = 10**12  # minor units: far above any real payment, far below what a BIGINT holds


class Invalid(Exception):
    """The request cannot be done as asked; ``field`` names what to change (None: the action itself)."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Planned:
    """An action as it will be done: what the billing system will be asked, in plain values."""

    kind: str
    purchase_id: str | None = None
    purchase_title: str | None = None
    amount: int | None = None
    currency: str | None = None
    reason: str | None = None
    option: str | None = None
    discount: str | None = None


def _text(body: dict[str, Any], name: str, limit: int = 200) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise Invalid(f"{name} must be a text of at most {limit} characters", name)
    return value.strip()


def _purchase(customer: dict[str, Any], purchase_id: str | None) -> dict[str, Any]:
    if not purchase_id:
        raise Invalid("choose the purchase", "purchase_id")
    for purchase in customer.get("purchases") or []:
        if isinstance(purchase, dict) and purchase.get("id") == purchase_id:
            return purchase
    raise Invalid("this purchase is not one of this customer's", "purchase_id")


def left_to_refund(purchase: dict[str, Any]) -> int:
    """Minor units still refundable (the panel's items carry ``amount_minor``, the billing API ``amount``)."""
    amount = purchase.get("amount_minor", purchase.get("amount"))
    refunded = purchase.get("amount_refunded") or 0
    if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(refunded, int):
        return 0
    return max(0, amount - refunded)


def _amount(body: dict[str, Any], left: int, currency: str, locale: str | None) -> int:
    value = body.get("amount")
    if value is None or value == "":
        return left  # the whole of what is left
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("amount must be a whole number of minor units (cents)", "amount")
    if value <= 0:
        raise Invalid("the amount must be more than zero", "amount")
    if value > min(left, MAX_AMOUNT):
        raise Invalid(f"at most {money(left, currency, locale)} is left to refund on this purchase", "amount")
    return value


def check(body: dict[str, Any], customer: dict[str, Any] | None, settings: CustomerSettings,
          campaigns: list[dict[str, Any]] | None = None, locale: str | None = "en") -> Planned:
    """The action ``body`` asks for, checked against ``customer``; raises ``Invalid`` naming the field."""
    kind = body.get("kind")
    if kind not in ACTION_KINDS:
        raise Invalid(f"kind must be one of {', '.join(ACTION_KINDS)}", "kind")
    if kind not in settings.actions:
        raise Invalid("this action is switched off for this account", "kind", 403)
    if customer is None:
        raise Invalid("this requester is not a customer in the billing system", None, 409)
    if kind in ("refund", "reverse_duplicate"):
        purchase = _purchase(customer, _text(body, "purchase_id", 64))
        currency = str(purchase.get("currency") or "").upper()
        title = str(purchase.get("title") or "")[:255]
        left = left_to_refund(purchase)
        if left <= 0:
            raise Invalid("this purchase is already fully refunded", "purchase_id", 409)
        if kind == "reverse_duplicate":
            if not purchase.get("duplicate_of"):
                raise Invalid("this purchase is not marked as a duplicate charge", "purchase_id")
            return Planned(kind, purchase["id"], title, left, currency, "duplicate")
        reason = _text(body, "reason", 120)
        if reason is None:
            raise Invalid("choose a reason", "reason")
        if reason not in settings.refund_reasons:
            raise Invalid("choose one of the account's refund reasons", "reason")
        return Planned(kind, purchase["id"], title, _amount(body, left, currency, locale), currency, reason)
    if kind == "cancel_subscription":
        subscription = customer.get("subscription")
        if not isinstance(subscription, dict) or subscription.get("status") in (None, "cancelled", "canceled"):
            raise Invalid("this customer has no subscription to cancel", None, 409)
        when = body.get("when") or "period_end"
        if when not in ("now", "period_end"):
            raise Invalid("when must be 'now' or 'period_end'", "when")
        if when == "period_end" and subscription.get("cancel_at_period_end"):
            raise Invalid("this subscription already ends at the end of its period", "when", 409)
        return Planned(kind, option=when, reason=_text(body, "reason", 120))
    campaign = _text(body, "campaign", 64)
    if not campaign:
        raise Invalid("choose a campaign", "campaign")
    offered = [item for item in campaigns or []
               if not settings.campaigns or item.get("id") in settings.campaigns]
    chosen = next((item for item in offered if item.get("id") == campaign), None)
    if chosen is None:
        raise Invalid("this campaign is not offered to agents", "campaign")
    return Planned(kind, option=campaign, discount=str(chosen.get("discount") or "")[:120],
                   purchase_title=str(chosen.get("name") or campaign)[:255])
