"""The billing emulator's state: customers, campaigns, the ledger of writes, idempotency keys and faults."""

from __future__ import annotations

import copy
import hashlib
import hmac
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..timeutil import Clock
from .errors import invalid
from .idempotency import IdempotencyStore

DEFAULT_SECRET = "billing-sandbox-secret"

# `valid_days` is how long an issued code lasts; the API shows campaigns without it.
CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {"id": "PPV-SORRY", "name": "Sorry for the interrupted stream", "discount": "1 free pay-per-view event",
     "valid_days": 30},
    {"id": "LOYAL-20", "name": "Loyalty", "discount": "20% off 3 months", "valid_days": 60},
    {"id": "WELCOME-BACK", "name": "Welcome back", "discount": "1 month free", "valid_days": 90},
)


@dataclass
class BillingFaults:
    """Injected faults. The rates apply to writes only; latency and `error_status` to every metered call."""

    latency_ms: int = 0
    error_status: int | None = None  # every metered call answers this status
    timeout_rate: float = 0.0  # the write is performed, then its answer is held for `timeout_ms`
    timeout_ms: int = 3000
    error_rate: float = 0.0  # 503 before performing
    conflict_rate: float = 0.0  # 409 idempotency_key_in_use before performing
    seed: int | None = None


@dataclass(frozen=True)
class Draw:
    """The faults one write request gets."""

    error: bool = False
    conflict: bool = False
    hold_ms: int = 0  # a timeout: how long to hold the answer once the write is performed


class BillingState:
    """Customers by e-mail and everything the emulator remembers; thread-safe.

    `lock` guards customers and the ledger: a write checks and changes a customer under it, so two refunds
    of one purchase at once can never together exceed what was paid.
    """

    def __init__(self, *, secret: str = DEFAULT_SECRET, header: str = "Authorization",
                 customers: dict[str, dict[str, Any]] | None = None, clock: Clock = time.time,
                 campaigns: tuple[dict[str, Any], ...] = CAMPAIGNS) -> None:
        self.lock = threading.Lock()
        self.secret = secret
        self.header = header
        self.clock = clock
        self.customers: dict[str, dict[str, Any]] = {}
        self.campaigns = {campaign["id"]: dict(campaign) for campaign in campaigns}
        self.ledger: dict[str, list[dict[str, Any]]] = {"refunds": [], "cancellations": [], "promo_codes": []}
        self.idempotency = IdempotencyStore(clock)
        self.calls: Counter[str] = Counter()  # per endpoint
        self.events: Counter[str] = Counter()  # replays and injected faults
        self.faults = BillingFaults()
        self._faults_lock = threading.Lock()
        self._random = random.Random()
        for customer in (customers or {}).values():
            self.add(customer)

    # Tests of the customer panel set these two directly.
    @property
    def latency_ms(self) -> int:
        return self.faults.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        self.faults.latency_ms = value

    @property
    def error_status(self) -> int | None:
        return self.faults.error_status

    @error_status.setter
    def error_status(self, value: int | None) -> None:
        self.faults.error_status = value

    def add(self, customer: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a customer; fields it lacks (ids, refund totals...) are filled in. Returns it."""
        complete = complete_customer(copy.deepcopy(customer))
        with self.lock:
            self.customers[complete["email"]] = complete
        return complete

    def customer(self, email: str) -> dict[str, Any] | None:
        """A copy of one customer, safe to serialise while writes go on."""
        with self.lock:
            found = self.customers.get(email.lower())
            return copy.deepcopy(found) if found is not None else None

    def count(self, counter: Counter[str], name: str) -> None:
        """Add one to `calls` or `events` (a Counter's += is not atomic across threads)."""
        with self._faults_lock:
            counter[name] += 1

    def authorised(self, value: str | None) -> bool:
        expected = self.secret if self.header.lower() != "authorization" else f"Bearer {self.secret}"
        return value is not None and hmac.compare_digest(value, expected)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    def today(self) -> date:
        return self.now().date()

    def set_faults(self, body: Any) -> dict[str, Any]:
        """Replace the faults with a JSON body (`{}` clears); a bad value raises `BillingError`."""
        if not isinstance(body, dict):
            raise invalid(None, "Send a JSON object of fault settings ({} clears them).")
        allowed = set(BillingFaults.__dataclass_fields__)
        for name in body:
            if name not in allowed:
                raise invalid(name, f"Unknown fault setting {name!r}; known: {', '.join(sorted(allowed))}.")
        faults = BillingFaults()
        for name in ("latency_ms", "timeout_ms"):
            if name in body:
                setattr(faults, name, _number(body, name, 0, 600_000, whole=True))
        for name in ("timeout_rate", "error_rate", "conflict_rate"):
            if name in body:
                setattr(faults, name, _number(body, name, 0, 1))
        if body.get("error_status") is not None:
            faults.error_status = int(_number(body, "error_status", 400, 599, whole=True))
        if body.get("seed") is not None:
            faults.seed = int(_number(body, "seed", 0, 2**32, whole=True))
        with self._faults_lock:
            self.faults = faults
            self._random = random.Random(faults.seed)
        return asdict(faults)

    def draw(self) -> Draw:
        """Decide the faults of one write; three draws every time, so a seed gives one sequence."""
        with self._faults_lock:
            faults = self.faults
            error, conflict, timeout = (self._random.random() for _ in range(3))
        return Draw(error=error < faults.error_rate, conflict=conflict < faults.conflict_rate,
                    hold_ms=faults.timeout_ms if timeout < faults.timeout_rate else 0)


def _number(body: dict[str, Any], name: str, low: float, high: float, *, whole: bool = False) -> Any:
    value = body[name]
    number = not isinstance(value, bool) and (isinstance(value, int) or (not whole and isinstance(value, float)))
    if not number or not low <= value <= high:
        kind = "an integer" if whole else "a number"
        raise invalid(name, f"{name} must be {kind} from {low:,} to {high:,}.")
    return value


def _digest_id(prefix: str, *parts: object, digits: int = 16) -> str:
    text = "|".join(str(part) for part in parts)
    return f"{prefix}_{hashlib.sha256(text.encode()).hexdigest()[:digits]}"


def complete_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """Fill in what a hand-written customer may leave out, with ids derived from its e-mail."""
    email = str(customer["email"]).lower()
    customer["email"] = email
    customer.setdefault("id", _digest_id("cus", email, digits=12))
    plan = customer.get("plan")
    currency = customer.setdefault("currency", (plan or {}).get("currency", "EUR") if isinstance(plan, dict)
                                   else "EUR")
    subscription = customer.get("subscription")
    if isinstance(subscription, dict):
        subscription.setdefault("id", _digest_id("sub", email))
        subscription.setdefault("renews_at", None)
        subscription.setdefault("current_period_end", subscription["renews_at"])
        subscription.setdefault("cancel_at_period_end", False)
        subscription.setdefault("cancelled_at", None)
    else:
        customer["subscription"] = None
    for index, purchase in enumerate(_dicts(customer, "purchases")):
        purchase.setdefault("id", _digest_id("pur", email, index))
        purchase.setdefault("currency", currency)
        purchase.setdefault("amount_refunded", 0)
        purchase.setdefault("status", "paid")
        purchase.setdefault("duplicate_of", None)
    for index, refund in enumerate(_dicts(customer, "refunds")):
        refund.setdefault("id", _digest_id("re", email, index))
        refund.setdefault("purchase_id", None)
        refund.setdefault("currency", currency)
    for code in _dicts(customer, "promo_codes"):
        code.setdefault("campaign", None)
        code.setdefault("expires_at", None)
    return customer


def _dicts(customer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = customer.get(name)
    if not isinstance(entries, list):
        entries = customer[name] = []
    return [entry for entry in entries if isinstance(entry, dict)]
