"""A rolling-window request limiter, the way Zendesk counts requests per minute."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The outcome of one attempt to take a slot."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # whole seconds until a slot frees; 0 when allowed
    reset: int  # whole seconds until the window has fully rolled over


class RollingWindowLimiter:
    """Allows `limit` calls in any `window` seconds. Not locked: the owner serialises calls."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._stamps: deque[float] = deque()

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        while self._stamps and self._stamps[0] <= horizon:
            self._stamps.popleft()

    def try_acquire(self, now: float) -> Decision:
        """Take a slot if one is free at `now`; otherwise say how long until one is."""
        self._expire(now)
        reset = math.ceil(self._stamps[0] + self.window - now) if self._stamps else 0
        if len(self._stamps) >= self.limit:
            # Zendesk answers an integer Retry-After; never 0, or zenpy would give up instead of waiting.
            wait = max(1, math.ceil(self._stamps[0] + self.window - now))
            return Decision(False, self.limit, 0, wait, max(reset, wait))
        self._stamps.append(now)
        if not reset:
            reset = math.ceil(self.window)
        return Decision(True, self.limit, self.limit - len(self._stamps), 0, reset)

    def peek(self, now: float) -> int:
        """Return how many slots are free at `now` without taking one."""
        self._expire(now)
        return max(0, self.limit - len(self._stamps))

    def reset(self) -> None:
        """Forget every recorded call."""
        self._stamps.clear()
