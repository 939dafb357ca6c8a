"""Idempotency keys as Stripe keeps them: the first answer per key, replayed for 24 hours.

A key is reserved when its request starts being performed and holds the answer once there is one. A request
refused before it is performed (bad parameters, an injected 503 or 409) leaves no trace, so the key can be
used again; an answer that was computed is kept even when the client never received it (a timeout), which
is the whole point: the retry gets that answer instead of a second refund.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..timeutil import Clock

DAY = 24 * 3600
MAX_KEYS = 10_000


@dataclass
class _Record:
    fingerprint: str
    created: float
    status: int | None = None  # None while the first request is being performed
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    """What to do with a request carrying a key: perform it ("new"), replay, or refuse it."""

    kind: str  # "new" | "replay" | "reused" | "in_use"
    status: int = 0
    body: dict[str, Any] | None = None


class IdempotencyStore:
    """Keys with their request fingerprint and answer; at most `max_keys`, each for `ttl` seconds."""

    def __init__(self, clock: Clock = time.time, ttl: float = DAY, max_keys: int = MAX_KEYS) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def begin(self, key: str, fingerprint: str) -> Outcome:
        """Reserve `key` for this request, or say why not (answered before, another body, still running)."""
        with self._lock:
            self._expire()
            record = self._records.get(key)
            if record is None:
                self._records[key] = _Record(fingerprint, self._clock())
                self._bound()
                return Outcome("new")
            if record.fingerprint != fingerprint:
                return Outcome("reused")
            if record.status is None:
                return Outcome("in_use")
            return Outcome("replay", record.status, record.body)

    def finish(self, key: str, status: int, body: dict[str, Any]) -> None:
        """Keep the answer of the request that reserved `key`."""
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                record.status, record.body = status, body

    def release(self, key: str) -> None:
        """Forget a reservation whose request was not performed."""
        with self._lock:
            record = self._records.get(key)
            if record is not None and record.status is None:
                del self._records[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def _expire(self) -> None:
        # Records are in creation order, so the expired ones are at the front.
        horizon = self._clock() - self._ttl
        while self._records:
            key, record = next(iter(self._records.items()))
            if record.created > horizon:
                break
            del self._records[key]

    def _bound(self) -> None:
        # Oldest answered keys go first; a reservation in flight is never dropped, or its request could run
        # twice. Those are few (one per request thread), so the scan past them is short.
        excess = len(self._records) - self._max_keys
        victims: list[str] = []
        for key, record in self._records.items():
            if len(victims) >= excess:
                break
            if record.status is not None:
                victims.append(key)
        for key in victims:
            del self._records[key]
