"""Short-lived, per-app caches of what nearly every decision reads: the account's rules and its groups.

A burst of thousands of tickets would otherwise read the same two rows for every ticket. Entries live
``TTL_SECONDS`` and are dropped at once when this process changes them; another process (the web process
saving rules, another worker storing groups) is seen within ``TTL_SECONDS``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, has_app_context

TTL_SECONDS = 5.0
EXTENSION_KEY = "deskmate.routing.cache"
T = TypeVar("T")
_lock = threading.Lock()


def _store() -> dict[tuple[str, int], tuple[float, Any]] | None:
    if not has_app_context():
        return None
    with _lock:
        return current_app.extensions.setdefault(EXTENSION_KEY, {})


def get(name: str, account_id: int, load: Callable[[], T], *, keep: Callable[[T], bool] = lambda _: True) -> T:
    """The cached value, or ``load()`` (kept for ``TTL_SECONDS`` when ``keep`` says so)."""
    store = _store()
    if store is None:
        return load()
    now = time.monotonic()
    with _lock:
        found = store.get((name, account_id))
    if found is not None and found[0] > now:
        return found[1]
    value = load()
    if keep(value):
        with _lock:
            store[(name, account_id)] = (now + TTL_SECONDS, value)
    return value


def invalidate(name: str, account_id: int) -> None:
    store = _store()
    if store is not None:
        with _lock:
            store.pop((name, account_id), None)


def invalidate_prefix(prefix: str, account_id: int) -> None:
    store = _store()
    if store is not None:
        with _lock:
            for key in [key for key in store if key[1] == account_id and key[0].startswith(prefix)]:
                store.pop(key, None)
