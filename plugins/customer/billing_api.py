"""The billing system's write side (and a fresh read), for actions: refunds, cancellations, promo codes.

The customer URL is ``billing_url_template`` with the e-mail; writes are ``POST <customer URL>/refunds``,
``/subscription/cancel`` and ``/promo_codes``, campaigns ``GET <origin>/campaigns``. Money is integer minor
units with a currency. Every write carries an ``Idempotency-Key`` that is the action's own (never a new one on
a retry), so a write whose answer was lost, retried by the work queue, is answered with the first result
instead of being done twice: the billing system's guarantee, as payment APIs such as Stripe's give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from plugins.customer.billing import _http
from plugins.customer.settings import CustomerSettings


class BillingUnavailable(Exception):
    """The billing system did not answer in time, or failed (5xx, 409 in progress, unreadable): try again."""


@dataclass
class BillingRefused(Exception):
    """The billing system refused the request for a reason retrying cannot change (4xx), in its own words."""

    status: int
    code: str
    message: str
    param: str | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def customer_url(email: str, settings: CustomerSettings) -> str:
    assert settings.billing_url_template is not None
    return settings.billing_url_template.replace("{email}", quote(email.lower(), safe="@"))


def campaigns_url(settings: CustomerSettings) -> str:
    assert settings.billing_url_template is not None
    parts = urlsplit(settings.billing_url_template.replace("{email}", "x"))
    return urlunsplit((parts.scheme, parts.netloc, "/campaigns", "", ""))


def _headers(settings: CustomerSettings, key: str | None = None) -> dict[str, str]:
    headers = {"Accept": "application/json"}
    if settings.billing_secret is not None:
        headers[settings.billing_secret_header] = settings.billing_secret.get_secret_value()
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _answer(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 409 or response.status_code >= 500 or response.status_code == 429:
        raise BillingUnavailable(f"the billing system answered {response.status_code}")
    if response.status_code >= 400:
        error = (body or {}).get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        raise BillingRefused(response.status_code, str(error.get("code") or error.get("type") or "refused"),
                             str(error.get("message") or f"the billing system answered {response.status_code}"),
                             error.get("param"))
    if not isinstance(body, dict):
        raise BillingUnavailable("the billing system's answer is not a JSON object")
    return body


def _call(method: str, url: str, settings: CustomerSettings, *, timeout: float, json: Any = None,
          key: str | None = None) -> dict[str, Any]:
    try:
        response = _http().request(method, url, json=json, headers=_headers(settings, key), timeout=timeout)
    except requests.Timeout as error:
        raise BillingUnavailable("the billing system did not answer in time") from error
    except requests.RequestException as error:
        raise BillingUnavailable(f"the billing system could not be reached ({type(error).__name__})") from error
    return _answer(response)


def read_customer(email: str, settings: CustomerSettings) -> dict[str, Any] | None:
    """The customer as the billing system says now (no cache): the truth an action is checked against."""
    try:
        return dict(_call("GET", customer_url(email, settings), settings,
                          timeout=settings.billing_timeout_seconds)["customer"])
    except BillingRefused as refused:
        if refused.status == 404:
            return None
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise BillingUnavailable("the billing system's answer has no customer object") from error


def list_campaigns(settings: CustomerSettings) -> list[dict[str, Any]]:
    """The promo-code campaigns the billing system offers (``[{"id", "name", "discount"}]``)."""
    answer = _call("GET", campaigns_url(settings), settings, timeout=settings.billing_timeout_seconds)
    campaigns = answer.get("campaigns")
    if not isinstance(campaigns, list):
        raise BillingUnavailable("the billing system's campaigns answer has no list")
    return [dict(item) for item in campaigns if isinstance(item, dict) and item.get("id")]


def write(path: str, email: str, body: dict[str, Any], key: str, settings: CustomerSettings) -> dict[str, Any]:
    """``POST <customer URL><path>`` with the action's Idempotency-Key."""
    return _call("POST", customer_url(email, settings) + path, settings,
                 timeout=settings.billing_write_timeout_seconds, json=body, key=key)


_campaigns: dict[int, tuple[float, list[dict[str, Any]]]] = {}
CAMPAIGNS_SECONDS = 300


def campaigns_cached(account_id: int, settings: CustomerSettings) -> list[dict[str, Any]]:
    """The campaigns, kept five minutes per process (the panel lists them on every open)."""
    import time

    found = _campaigns.get(account_id)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    campaigns = list_campaigns(settings)
    _campaigns[account_id] = (time.monotonic() + CAMPAIGNS_SECONDS, campaigns)
    return campaigns
