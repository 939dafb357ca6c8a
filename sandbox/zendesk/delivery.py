"""Webhook delivery the way Zendesk does it: signed, from a pool, retried with the same invocation id.

Zendesk's documented retry policy and circuit breaker (developer.zendesk.com/api-reference/webhooks/introduction,
"Webhook retries" and "Circuit breaker"; docs/sandbox.md says what is documented and what the emulator chose):

* retried, with the same invocation id: a 409 answer, a 429 or 503 answer whose ``Retry-After`` is under 60
  seconds (after that many seconds), and a timeout or a failed connection; at most ``retries`` times each;
* not retried: any other answer (a 500, a 502, a 503 without ``Retry-After``, a 4xx) -- that delivery is lost;
* the circuit breaker of each webhook trips when, within five minutes, 70% or more of its requests failed or
  more than 1,000 did; it then sends nothing for five seconds (what comes due meanwhile is dropped, not
  queued), then lets one request through: a success closes it, a failure opens it for another five seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..timeutil import Clock, iso

log = logging.getLogger(__name__)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature: base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def new_invocation_id() -> str:
    """Invocation ids in real deliveries are long decimal strings."""
    return str(uuid.uuid4().int % 10**19)


@dataclass
class Delivery:
    """One webhook request to make (and retry) for one event."""

    webhook_id: str
    endpoint: str
    method: str
    body: bytes
    secret: str
    event_type: str
    event_id: str | None = None
    ticket_id: int | None = None
    trigger_id: int | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    invocation_id: str = field(default_factory=new_invocation_id)
    delivery_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempt: int = 0
    duplicate: int = 0  # 0 for the original, n for the n-th injected duplicate


@dataclass
class BreakerSettings:
    """The circuit breaker's numbers: Zendesk's documented ones, except ``min_requests`` (the emulator's: a
    webhook's first failure alone is 100% of its requests, and must not trip it)."""

    window_seconds: float = 300.0
    error_share: float = 0.7
    max_errors: int = 1000
    open_seconds: float = 5.0
    min_requests: int = 10


class CircuitBreaker:
    """One webhook's breaker: ``closed`` (deliver), ``open`` (drop until ``open_until``), ``half_open`` (one
    probe in flight). Not thread-safe on its own: the dispatcher calls it under its lock."""

    def __init__(self, settings: BreakerSettings) -> None:
        self.settings = settings
        self.outcomes: deque[tuple[float, bool]] = deque()  # (when, failed) within the window
        self.errors = 0
        self.state = "closed"
        self.open_until = 0.0
        self.trips = 0
        self.dropped = 0

    def allow(self, now: float) -> bool:
        """Whether a delivery may be attempted now (an open breaker past its pause lets one probe through)."""
        if self.state == "closed":
            return True
        if self.state == "open" and now >= self.open_until:
            self.state = "half_open"
            return True
        self.dropped += 1
        return False

    def record(self, now: float, failed: bool) -> None:
        if self.state == "half_open":
            if failed:
                self._open(now)
            else:  # recovered: the failures that tripped it no longer count
                self.state, self.outcomes, self.errors = "closed", deque(), 0
            return
        self.outcomes.append((now, failed))
        self.errors += failed
        horizon = now - self.settings.window_seconds
        while self.outcomes and self.outcomes[0][0] < horizon:
            self.errors -= self.outcomes.popleft()[1]
        total = len(self.outcomes)
        if failed and (self.errors > self.settings.max_errors or (
                total >= self.settings.min_requests and self.errors >= self.settings.error_share * total)):
            self._open(now)

    def _open(self, now: float) -> None:
        self.state, self.open_until = "open", now + self.settings.open_seconds
        self.trips += 1

    def snapshot(self, now: float) -> dict[str, Any]:
        state = "half_open" if self.state == "open" and now >= self.open_until else self.state
        return {"state": state, "trips": self.trips, "dropped": self.dropped, "errors_in_window": self.errors,
                "requests_in_window": len(self.outcomes)}


def retry_delay(status: int | None, error: str | None, retry_after: str | None, backoff: float,
                attempt: int) -> float | None:
    """Seconds until Zendesk tries a failed attempt again, or None when it does not (its documented policy)."""
    if error is not None or status == 409:
        return backoff * (2 ** (attempt - 1))
    if status in (429, 503) and retry_after and retry_after.strip().isdigit() and int(retry_after) < 60:
        return float(retry_after) or backoff * (2 ** (attempt - 1))
    return None


class WebhookDispatcher:
    """Background delivery on a thread pool with one shared HTTP session; every attempt is recorded."""

    def __init__(
        self,
        *,
        account_id: int,
        clock: Clock,
        workers: int = 16,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_records: int = 100_000,
        duplicates: Callable[[], int] = lambda: 0,
        breaker: BreakerSettings | None = None,
    ) -> None:
        self.account_id = account_id
        self.clock = clock
        self.workers = workers
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._duplicates = duplicates
        self.breaker_settings = breaker or BreakerSettings()
        self._breakers: dict[str, CircuitBreaker] = {}
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._cond = threading.Condition()
        self._pending = 0
        self._timers: set[threading.Timer] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._session: requests.Session | None = None
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def _pool(self) -> ThreadPoolExecutor:
        with self._cond:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="zendesk-webhook")
                session = requests.Session()
                adapter = HTTPAdapter(pool_connections=8, pool_maxsize=self.workers * 2, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                self._session = session
            return self._executor

    def stop(self) -> None:
        """Cancel scheduled retries and stop the pool (pending deliveries are abandoned)."""
        with self._cond:
            self._stopped = True
            for timer in list(self._timers):
                timer.cancel()
            self._timers.clear()
            executor, self._executor = self._executor, None
            self._pending = 0
            self._cond.notify_all()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    # -- queueing -------------------------------------------------------------------------------------
    def submit(self, delivery: Delivery) -> None:
        """Queue a delivery, plus the duplicates the faults ask for."""
        copies = [delivery]
        for n in range(1, self._duplicates() + 1):
            # Odd copies repeat the invocation (a retry Zendesk thinks failed); even ones are new invocations
            # of the same event, as when Zendesk delivers one action twice.
            invocation = delivery.invocation_id if n % 2 else new_invocation_id()
            copies.append(
                replace(delivery, invocation_id=invocation, delivery_id=uuid.uuid4().hex, duplicate=n)
            )
        with self._cond:
            if self._stopped:
                return
            self._pending += len(copies)
        for copy in copies:
            if copy.duplicate:
                self._schedule(copy, 0.05 * copy.duplicate)
            else:
                self._pool().submit(self._attempt, copy)

    def _schedule(self, delivery: Delivery, delay: float) -> None:
        def fire() -> None:
            with self._cond:
                self._timers.discard(timer)
                if self._stopped:
                    return
            self._pool().submit(self._attempt, delivery)

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        with self._cond:
            self._timers.add(timer)
        timer.start()

    def _done(self) -> None:
        with self._cond:
            self._pending = max(0, self._pending - 1)
            if self._pending == 0:
                self._cond.notify_all()

    # -- one attempt ----------------------------------------------------------------------------------
    def _breaker(self, webhook_id: str) -> CircuitBreaker:
        breaker = self._breakers.get(webhook_id)
        if breaker is None:
            breaker = self._breakers[webhook_id] = CircuitBreaker(self.breaker_settings)
        return breaker

    def _attempt(self, delivery: Delivery) -> None:
        delivery.attempt += 1
        with self._cond:
            allowed = self._breaker(delivery.webhook_id).allow(self.clock())
        if not allowed:
            self._record(delivery, iso(self.clock()), {}, None, "circuit breaker open: not sent", 0.0)
            self._done()
            return
        timestamp = iso(self.clock())
        signature = sign(delivery.secret, timestamp, delivery.body)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Account-Id": str(self.account_id),
            "X-Zendesk-Webhook-Id": delivery.webhook_id,
            "X-Zendesk-Webhook-Invocation-Id": delivery.invocation_id,
            "X-Zendesk-Webhook-Signature": signature,
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            **delivery.extra_headers,
        }
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: str | None = None
        try:
            assert self._session is not None
            response = self._session.request(
                delivery.method, delivery.endpoint, data=delivery.body, headers=headers, timeout=self.timeout
            )
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            response.close()
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a delivery thread must never die silently
            log.exception("webhook delivery crashed")
            error = f"{type(exc).__name__}: {exc}"
        ok = status is not None and 200 <= status < 300
        with self._cond:
            self._breaker(delivery.webhook_id).record(self.clock(), not ok)
        self._record(delivery, timestamp, headers, status, error, round((time.monotonic() - started) * 1000, 2))
        delay = retry_delay(status, error, retry_after, self.backoff, delivery.attempt) if not ok else None
        if delay is not None and delivery.attempt <= self.retries:
            self._schedule(delivery, delay)
            return
        self._done()

    def _record(self, delivery: Delivery, timestamp: str, headers: dict[str, str], status: int | None,
                error: str | None, duration_ms: float) -> None:
        ok = status is not None and 200 <= status < 300
        self._records.append(
            {
                "delivery_id": delivery.delivery_id,
                "webhook_id": delivery.webhook_id,
                "invocation_id": delivery.invocation_id,
                "event_id": delivery.event_id,
                "event_type": delivery.event_type,
                "ticket_id": delivery.ticket_id,
                "trigger_id": delivery.trigger_id,
                "attempt": delivery.attempt,
                "duplicate": delivery.duplicate,
                "endpoint": delivery.endpoint,
                "method": delivery.method,
                "status_code": status,
                "error": error,
                "ok": ok,
                "duration_ms": duration_ms,
                "sent_at": timestamp,
                "headers": headers,
                "body": delivery.body.decode("utf-8", "replace"),
            }
        )

    # -- inspection -----------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        """Deliveries not yet finished (including scheduled retries)."""
        with self._cond:
            return self._pending

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery (and its retries) is finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def breakers(self) -> dict[str, dict[str, Any]]:
        """Each webhook's circuit breaker: its state, how often it tripped, deliveries it dropped."""
        now = self.clock()
        with self._cond:
            return {webhook_id: breaker.snapshot(now) for webhook_id, breaker in self._breakers.items()}

    def records(self) -> list[dict[str, Any]]:
        """Every recorded attempt, oldest first."""
        return list(self._records)

    def clear(self) -> None:
        """Forget recorded attempts (and the breakers' history)."""
        self._records.clear()
        with self._cond:
            self._breakers.clear()
