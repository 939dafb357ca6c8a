"""Group commit for inbound events: concurrent requests in one process share one INSERT and one COMMIT.

A webhook is answered only after its row is committed (an acknowledged delivery is never lost), so each
request waits for a database round trip and a WAL flush. Under a spike many requests wait at once; rather
than queueing them one transaction each, the first to arrive becomes the leader: it takes every row waiting
at that moment, writes them with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` and hands each
follower its answer. Nobody waits for a timer: an idle server writes a lone row at once, and batches form
only while a write is already in flight.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from app.db import table_of
from app.models import InboundEvent

COLUMNS = ("account_id", "source", "event_type", "ticket_id", "event_key", "invocation_id", "payload",
           "state", "attempts", "received_at", "next_attempt_at")
MAX_BATCH = 200


@dataclass
class _Pending:
    values: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    stored: bool = False
    error: BaseException | None = None


class GroupCommitter:
    """Insert inbound events on PostgreSQL, batching whatever arrives while a write is in flight."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._waiting: list[_Pending] = []
        self._leader_active = False

    def store(self, values: dict[str, Any]) -> bool:
        """Insert one event (or find it a duplicate); True if this call stored it. Blocks until committed."""
        mine = _Pending(values)
        with self._lock:
            self._waiting.append(mine)
            lead = not self._leader_active
            if lead:
                self._leader_active = True
        if lead:
            self._lead()
        mine.done.wait()
        if mine.error is not None:
            raise mine.error
        return mine.stored

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                if not batch:
                    self._leader_active = False
                    return
            try:
                self._write(batch)
            except BaseException as exc:  # every waiter must wake up, with the error if there was one
                for pending in batch:
                    pending.error = exc
            finally:
                for pending in batch:
                    pending.done.set()

    def _write(self, batch: list[_Pending]) -> None:
        # Within a batch the first delivery of an event wins; later copies are duplicates like any other.
        first: dict[tuple[int, str], _Pending] = {}
        invocations: set[tuple[int, str]] = set()
        rows = []
        for pending in batch:
            key = (pending.values["account_id"], pending.values["event_key"])
            invocation = pending.values["invocation_id"]
            if key in first or (invocation and (key[0], invocation) in invocations):
                continue
            first[key] = pending
            if invocation:
                invocations.add((key[0], invocation))
            rows.append({name: pending.values[name] for name in COLUMNS})
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # One statement is one transaction: the rows commit together, and only then are answers given.
            # Executed with a list, SQLAlchemy sends one multi-row INSERT from a statement compiled once.
            result = connection.execute(_pg_insert(), rows)
            inserted = {(row.account_id, row.event_key) for row in result}
        for key, pending in first.items():
            pending.stored = key in inserted


@functools.cache
def _pg_insert() -> Any:
    table = table_of(InboundEvent)
    parameters = {name: sa.bindparam(name, type_=table.c[name].type) for name in COLUMNS}
    return postgresql.insert(table).values(parameters).on_conflict_do_nothing() \
        .returning(table.c.account_id, table.c.event_key)


def single_insert(engine: Engine, values: dict[str, Any]) -> bool:
    """Insert one event in its own transaction (SQLite, where one process writes at a time anyway)."""
    from sqlalchemy.dialects import sqlite

    table = table_of(InboundEvent)
    parameters = {name: sa.bindparam(name, type_=table.c[name].type) for name in COLUMNS}
    statement = sqlite.insert(table).values(parameters).on_conflict_do_nothing().returning(table.c.id)
    with engine.begin() as connection:
        return connection.execute(statement, values).first() is not None
