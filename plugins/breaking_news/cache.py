"""The in-process cache of rendered public documents (active.json, the Atom feed), per account and locale.

Why it is correct across processes: every write bumps the account's row in ``breaking_news_versions`` in the
write's own transaction. A process compares its cached version with that row at most every
``check_seconds``, so another process's write shows within about a second. A write made by this process
clears the account's entries after its commit, and a render that started before that write cannot store
its (older) result afterwards: renders carry the generation they started in and are dropped if it moved.
Time-driven changes (a maintenance window opening or closing) need no write: each entry is only valid until
the next scheduled change among the incidents it was rendered from.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

Key = tuple[str, ...]  # (document kind, locale, account settings version)
MAX_ENTRIES_PER_ACCOUNT = 64  # locales are few; this bounds what odd ?locale= values can cost


@dataclass(frozen=True)
class Rendered:
    """A rendered document: its bytes, its strong ETag, and until when the clock leaves it current."""

    body: bytes
    etag: str
    version: int
    valid_until: datetime | None


def make_etag(version: int, body: bytes) -> str:
    """A strong ETag naming the account's version and the exact bytes."""
    return f'"{version}-{hashlib.sha256(body).hexdigest()[:20]}"'


@dataclass
class _AccountEntries:
    version: int | None = None
    checked_at: float = float("-inf")
    checking: bool = False
    generation: int = 0
    documents: dict[Key, Rendered] = field(default_factory=dict)


class NewsCache:
    """Rendered documents per ``(account_id, (kind, locale))``; thread-safe."""

    def __init__(self, check_seconds: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.check_seconds = check_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._accounts: dict[int, _AccountEntries] = {}

    def _entries(self, account_id: int) -> _AccountEntries:
        entries = self._accounts.get(account_id)
        if entries is None:
            entries = self._accounts.setdefault(account_id, _AccountEntries())
        return entries

    def get(self, account_id: int, key: Key, now: datetime,
            read_version: Callable[[int], int]) -> Rendered | None:
        """The cached document if it is still current; checks the stored version when the last check is old.

        ``read_version(account_id)`` reads the account's version from the database; only one thread per
        account calls it at a time, the others keep answering from the cache meanwhile.
        """
        entries = self._entries(account_id)
        check = False
        with self._lock:
            if not entries.checking and self._monotonic() - entries.checked_at >= self.check_seconds:
                entries.checking = check = True
        if check:
            try:
                version = read_version(account_id)
            finally:
                with self._lock:
                    entries.checking = False
            with self._lock:
                entries.checked_at = self._monotonic()
                if entries.version != version:
                    entries.version = version
                    entries.documents.clear()
        document = entries.documents.get(key)
        if document is None or document.version != entries.version:
            return None
        if document.valid_until is not None and now >= document.valid_until:
            return None
        return document

    def generation(self, account_id: int) -> int:
        """Take this before reading the database for a render; hand it back to ``put``."""
        with self._lock:
            return self._entries(account_id).generation

    def put(self, account_id: int, key: Key, document: Rendered, generation: int) -> None:
        """Keep a render, unless this process wrote (``invalidate``) since the render began."""
        with self._lock:
            entries = self._entries(account_id)
            if entries.generation != generation:
                return
            if entries.version is None or document.version > entries.version:
                entries.version = document.version
                entries.checked_at = self._monotonic()
                entries.documents.clear()
            elif document.version < entries.version:
                return
            if len(entries.documents) >= MAX_ENTRIES_PER_ACCOUNT:
                entries.documents.clear()
            entries.documents[key] = document

    def invalidate(self, account_id: int) -> None:
        """Forget the account's documents now and re-read its version on the next request."""
        with self._lock:
            entries = self._entries(account_id)
            entries.generation += 1
            entries.documents.clear()
            entries.version = None
            entries.checked_at = float("-inf")
