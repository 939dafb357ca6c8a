"""Durable work: the outbox of side effects, claimed by workers, retried with backoff, never dropped.

A work item is unique by ``(account_id, idempotency_key)``: enqueueing the same side effect twice is a no-op,
so an event handled twice, a timer pass run by two workers, or a release run again cannot do anything twice.
Items are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers, so the same
statement is atomic there). A claimed item carries a lease; when a worker dies, the lease runs out and another
worker claims the item again, with ``attempts`` telling the handler that it may already have happened.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from app.db import insert_for, rowcount, table_of
from app.models import WORK_OPEN, Account, WorkItem

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"
STATES = (PENDING, RUNNING, DONE, FAILED, CANCELLED)


class RetryLater(Exception):
    """Raised by a handler to try again at ``at`` without spending an attempt (rate limits, job in progress)."""

    def __init__(self, at: datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (record gone, invalid request): the item fails now."""


@dataclass(frozen=True)
class ClaimedItem:
    """A work item as its handler sees it."""

    id: int
    account_id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    after_key: str | None
    result: dict[str, Any] | None

    @property
    def is_retry(self) -> bool:
        """True when an earlier attempt may have performed the side effect (check before doing it again)."""
        return self.attempts > 1


@dataclass(frozen=True)
class Done:
    result: dict[str, Any] | None = None


@dataclass(frozen=True)
class Retry:
    error: str
    at: datetime | None = None  # None: exponential backoff; a time: deferred without spending an attempt


@dataclass(frozen=True)
class Fail:
    error: str


Outcome = Done | Retry | Fail


class WorkContextLike(Protocol):
    """What a handler gets besides its items (a ``PluginContext``, see ``app.plugins``)."""

    account_id: int

    def now(self) -> datetime: ...


SingleHandler = Callable[[ClaimedItem, Any], "dict[str, Any] | None"]


@dataclass
class BatchHandler:
    """A handler that performs up to ``max_batch`` due items of its kind in one go (e.g. ``update_many``)."""

    run: Callable[[list[ClaimedItem], Any], Mapping[int, Outcome]]
    max_batch: int = 100


Handler = SingleHandler | BatchHandler


@dataclass
class Backoff:
    """Exponential backoff with full jitter: attempt n waits a random time up to ``base * 2**(n-1)``."""

    base_seconds: float = 5.0
    cap_seconds: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempts: int) -> timedelta:
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempts - 1)))
        # Half fixed, half random: never immediate, and retries from many items spread out.
        return timedelta(seconds=ceiling / 2 + self.rng.uniform(0, ceiling / 2))


def enqueue(
    session: Session,
    *,
    account_id: int,
    kind: str,
    key: str,
    payload: Mapping[str, Any],
    now: datetime,
    due_at: datetime | None = None,
    after: str | None = None,
    max_attempts: int = 8,
    created_by: str | None = None,
) -> bool:
    """Add a side effect to the outbox in the caller's transaction. Returns False if its key already exists."""
    if not key or len(key) > 255:
        raise ValueError("an idempotency key is required and at most 255 characters long")
    statement = (
        insert_for(session, WorkItem)
        .values(
            account_id=account_id,
            kind=kind,
            idempotency_key=key,
            payload=dict(payload),
            after_key=after,
            state=PENDING,
            attempts=0,
            max_attempts=max_attempts,
            next_attempt_at=due_at or now,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    return rowcount(session.execute(statement)) > 0


def fair_due_ids(connection: Connection, table: sa.Table, *, due: Any, order: Sequence[Any],
                 limit: int) -> Any | None:
    """A subquery of the ids to claim: up to an equal share of ``limit`` from every account with due rows,
    each account's oldest first by ``order``; None when nothing is due.

    Claiming in global arrival order let one account's spike (thousands of events from one live stream) delay
    every other account's routing and SLA alerts by the whole backlog. Each account gets ``limit / accounts``
    per claim instead, so an account with a handful of rows is served in the next claim however long another's
    queue is, and one busy account alone still fills whole batches. ``due`` is the condition on ``table``
    (correlated subqueries allowed); within one account the order is kept (the events of a ticket stay in
    order). On PostgreSQL each account's share is locked ``FOR UPDATE SKIP LOCKED`` in a subquery of its own,
    so concurrent claimers take different rows of the same account; SQLite serialises writers, and the caller's
    UPDATE makes the claim atomic there.
    """
    accounts = table_of(Account)
    busy = list(connection.scalars(
        sa.select(accounts.c.id).where(sa.exists().where(table.c.account_id == accounts.c.id, due))
        .order_by(accounts.c.id)))
    if not busy:
        return None
    if len(busy) > limit:  # more accounts waiting than rows to take: a random few, one row each
        busy = sorted(random.sample(busy, limit))
    # Written into the SQL, as the index predicates are: a generic plan does not know a bound LIMIT and costs
    # the ordered index scan that stops after ``share`` rows as if it read a tenth of the table.
    share = sa.literal_column(str(math.ceil(limit / len(busy))), sa.Integer)
    # One arm per account, its id written into the SQL: the planner then knows from the column's statistics
    # that a quiet account has a handful of rows and reads them from the claim index, where a join parameter
    # (a LATERAL over a VALUES list) looked like any account and walked the primary key past a busy account's
    # whole backlog (180 ms at a million pending events). On PostgreSQL each arm locks its share FOR UPDATE SKIP
    # LOCKED, so concurrent claimers take different rows of the same account; SQLite serialises writers.
    arms = []
    for account_id in busy:
        arm = (sa.select(table.c.id).where(table.c.account_id == sa.literal(account_id, sa.Integer,
                                                                              literal_execute=True), due)
               .order_by(*order).limit(share))
        if connection.dialect.name == "postgresql":
            arm = arm.with_for_update(skip_locked=True)
        arms.append(arm.subquery())
    return sa.select(sa.union_all(*(sa.select(arm.c.id) for arm in arms)).subquery().c.id).scalar_subquery()


def round_robin(rows: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    """Claimed rows in the order to handle them: each account's first, then each one's second, and so on,
    every account's own rows in ``key`` order. A batch handled in turn then serves every account early."""
    per_account: dict[int, list[Any]] = {}
    for row in sorted(rows, key=key):
        per_account.setdefault(row.account_id, []).append(row)
    ranked = [(rank, account_id, row) for account_id, own in per_account.items() for rank, row in enumerate(own)]
    return [row for _, _, row in sorted(ranked, key=lambda entry: (entry[0], entry[1]))]


def claim(
    engine: Engine, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
) -> list[ClaimedItem]:
    """Claim up to about ``limit`` due items (pending and due, or running with an expired lease), a fair share
    from each account with due items (``fair_due_ids``), in round-robin order across accounts."""
    w = table_of(WorkItem)
    dependency = sa.alias(w, "dependency")
    prerequisite_done = sa.exists().where(
        dependency.c.account_id == w.c.account_id,
        dependency.c.idempotency_key == w.c.after_key,
        dependency.c.state == DONE,
    )
    # WORK_OPEN as literal SQL is the predicate of the partial index ix_work_items_claim on (account_id,
    # next_attempt_at, id): without it SQLite and PostgreSQL's generic plans cannot use that index. The bound on
    # next_attempt_at lets the scan stop at now, before items scheduled for later (SLA reminders, backoff); it
    # leaves out no running item with a lapsed lease, whose next_attempt_at was due when it was claimed and is
    # below locked_until.
    due = sa.and_(
        WORK_OPEN,
        w.c.next_attempt_at <= now,
        sa.or_(w.c.state == PENDING, sa.and_(w.c.state == RUNNING, w.c.locked_until < now)),
        sa.or_(w.c.after_key.is_(None), prerequisite_done),
    )
    with engine.begin() as connection:
        ids = fair_due_ids(connection, w, due=due, order=(w.c.account_id, w.c.next_attempt_at, w.c.id), limit=limit)
        if ids is None:
            return []
        statement = (
            sa.update(w)
            .where(w.c.id.in_(ids))
            .values(
                state=RUNNING,
                attempts=w.c.attempts + 1,
                locked_by=worker_id,
                locked_until=now + timedelta(seconds=lease_seconds),
                updated_at=now,
            )
            .returning(
                w.c.id, w.c.account_id, w.c.kind, w.c.idempotency_key, w.c.payload, w.c.attempts,
                w.c.max_attempts, w.c.after_key, w.c.result, w.c.next_attempt_at,
            )
        )
        rows = connection.execute(statement).all()
    claimed, exhausted = [], []
    for row in round_robin(rows, key=lambda row: (row.next_attempt_at, row.id)):
        if row.attempts > row.max_attempts:
            exhausted.append(row.id)
            continue
        claimed.append(
            ClaimedItem(row.id, row.account_id, row.kind, row.idempotency_key, row.payload, row.attempts,
                        row.max_attempts, row.after_key, row.result)
        )
    for item_id in exhausted:
        finish(engine, item_id, Fail("attempts exhausted: the worker running it was lost"), worker_id=worker_id,
               now=now, attempts=None, backoff=Backoff())
    return claimed


def extend_lease(engine: Engine, item_ids: Iterable[int], *, worker_id: str, until: datetime) -> set[int]:
    """Push the lease of claimed items to ``until``; returns the ids still held by ``worker_id``.

    A worker claims a batch and works through it; without this, the last items' leases could run out while
    the first are still being performed, and another worker would take them (and do them again).
    """
    ids = list(item_ids)
    if not ids:
        return set()
    w = table_of(WorkItem)
    statement = (
        sa.update(w)
        .where(w.c.id.in_(ids), w.c.state == RUNNING, w.c.locked_by == worker_id)
        .values(locked_until=until)
        .returning(w.c.id)
    )
    with engine.begin() as connection:
        return {row.id for row in connection.execute(statement)}


def finish(
    engine: Engine,
    item_id: int,
    outcome: Outcome,
    *,
    worker_id: str,
    now: datetime,
    attempts: int | None,
    backoff: Backoff,
    max_attempts: int | None = None,
) -> str:
    """Record an item's outcome and return its new state. Only the worker holding the lease may finish it."""
    w = table_of(WorkItem)
    mine = sa.and_(w.c.id == item_id, w.c.state == RUNNING, w.c.locked_by == worker_id)
    release = {"locked_by": None, "locked_until": None, "updated_at": now}
    with engine.begin() as connection:
        if isinstance(outcome, Done):
            values: dict[str, Any] = {**release, "state": DONE, "result": outcome.result, "finished_at": now,
                                      "last_error": None}
            new_state = DONE
        elif isinstance(outcome, Retry) and outcome.at is not None:
            values = {**release, "state": PENDING, "next_attempt_at": outcome.at, "last_error": outcome.error,
                      "attempts": sa.func.max(w.c.attempts - 1, 0) if engine.dialect.name == "sqlite"
                      else sa.func.greatest(w.c.attempts - 1, 0)}
            new_state = PENDING
        elif isinstance(outcome, Retry) and (attempts is None or max_attempts is None or attempts < max_attempts):
            delay = backoff.delay(attempts or 1)
            values = {**release, "state": PENDING, "next_attempt_at": now + delay, "last_error": outcome.error}
            new_state = PENDING
        else:
            error = outcome.error if isinstance(outcome, (Fail, Retry)) else "failed"
            values = {**release, "state": FAILED, "last_error": error, "finished_at": now}
            new_state = FAILED
        changed = rowcount(connection.execute(sa.update(w).where(mine).values(**values)))
        if not changed:
            return "lost"
        if new_state == FAILED:
            _fail_dependents(connection, item_id, now)
    return new_state


def _fail_dependents(connection: Connection, item_id: int, now: datetime) -> None:
    """Items waiting on a failed item can never run; fail them too, visibly, so nothing waits forever."""
    w = table_of(WorkItem)
    failed = connection.execute(sa.select(w.c.account_id, w.c.idempotency_key).where(w.c.id == item_id)).one()
    pending: list[tuple[int, str]] = [(failed.account_id, failed.idempotency_key)]
    while pending:
        account_id, key = pending.pop()
        rows = connection.execute(
            sa.update(w)
            .where(w.c.account_id == account_id, w.c.after_key == key, w.c.state == PENDING)
            .values(state=FAILED, last_error=f"prerequisite {key} failed", finished_at=now, updated_at=now)
            .returning(w.c.account_id, w.c.idempotency_key)
        ).all()
        pending.extend((row.account_id, row.idempotency_key) for row in rows)


def result_of(session: Session, account_id: int, key: str) -> dict[str, Any] | None:
    """The stored result of a done item (for example the Slack message a thread reply belongs to).

    Read in the caller's transaction: on SQLite a second connection would wait for the write lock that the
    caller's own transaction may hold.
    """
    w = table_of(WorkItem)
    row = session.execute(
        sa.select(w.c.result).where(w.c.account_id == account_id, w.c.idempotency_key == key, w.c.state == DONE)
    ).first()
    return row.result if row else None


def retry_failed(session: Session, *, account_id: int, item_ids: Iterable[int] | None, now: datetime) -> int:
    """Give failed items (all of the account's, or the listed ones) a fresh set of attempts."""
    statement = sa.update(WorkItem).where(WorkItem.account_id == account_id, WorkItem.state == FAILED)
    if item_ids is not None:
        statement = statement.where(WorkItem.id.in_(list(item_ids)))
    statement = statement.values(state=PENDING, attempts=0, next_attempt_at=now, updated_at=now, finished_at=None)
    return rowcount(session.execute(statement))


def counts_by_state(session: Session, account_id: int | None = None) -> dict[str, int]:
    statement = sa.select(WorkItem.state, sa.func.count()).group_by(WorkItem.state)
    if account_id is not None:
        statement = statement.where(WorkItem.account_id == account_id)
    counts = dict.fromkeys(STATES, 0)
    counts.update({state: count for state, count in session.execute(statement).all()})
    return counts
