"""Run-time fault injection shared by both emulators: latency, 429 storms, 5xx windows, drops."""

from __future__ import annotations

import math
import random
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .timeutil import Clock


@dataclass
class FaultSettings:
    """What is currently injected. Times are absolute epoch seconds on the emulator's clock."""

    latency_ms: int = 0
    latency_paths: list[str] = field(default_factory=list)  # path prefixes; empty means every API path
    storm_until: float = 0.0  # every API call answers 429 until then
    error_until: float = 0.0  # every API call answers `error_status` until then
    error_status: int = 503
    drop_share: float = 0.0  # share of API calls whose connection is closed with no answer
    duplicate_webhooks: int = 0  # extra copies of every webhook delivery


@dataclass(frozen=True)
class Injection:
    """A fault to apply to one request instead of handling it."""

    kind: str  # "storm" | "error" | "drop"
    status: int = 0
    retry_after: int = 0


class Faults:
    """Thread-safe holder of fault settings with a JSON-friendly setter."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._settings = FaultSettings()
        self._random = random.Random(seed)

    def set(
        self,
        *,
        latency_ms: int | None = None,
        latency_paths: list[str] | None = None,
        storm_seconds: float | None = None,
        error_seconds: float | None = None,
        error_status: int | None = None,
        drop_share: float | None = None,
        duplicate_webhooks: int | None = None,
    ) -> dict[str, Any]:
        """Change some settings (others stay); durations count from now. Returns the new settings."""
        now = self._clock()
        with self._lock:
            s = self._settings
            if latency_ms is not None:
                s.latency_ms = max(0, int(latency_ms))
            if latency_paths is not None:
                s.latency_paths = [str(p) for p in latency_paths]
            if storm_seconds is not None:
                s.storm_until = now + float(storm_seconds) if storm_seconds > 0 else 0.0
            if error_seconds is not None:
                s.error_until = now + float(error_seconds) if error_seconds > 0 else 0.0
            if error_status is not None:
                s.error_status = int(error_status)
            if drop_share is not None:
                s.drop_share = min(1.0, max(0.0, float(drop_share)))
            if duplicate_webhooks is not None:
                s.duplicate_webhooks = max(0, int(duplicate_webhooks))
        return self.snapshot()

    def set_from_json(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply a JSON body such as `{"storm_seconds": 5, "latency_ms": 200}`; unknown keys raise."""
        allowed = {
            "latency_ms",
            "latency_paths",
            "storm_seconds",
            "error_seconds",
            "error_status",
            "drop_share",
            "duplicate_webhooks",
        }
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}; allowed: {sorted(allowed)}")
        return self.set(**body)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._settings = FaultSettings()

    def snapshot(self) -> dict[str, Any]:
        """Return the settings with the remaining storm and error seconds."""
        now = self._clock()
        with self._lock:
            data = asdict(self._settings)
        data["storm_remaining"] = max(0.0, data["storm_until"] - now)
        data["error_remaining"] = max(0.0, data["error_until"] - now)
        return data

    @property
    def duplicate_webhooks(self) -> int:
        """How many extra copies of each webhook delivery to send."""
        with self._lock:
            return self._settings.duplicate_webhooks

    def latency_for(self, path: str) -> float:
        """Seconds of added latency for a request to `path`."""
        with self._lock:
            s = self._settings
            if not s.latency_ms:
                return 0.0
            if s.latency_paths and not any(path.startswith(p) for p in s.latency_paths):
                return 0.0
            return s.latency_ms / 1000.0

    def injection(self) -> Injection | None:
        """Decide whether the current request must fail, and how."""
        now = self._clock()
        with self._lock:
            s = self._settings
            if s.drop_share and self._random.random() < s.drop_share:
                return Injection("drop")
            if s.storm_until > now:
                return Injection("storm", 429, max(1, math.ceil(s.storm_until - now)))
            if s.error_until > now:
                return Injection("error", s.error_status, max(1, math.ceil(s.error_until - now)))
        return None

    def apply_latency(self, path: str) -> None:
        """Sleep for the configured latency; this delay is the injected fault itself."""
        delay = self.latency_for(path)
        if delay:
            time.sleep(delay)


def drop_connection(environ: dict[str, Any]) -> bool:
    """Close the client's socket without an answer. Returns False when there is no socket (test client)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        # SO_LINGER 0 makes close() send a RST, as a crashed proxy would.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
    return True
