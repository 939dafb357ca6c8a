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
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.models import RateBucket


class BudgetExhausted(Exception):  # noqa: N818 - a signal to defer, not a failure
    """No token is free soon enough; the caller should defer its work until ``retry_at``."""

    def __init__(self, retry_at: datetime, reason: str = "helpdesk API budget exhausted") -> None:
        super().__init__(reason)
        self.retry_at = retry_at


# SQLite has no row locks; within one process this lock makes take-a-token atomic per bucket.
_local_locks: dict[tuple[int, str], threading.Lock] = {}
_local_locks_guard = threading.Lock()


def _local_lock(key: tuple[int, str]) -> threading.Lock:
    with _local_locks_guard:
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

    def block(self, seconds: float) -> None:
        """Stop every process from calling until ``seconds`` from now (the helpdesk said Retry-After)."""
        until = self._now() + timedelta(seconds=seconds)
        with self.engine.begin() as connection:
            self._ensure_row(connection)
            table = RateBucket.__table__
            connection.execute(
                sa.update(table)
                .where(table.c.account_id == self.account_id, table.c.api == self.api,
                       sa.or_(table.c.blocked_until.is_(None), table.c.blocked_until < until))
                .values(blocked_until=until, tokens=0.0, refreshed_at=until)
            )

    def _ensure_row(self, connection: sa.Connection) -> None:
        insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(RateBucket)
        connection.execute(
            insert.values(account_id=self.account_id, api=self.api, tokens=self.capacity,
                          refreshed_at=self._now(), blocked_until=None).on_conflict_do_nothing()
        )

    def _try_take(self) -> tuple[float, bool]:
        """Take a token if one is there; otherwise say how many seconds until one will be, and if blocked."""
        table = RateBucket.__table__
        with _local_lock((self.account_id, self.api)), self.engine.begin() as connection:
            self._ensure_row(connection)
            row = connection.execute(
                sa.select(table.c.tokens, table.c.refreshed_at, table.c.blocked_until)
                .where(table.c.account_id == self.account_id, table.c.api == self.api)
                .with_for_update()
            ).one()
            now = self._now()
            if row.blocked_until is not None and row.blocked_until > now:
                return (row.blocked_until - now).total_seconds(), True
            elapsed = max(0.0, (now - row.refreshed_at).total_seconds())
            tokens = min(self.capacity, row.tokens + elapsed * self.rate_per_second)
            if tokens < 1.0 - 1e-6:
                connection.execute(
                    sa.update(table).where(table.c.account_id == self.account_id, table.c.api == self.api)
                    .values(tokens=tokens, refreshed_at=now)
                )
                # At least a millisecond: timestamps are stored to the microsecond, so a smaller wait could
                # refill nothing and spin.
                return max(0.001, (1.0 - tokens) / self.rate_per_second), False
            connection.execute(
                sa.update(table).where(table.c.account_id == self.account_id, table.c.api == self.api)
                .values(tokens=max(0.0, tokens - 1.0), refreshed_at=now, blocked_until=None)
            )
            return 0.0, False
