"""Counters of API traffic, so benchmarks can report calls per ticket and 429s served."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class ApiStats:
    """Thread-safe counters; `snapshot()` is what `GET /__sandbox/stats` answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._since = time.time()
            self._by_endpoint: Counter[str] = Counter()
            self._by_status: Counter[int] = Counter()
            self._counters: Counter[str] = Counter()

    def request(self, endpoint: str, status: int) -> None:
        """Count one API call and its answer."""
        with self._lock:
            self._by_endpoint[endpoint] += 1
            self._by_status[status] += 1
            self._counters["api_calls"] += 1

    def count(self, name: str, amount: int = 1) -> None:
        """Bump a named counter (rate_limited, storm_429, injected_5xx, dropped...)."""
        with self._lock:
            self._counters[name] += amount

    def ticket_created(self) -> None:
        """Count a ticket created by any channel."""
        self.count("tickets_created")

    def snapshot(self) -> dict[str, Any]:
        """All counters, plus API calls per created ticket."""
        with self._lock:
            counters = dict(self._counters)
            calls = counters.get("api_calls", 0)
            tickets = counters.get("tickets_created", 0)
            return {
                "since": self._since,
                "elapsed_seconds": round(time.time() - self._since, 3),
                "api_calls": calls,
                "tickets_created": tickets,
                "api_calls_per_ticket": round(calls / tickets, 4) if tickets else None,
                "rate_limited": counters.get("rate_limited", 0),
                "storm_429": counters.get("storm_429", 0),
                "responses_429": self._by_status.get(429, 0),
                "injected_5xx": counters.get("injected_5xx", 0),
                "dropped": counters.get("dropped", 0),
                "by_endpoint": dict(self._by_endpoint.most_common()),
                "by_status": {str(k): v for k, v in sorted(self._by_status.items())},
                "counters": counters,
            }
