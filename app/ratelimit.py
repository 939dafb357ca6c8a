"""The helpdesk API budget, one token bucket per account, shared by every process through the database.

Zendesk counts requests per minute across the whole account. The bucket refills at
``share * limit * 0.9 / 60`` tokens a second and holds at most ``share * limit * 0.1``, so that no 60-second
window can ever see more than ``share * limit`` requests from Deskmate, however many processes run. A 429 from
the helpdesk blocks the whole bucket until its ``Retry-After`` has passed, for every process at once.

``limit`` starts as the configured plan number; the helpdesk states the account's real limit in every answer
(``X-Rate-Limit``, or ``ratelimit-limit`` on some endpoints), and ``learn`` adopts it: stored on the bucket's
row so every process follows from its next call (on SQLite, kept in the process, which is the only one).
Add-ons raise the limit and plan changes move it, so the configured number is only ever a starting value.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.db import insert_for, table_of
from app.models import RateBucket

log = logging.getLogger(__name__)

# What a sane X-Rate-Limit says: Zendesk's plans run from 200 to 2,500 a minute (more with add-ons); a value
# outside these bounds is garbage from a proxy or a bug, and adopting it could stall or flood the account.
LEARNT_LIMIT_BOUNDS = (10, 100_000)
LIMIT_HEADERS = ("X-Rate-Limit", "ratelimit-limit")


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
# The limits learnt in this process on SQLite: (per minute, when), by bucket key.
_local_limits: dict[tuple[str, int, str], tuple[int, datetime]] = {}


def limit_from_headers(headers: Mapping[str, str]) -> int | None:
    """The requests-per-minute limit a helpdesk answer states, or None when it states none worth believing.

    ``headers`` is case-insensitive (a ``requests`` answer's). ``X-Rate-Limit`` is read first: it is on every
    answer, while ``ratelimit-limit`` is only on some endpoints and says the same.
    """
    low, high = LEARNT_LIMIT_BOUNDS
    for name in LIMIT_HEADERS:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = int(str(raw).strip())
        except ValueError:
            continue
        if low <= value <= high:
            return value
    return None


@dataclass
class _Bucket:
    tokens: float
    refreshed_at: datetime
    blocked_until: datetime | None = None


def forget_local_buckets() -> None:
    """Drop the in-process buckets (tests start each from a fresh database)."""
    with _local_guard:
        _local_buckets.clear()
        _local_limits.clear()


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
        self.engine = engine
        self.account_id = account_id
        self.api = api
        self.share = share
        self.configured_per_minute = per_minute
        self.learnt_at: datetime | None = None
        self._now = now
        self._sleep = sleep
        self._use_limit(per_minute)
        if engine.dialect.name == "sqlite":
            self._adopt_local_limit()

    def _use_limit(self, per_minute: int) -> None:
        self.per_minute = per_minute
        allowed = per_minute * self.share
        self.capacity = max(1.0, allowed * 0.1)
        self.rate_per_second = max(allowed - self.capacity, 1.0) / 60.0

    def _adopt(self, per_minute: int | None, learnt_at: datetime | None) -> None:
        """Follow a limit another budget (or process) learnt; None keeps the configured one."""
        if per_minute is not None and per_minute != self.per_minute:
            self._use_limit(per_minute)
        if per_minute is not None:
            self.learnt_at = learnt_at

    def _adopt_local_limit(self) -> None:
        with _local_guard:
            learnt = _local_limits.get(self._key)
        if learnt is not None:
            self._adopt(*learnt)

    def learn(self, per_minute: int) -> bool:
        """Adopt the limit the helpdesk stated (``limit_from_headers``); True when it changed the budget.

        Writes only when the limit changes, so an answer that confirms the known limit costs nothing.
        """
        if self.engine.dialect.name == "sqlite":
            self._adopt_local_limit()
        if per_minute == self.per_minute and self.learnt_at is not None:
            return False
        previous, now = self.per_minute, self._now()
        if self.engine.dialect.name == "sqlite":
            with _local_guard:
                _local_limits[self._key] = (per_minute, now)
        else:
            table = table_of(RateBucket)
            with self.engine.begin() as connection:
                self._ensure_row(connection)
                connection.execute(
                    sa.update(table)
                    .where(table.c.account_id == self.account_id, table.c.api == self.api,
                           sa.or_(table.c.limit_per_minute.is_(None), table.c.limit_per_minute != per_minute))
                    .values(limit_per_minute=per_minute, limit_learnt_at=now))
        self._use_limit(per_minute)
        self.learnt_at = now
        if per_minute != previous:
            log.info("the helpdesk states %d requests a minute for account %s (the budget assumed %d)",
                     per_minute, self.account_id, previous)
        return per_minute != previous

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
            self._adopt_local_limit()
            with _local_lock(self._key):
                bucket = self._local_bucket()
                tokens, refreshed, blocked = bucket.tokens, bucket.refreshed_at, bucket.blocked_until
        else:
            table = table_of(RateBucket)
            with self.engine.connect() as connection:
                row = connection.execute(sa.select(table.c.tokens, table.c.refreshed_at, table.c.blocked_until,
                                                   table.c.limit_per_minute, table.c.limit_learnt_at)
                                         .where(table.c.account_id == self.account_id,
                                                table.c.api == self.api)).first()
            if row is None:
                return 1.0
            self._adopt(row.limit_per_minute, row.limit_learnt_at)
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
        self._adopt_local_limit()
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
                sa.select(table.c.tokens, table.c.refreshed_at, table.c.blocked_until, table.c.limit_per_minute,
                          table.c.limit_learnt_at)
                .where(table.c.account_id == self.account_id, table.c.api == self.api)
                .with_for_update()
            ).one()
            self._adopt(row.limit_per_minute, row.limit_learnt_at)
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


def learnt_limit(engine: Engine, account_id: int, api: str = "zendesk") -> tuple[int, datetime] | None:
    """The limit the helpdesk last stated for an account, and when it was learnt; None before any answer."""
    if engine.dialect.name == "sqlite":
        with _local_guard:
            return _local_limits.get((str(engine.url), account_id, api))
    table = table_of(RateBucket)
    with engine.connect() as connection:
        row = connection.execute(sa.select(table.c.limit_per_minute, table.c.limit_learnt_at)
                                 .where(table.c.account_id == account_id, table.c.api == api)).first()
    if row is None or row.limit_per_minute is None or row.limit_learnt_at is None:
        return None
    return int(row.limit_per_minute), row.limit_learnt_at


def current_limit(engine: Engine, account_id: int, configured: int) -> tuple[int, datetime | None]:
    """The limit an account's helpdesk budget keeps to now, and when it was learnt (None: still configured)."""
    learnt = learnt_limit(engine, account_id)
    return (configured, None) if learnt is None else learnt
