"""The default customer-data source: the requester's and organization's fields from the sidebar's sideload.

Helpdesk custom fields hold text, so values are read leniently: a JSON list, or one item per line as
``date | kind | title | amount currency`` (fields may be left out from the right), or plain text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from plugins.customer.settings import CustomerSettings

_AMOUNT = re.compile(r"^(?P<amount>-?\d+(?:[.,]\d{1,2})?)\s*(?P<currency>[A-Za-z]{3})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def from_helpdesk(requester: dict[str, Any] | None, organization: dict[str, Any] | None,
                  settings: CustomerSettings) -> dict[str, Any]:
    """The customer panel from sideloaded user and organization fields (no call to anything)."""
    if not requester:
        return {"source": "helpdesk", "state": "no_requester"}
    sources = [requester.get("user_fields") or {}, (organization or {}).get("organization_fields") or {}]

    def first(keys: list[str]) -> Any:
        for fields in sources:
            for key in keys:
                if fields.get(key) not in (None, "", []):
                    return fields[key]
        return None

    plan, status, renews = first(settings.plan_fields), first(settings.subscription_fields), \
        first(settings.renews_fields)
    panel = {
        "source": "helpdesk",
        "plan": str(plan) if plan is not None else None,
        "subscription": {"status": _status(status), "renews_at": str(renews) if renews else None}
        if status else None,
        "purchases": items(first(settings.purchases_fields), settings.max_items),
        "refunds": items(first(settings.refunds_fields), settings.max_items),
        "promo_codes": promo_codes(first(settings.promo_codes_fields), settings.max_items),
    }
    has_data = any(panel[key] for key in ("plan", "subscription", "purchases", "refunds", "promo_codes"))
    return {**panel, "state": "ok" if has_data else "empty"}


def _status(value: Any) -> str:
    return re.sub(r"[\s-]+", "_", str(value).strip().lower())


def items(value: Any, limit: int) -> list[dict[str, Any]]:
    """Purchases or refunds from a JSON list or ``date | kind | title | amount currency`` lines."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list):
        value = [value]
    parsed = [_item(entry) for entry in value]
    return [entry for entry in parsed if entry][:limit]


def _item(entry: Any) -> dict[str, Any] | None:
    if isinstance(entry, dict):
        keys = ("title", "kind", "amount", "currency", "date", "status", "reason")
        return {key: entry.get(key) for key in keys if entry.get(key) not in (None, "")}
    parts = [part.strip() for part in str(entry).split("|")]
    item: dict[str, Any] = {}
    if parts and _DATE.match(parts[0]):
        item["date"] = parts.pop(0)
    if parts and (amount := _AMOUNT.match(parts[-1])):
        item["amount"] = float(amount["amount"].replace(",", "."))
        if amount["currency"]:
            item["currency"] = amount["currency"].upper()
        parts.pop()
    if len(parts) >= 2:
        item["kind"] = parts.pop(0).lower()
    if parts:
        item["title"] = " | ".join(parts)
    return item or None


def promo_codes(value: Any, limit: int) -> list[dict[str, Any]]:
    """Promo codes from a JSON list or a comma- or space-separated text."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [code for code in re.split(r"[,\s]+", value) if code]
    if not isinstance(value, list):
        value = [value]
    codes = []
    for entry in value:
        if isinstance(entry, dict) and entry.get("code"):
            codes.append({key: entry[key] for key in ("code", "status", "discount", "campaign") if entry.get(key)})
        elif isinstance(entry, str | int) and str(entry).strip():
            codes.append({"code": str(entry).strip()})
    return codes[:limit]
