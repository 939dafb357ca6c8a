"""The customer panel as the sidebar's blocks (the shape is in docs/plugins.md, sidebar_panels).

``blocks(data)`` turns what a source found (``fields.from_helpdesk`` or ``billing.from_billing``, the shape
in README.md) into ``{"blocks", "empty"}``: plan and subscription as facts, then only the lists the customer
has (three empty lists would push the panels below out of sight).
"""

from __future__ import annotations

from typing import Any

from plugins.customer.money import from_float

SUBSCRIPTION_TONES = {"active": "green", "past_due": "red"}


def _label(prefix: str, value: str) -> dict[str, Any]:
    return {"t": f"customer.{prefix}.{value}", "default": value.replace("_", " ")}


def _money(item: dict[str, Any]) -> dict[str, Any] | None:
    """Amounts go to the page in minor units (``{"money": 999, "currency"}``)."""
    currency = str(item.get("currency") or "EUR").upper()
    if isinstance(item.get("amount_minor"), int):
        return {"money": item["amount_minor"], "currency": currency}
    amount = item.get("amount")
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        return None
    return {"money": from_float(float(amount), currency), "currency": currency}


def _purchase_marks(item: dict[str, Any]) -> list[Any]:
    """What the billing system says of a purchase beyond its price: a duplicate charge, what was refunded."""
    marks: list[Any] = []
    if item.get("duplicate_of"):
        marks.append({"badge": {"t": "customer.duplicate_charge"}, "tone": "red"})
    refunded = item.get("amount_refunded")
    if isinstance(refunded, int) and refunded > 0 and isinstance(item.get("amount_minor"), int):
        currency = str(item.get("currency") or "EUR").upper()
        key = "customer.refunded_all" if refunded >= item["amount_minor"] else "customer.refunded_part"
        marks.append({"badge": {"t": key, "args": {"amount": {"money": refunded, "currency": currency}}},
                      "tone": "green"})
    return marks


def blocks(data: dict[str, Any]) -> dict[str, Any]:
    """``{"blocks": [...], "empty": text}`` for a source's answer."""
    state = data.get("state")
    if state == "error":
        return {"blocks": [{"type": "alert", "tone": "warning", "title": {"t": "customer.unavailable"},
                            "text": _label("error", str(data.get("error") or "unavailable"))}]}
    if state != "ok":
        return {"blocks": [], "empty": _label("state", str(state))}
    subscription = data.get("subscription") or {}
    status = subscription.get("status")
    rows = [
        {"label": {"t": "customer.plan"}, "value": data["plan"], "tone": "blue"} if data.get("plan")
        else {"label": {"t": "customer.plan"}, "value": {"t": "customer.none"}},
        {"label": {"t": "customer.subscription"}, "value": _label("subscription_status", status),
         "tone": SUBSCRIPTION_TONES.get(status, "yellow"),
         "note": ({"t": "customer.renews", "args": {"date": {"day": subscription["renews_at"]}}}
                  if subscription.get("renews_at") else None)} if status
        else {"label": {"t": "customer.subscription"}, "value": {"t": "customer.none"}},
    ]
    shown: list[dict[str, Any]] = [{"type": "facts", "rows": rows}]
    if data.get("purchases"):
        shown.append({"type": "list", "name": "purchases", "title": {"t": "customer.purchases"}, "items": [
            {"title": item.get("title") or item.get("description") or "", "aside": _money(item),
             "note": [_label("kind", item["kind"]) if item.get("kind") else None,
                      {"day": item["date"]} if item.get("date") else None],
             "meta": _purchase_marks(item)}
            for item in data["purchases"]]})
    if data.get("refunds"):
        shown.append({"type": "list", "name": "refunds", "title": {"t": "customer.refunds"}, "items": [
            {"title": item.get("title") or item.get("reason") or {"t": "customer.refund"}, "aside": _money(item),
             "note": [{"day": item["date"]} if item.get("date") else None,
                      _label("refund_status", item["status"]) if item.get("status") else None]}
            for item in data["refunds"]]})
    if data.get("promo_codes"):
        shown.append({"type": "badges", "name": "promo-codes", "title": {"t": "customer.promo_codes"}, "items": [
            {"text": f"{code['code']} · {code['discount']}" if code.get("discount") else code["code"],
             "tone": None if code.get("status") == "redeemed" else "green"}
            for code in data["promo_codes"]]})
    if len(shown) == 1:
        shown.append({"type": "text", "text": {"t": "customer.no_activity"}, "empty": True})
    return {"blocks": shown}
