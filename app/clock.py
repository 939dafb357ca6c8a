"""The clock every time-based decision asks, so that tests can drive time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app

EXTENSION_KEY = "deskmate.clock"


class Clock:
    """Real UTC time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock(Clock):
    """A clock that only moves when told to; for tests and the SLA benchmark."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment


def init_app(app: Flask, clock: Clock | None = None) -> None:
    app.extensions[EXTENSION_KEY] = clock or Clock()


def get_clock(app: Flask | None = None) -> Clock:
    return (app or current_app).extensions[EXTENSION_KEY]
