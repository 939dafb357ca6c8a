"""Time helpers shared by the emulators: one clock, Zendesk's ISO-8601 `Z` format."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]


def iso(ts: float) -> str:
    """Format an epoch timestamp the way Zendesk does: `2024-05-01T10:00:00Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_micro(ts: float) -> str:
    """Format an epoch timestamp with microseconds, as webhook envelopes carry it."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> float:
    """Parse `2024-05-01T10:00:00Z` (or a date `2024-05-01`, or an offset) into epoch seconds."""
    text = value.strip()
    if len(text) == 10:
        text += "T00:00:00Z"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class ManualClock:
    """A clock that only moves when told to, for tests of rate windows and SLA timings."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds
