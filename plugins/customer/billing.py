"""The optional customer-data source: the team's billing or CRM system over HTTP, briefly cached.

``GET <billing_url_template with {email}>`` with the configured secret header, at most
``billing_timeout_seconds``; the answer is ``{"customer": {plan, subscription, purchases, refunds,
promo_codes}}`` (see README.md). Answers are kept per process for ``billing_cache_seconds`` (failures for
``billing_error_cache_seconds``): a busy sidebar asks the billing system once a minute per customer at most.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

import requests

from plugins.customer.fields import promo_codes
from plugins.customer.money import to_major
from plugins.customer.settings import CustomerSettings

MAX_CACHED = 5000
_session = threading.local()


class _Cache:
    """A small per-process TTL cache keyed by (account, e-mail), oldest entries dropped first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[tuple[int, str], tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, key: tuple[int, str]) -> dict[str, Any] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                return None
            return entry[1]

    def put(self, key: tuple[int, str], panel: dict[str, Any], seconds: float) -> None:
        if seconds <= 0:
            return
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, panel)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_CACHED:
                self.entries.popitem(last=False)

    def forget(self, account_id: int, email: str) -> None:
        """Drop one customer's answer (after an action changed them), so the panel shows the change."""
        with self.lock:
            self.entries.pop((account_id, email.lower()), None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


cache = _Cache()


def _http() -> requests.Session:
    # One keep-alive session per thread: a new TLS handshake per open would eat the second we allow.
    session = getattr(_session, "value", None)
    if session is None:
        session = _session.value = requests.Session()
    return session


def from_billing(account_id: int, email: str | None, settings: CustomerSettings) -> dict[str, Any]:
    """The customer panel from the billing system (cached); errors come back as ``state: error``."""
    if not email:
        return {"source": "billing", "state": "no_requester"}
    key = (account_id, email.lower())
    cached = cache.get(key)
    if cached is not None:
        return cached
    panel = _ask(email.lower(), settings)
    failed = panel["state"] == "error"
    cache.put(key, panel, settings.billing_error_cache_seconds if failed else settings.billing_cache_seconds)
    return panel


def _ask(email: str, settings: CustomerSettings) -> dict[str, Any]:
    assert settings.billing_url_template is not None
    url = settings.billing_url_template.replace("{email}", quote(email, safe="@"))
    headers = {"Accept": "application/json"}
    if settings.billing_secret is not None:
        headers[settings.billing_secret_header] = settings.billing_secret.get_secret_value()
    error = {"source": "billing", "state": "error"}
    try:
        response = _http().get(url, headers=headers, timeout=settings.billing_timeout_seconds)
    except requests.Timeout:
        return {**error, "error": "timeout"}
    except requests.RequestException:
        return {**error, "error": "unavailable"}
    if response.status_code == 404:
        return {"source": "billing", "state": "not_found"}
    if response.status_code in (401, 403):
        return {**error, "error": "refused"}
    if response.status_code != 200:
        return {**error, "error": "unavailable"}
    try:
        customer = response.json().get("customer")
        if not isinstance(customer, dict):
            raise ValueError("no customer object")
        return _panel(customer, settings)
    except (ValueError, AttributeError, TypeError):
        return {**error, "error": "bad_answer"}


def _panel(customer: dict[str, Any], settings: CustomerSettings) -> dict[str, Any]:
    plan = customer.get("plan")
    if isinstance(plan, dict):
        plan = plan.get("name")
    subscription = customer.get("subscription")
    if isinstance(subscription, dict) and subscription.get("status"):
        subscription = {"id": subscription.get("id"), "status": str(subscription["status"]).lower(),
                        "renews_at": subscription.get("renews_at"),
                        "current_period_end": subscription.get("current_period_end"),
                        "cancel_at_period_end": bool(subscription.get("cancel_at_period_end"))}
    else:
        subscription = None
    panel = {
        "source": "billing", "plan": str(plan) if plan else None, "subscription": subscription,
        "purchases": _billed(customer.get("purchases"), settings.max_items,
                             ("id", "amount_refunded", "status", "duplicate_of")),
        "refunds": _billed(customer.get("refunds"), settings.max_items, ("id", "purchase_id", "status", "reason")),
        "promo_codes": promo_codes(customer.get("promo_codes"), settings.max_items),
    }
    has_data = any(panel[key] for key in ("plan", "subscription", "purchases", "refunds", "promo_codes"))
    return {**panel, "state": "ok" if has_data else "empty"}


def _billed(value: Any, limit: int, extra: tuple[str, ...]) -> list[dict[str, Any]]:
    """Purchases or refunds as the billing system lists them: amounts are integer minor units there.

    Each item keeps ``amount`` in major units (the panel's data shape, shared with the helpdesk source) and
    ``amount_minor`` as sent, which is what actions compute with.
    """
    if not isinstance(value, list):
        return []
    found = []
    for entry in value[:limit]:
        if not isinstance(entry, dict):
            continue
        item = {key: entry.get(key) for key in ("title", "kind", "currency", "date", *extra)
                if entry.get(key) not in (None, "")}
        amount, currency = entry.get("amount"), str(entry.get("currency") or "EUR").upper()
        if isinstance(amount, int) and not isinstance(amount, bool):
            item["amount_minor"], item["currency"] = amount, currency
            item["amount"] = float(to_major(amount, currency))
        found.append(item)
    return found
