"""The helpdesk API budget, one token bucket per account, shared by every process through the database.

Zendesk counts requests per minute across the whole account. The bucket refills at
``share * limit * 0.9 / 60`` tokens a second and holds at most ``share * limit * 0.1``, so that no 60-second
window can ever see more than ``share * limit`` requests from Deskmate, however many processes run. A 429 from
the helpdesk blocks the whole bucket until its ``Retry-After`` has passed, for every process at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.db import insert_for, table_of
from app.models import RateBucket


class BudgetExhausted(Exception):
    """No token is free soon enough; the caller should defer its work until ``retry_at``."""

    def __init__(self, retry_at: datetime, reason: str = "helpdesk API budget exhausted") -> None:
        super().__init__(reason)
        self.retry_at = retry_at


# On SQLite (one process by design) the bucket lives in the process: a database write on every helpdesk call
# would need SQLite's single write lock, which the calling work handler's own transaction may hold.
_local_locks: dict[tuple[str, int, str], threading.Lock] = {}
_local_buckets: dict[tuple[str, int, str], _Bucket] = {}
_local_guard = threading.Lock()


@dataclass
class _Bucket:
    tokens: float
    refreshed_at: datetime
    blocked_until: datetime | None = None


def forget_local_buckets() -> None:
    """Drop the in-process buckets (tests start each from a fresh database)."""
    with _local_guard:
        _local_buckets.clear()


def _local_lock(key: tuple[str, int, str]) -> threading.Lock:
    with _local_guard:
        return _local_locks.setdefault(key, threading.Lock())


class RateBudget:
    """Take tokens from, and report 429s to, one account's bucket for one API."""

    def __init__(
        self,
        engine: Engine,
        account_id: int,
        *,
        per_minute: int,
        share: float,
        now: Callable[[], datetime],
        api: str = "zendesk",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        allowed = per_minute * share
        self.engine = engine
        self.account_id = account_id
        self.api = api
        self.capacity = max(1.0, allowed * 0.1)
        self.rate_per_second = max(allowed - self.capacity, 1.0) / 60.0
        self._now = now
        self._sleep = sleep

    def acquire(self, max_wait_seconds: float) -> None:
        """Take one token, waiting up to ``max_wait_seconds`` for it.

        Raises:
            BudgetExhausted: the next token (or the end of a 429 block) is further away than that.
        """
        deadline = time.monotonic() + max_wait_seconds
        while True:
            wait, blocked = self._try_take()
            if wait <= 0:
                return
            if time.monotonic() + wait > deadline:
                reason = "the helpdesk answered 429; waiting for its Retry-After" if blocked \
                    else "helpdesk API budget exhausted"
                raise BudgetExhausted(self._now() + timedelta(seconds=wait), reason)
            self._sleep(wait)

    def spare(self) -> float:
        """The share of the bucket that is full right now (0 to 1), without taking anything.

        Optional work (names for a message, warming a cache) asks this first and gives way during a spike.
        """
        now = self._now()
        if self.engine.dialect.name == "sqlite":
            with _local_lock(self._key):
                bucket = self._local_bucket()
                tokens, refreshed, blocked = bucket.tokens, bucket.refreshed_at, bucket.blocked_until
        else:
            table = table_of(RateBucket)
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(table.c.tokens, table.c.refreshed_at, table.c.blocked_until)
                                         .where(table.c.account_id == self.account_id,
                                                table.c.api == self.api)).first()
            if row is None:
                return 1.0
            tokens, refreshed, blocked = row.tokens, row.refreshed_at, row.blocked_until
        if blocked is not None and blocked > now:
            return 0.0
        elapsed = max(0.0, (now - refreshed).total_seconds())
        return min(1.0, (tokens + elapsed * self.rate_per_second) / self.capacity)

    def block(self, seconds: float) -> None:
        """Stop every process from calling until ``seconds`` from now (the helpdesk said Retry-After)."""
        until = self._now() + timedelta(seconds=seconds)
        if self.engine.dialect.name == "sqlite":
            with _local_lock(self._key):
                bucket = self._local_bucket()
                if bucket.blocked_until is None or bucket.blocked_until < until:
                    bucket.blocked_until, bucket.tokens, bucket.refreshed_at = until, 0.0, until
            return
        with self.engine.begin() as connection:
            self._ensure_row(connection)
            table = table_of(RateBucket)
            connection.execute(
                sa.update(table)
                .where(table.c.account_id == self.account_id, table.c.api == self.api,
                       sa.or_(table.c.blocked_until.is_(None), table.c.blocked_until < until))
                .values(blocked_until=until, tokens=0.0, refreshed_at=until)
            )

    @property
    def _key(self) -> tuple[str, int, str]:
        return (str(self.engine.url), self.account_id, self.api)

    def _local_bucket(self) -> _Bucket:
        with _local_guard:
            return _local_buckets.setdefault(self._key, _Bucket(self.capacity, self._now()))

    def _try_take_in_process(self) -> tuple[float, bool]:
        with _local_lock(self._key):
            bucket = self._local_bucket()
            now = self._now()
            if bucket.blocked_until is not None and bucket.blocked_until > now:
                return (bucket.blocked_until - now).total_seconds(), True
            return self._take(bucket, now)

    def _take(self, bucket: _Bucket, now: datetime) -> tuple[float, bool]:
        """The bucket arithmetic, on a bucket read (and afterwards written) by the caller."""
        elapsed = max(0.0, (now - bucket.refreshed_at).total_seconds())
        bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate_per_second)
        bucket.refreshed_at = now
        if bucket.tokens < 1.0 - 1e-6:
            # At least a millisecond: timestamps are stored to the microsecond, so a smaller wait could refill
            # nothing and spin.
            return max(0.001, (1.0 - bucket.tokens) / self.rate_per_second), False
        bucket.tokens = max(0.0, bucket.tokens - 1.0)
        bucket.blocked_until = None
        return 0.0, False

    def _ensure_row(self, connection: sa.Connection) -> None:
        insert = insert_for(connection, RateBucket)
        connection.execute(
            insert.values(account_id=self.account_id, api=self.api, tokens=self.capacity,
                          refreshed_at=self._now(), blocked_until=None).on_conflict_do_nothing()
        )

    def _try_take(self) -> tuple[float, bool]:
        """Take a token if one is there; otherwise say how many seconds until one will be, and if blocked."""
        if self.engine.dialect.name == "sqlite":
            return self._try_take_in_process()
        table = table_of(RateBucket)
        with self.engine.begin() as connection:
            self._ensure_row(connection)
            row = connection.execute(
                sa.select(table.c.tokens, table.c.refreshed_at, table.c.blocked_until)
                .where(table.c.account_id == self.account_id, table.c.api == self.api)
                .with_for_update()
            ).one()
            now = self._now()
            if row.blocked_until is not None and row.blocked_until > now:
                return (row.blocked_until - now).total_seconds(), True
            bucket = _Bucket(row.tokens, row.refreshed_at, row.blocked_until)
            answer = self._take(bucket, now)
            connection.execute(
                sa.update(table).where(table.c.account_id == self.account_id, table.c.api == self.api)
                .values(tokens=bucket.tokens, refreshed_at=bucket.refreshed_at, blocked_until=bucket.blocked_until)
            )
            return answer
