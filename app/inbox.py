"""The inbox: how every inbound event is stored, whatever its source, and how workers claim them.

Three sources write here: helpdesk webhooks (``app.webhooks``, after the signature is checked), Slack
interactions (``app.slack_interactions``) and plugins telling each other something (``PluginContext.emit``).
Each body is read by ``app.events.normalise`` before it is stored, so a malformed one is refused at the door
(``EventError`` names the field) rather than failing in the worker; the worker reads stored rows with the same
function. One row per event: its key (``evt:<id>``, ``body:<sha256>``, ``slack:<sha256>``,
``<plugin>:<key>``) and, for webhooks, the delivery's invocation id are unique, so a repeated delivery or
emission stores nothing.

Web requests store with ``store``, outside any transaction, and answer only once the row is committed (an
acknowledged delivery is never lost). On PostgreSQL concurrent requests in one process share one INSERT and one
COMMIT (``GroupCommitter``): the first to arrive becomes the leader, takes every row waiting at that moment,
writes them with one multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` and hands each follower its
answer. Nobody waits for a timer: an idle server writes a lone row at once, and batches form only while a write
is already in flight. ``emit`` stores in the caller's transaction instead, so that an emission commits with
the plugin's other writes or not at all. ``claim`` leases due events to a worker (``FOR UPDATE SKIP LOCKED``
on PostgreSQL).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.db import insert_for, rowcount, storage, table_of
from app.events import Event, normalise
from app.models import EVENTS_OPEN, InboundEvent
from app.workqueue import Backoff, fair_due_ids, round_robin

EXTENSION_KEY = "deskmate.inbox"
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
        self._raw: Any = None
        self._raw_pid = 0

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
                self._write_isolating_bad_rows(batch)
            except BaseException as exc:  # every waiter must wake up, with the error if there was one
                for pending in batch:
                    pending.error = exc
            finally:
                for pending in batch:
                    pending.done.set()

    def _connection(self) -> Any:
        # Only the leader writes, one batch at a time, so one connection per process is enough. It is the
        # driver's own connection in autocommit mode, kept for the process's life: a pool checkout, an
        # isolation-level switch and SQLAlchemy's execution context per batch cost a fifth of the view's CPU
        # time, for a statement that needs none of them. A forked process (gunicorn) opens its own.
        if self._raw is None or self._raw_pid != os.getpid() or self._raw.driver_connection.closed:
            self._raw = self.engine.raw_connection()
            self._raw.driver_connection.autocommit = True
            self._raw_pid = os.getpid()
        return self._raw.driver_connection

    def close(self) -> None:
        """Close the kept connection (the storage's ``dispose`` calls this); the next write opens another."""
        self._discard_connection()

    def _discard_connection(self) -> None:
        # Invalidated, never returned: the pool must not hand an autocommit connection to anyone else.
        raw, self._raw = self._raw, None
        if raw is not None and self._raw_pid == os.getpid():
            raw.invalidate()

    def _write_isolating_bad_rows(self, batch: list[_Pending]) -> None:
        try:
            self._write(batch)
        except sa.exc.DataError:
            # A row PostgreSQL refuses (a \u0000 in a JSON string) must fail its own delivery, not its batch.
            if len(batch) == 1:
                raise
            for pending in batch:
                try:
                    self._write([pending])
                except sa.exc.DataError as exc:
                    pending.error = exc

    def _write(self, batch: list[_Pending]) -> None:
        # Within a batch the first delivery of an event wins; later copies are duplicates like any other.
        first: dict[tuple[int, str], _Pending] = {}
        invocations: set[tuple[int, str]] = set()
        parameters: list[Any] = []
        for pending in batch:
            key = (pending.values["account_id"], pending.values["event_key"])
            invocation = pending.values["invocation_id"]
            if key in first or (invocation and (key[0], invocation) in invocations):
                continue
            first[key] = pending
            if invocation:
                invocations.add((key[0], invocation))
            parameters.extend(_row_parameters(pending.values))
        # One statement is one transaction (autocommit): the rows commit together, and only then are answers
        # given. The SQL is written once per batch size rather than compiled by SQLAlchemy on every call: the
        # PostgreSQL INSERT construct with ON CONFLICT has no cache key, so SQLAlchemy compiled it for every
        # batch, about 40% of the webhook view's CPU time in a profile under load.
        sql = _pg_insert_sql(len(first))
        try:
            with self._connection().cursor() as cursor:
                cursor.execute(sql, parameters)
                inserted = {(row[0], row[1]) for row in cursor.fetchall()}
        except psycopg.Error as exc:
            if not isinstance(exc, psycopg.errors.DataError | psycopg.errors.IntegrityError):
                self._discard_connection()  # the connection may be broken; a data error leaves it usable
            # Raised as SQLAlchemy's exception classes, like every other database error in Deskmate.
            raise sa.exc.DBAPIError.instance(sql, None, exc, psycopg.Error) from exc
        for key, pending in first.items():
            pending.stored = key in inserted


@functools.lru_cache(maxsize=MAX_BATCH)
def _pg_insert_sql(rows: int) -> str:
    placeholders = ", ".join("%s::jsonb" if name == "payload" else "%s" for name in COLUMNS)
    values = ", ".join([f"({placeholders})"] * rows)
    # Only constants go into this text (the table and column names, placeholders); the values are parameters.
    return (f"INSERT INTO {table_of(InboundEvent).name} ({', '.join(COLUMNS)}) VALUES {values} "  # noqa: S608
            "ON CONFLICT DO NOTHING RETURNING account_id, event_key")


def _row_parameters(values: dict[str, Any]) -> list[Any]:
    """One row's parameters in COLUMNS order, converted as the column types would (JSON text, naive UTC)."""
    out: list[Any] = []
    for name in COLUMNS:
        value = values[name]
        if name == "payload":
            value = values.get("payload_json") or json.dumps(value, separators=(",", ":"))
        elif isinstance(value, datetime):
            value = value.astimezone(UTC).replace(tzinfo=None)
        out.append(value)
    return out


def _single_insert(engine: Engine, values: dict[str, Any]) -> bool:
    """Insert one event in its own transaction (SQLite, where one process writes at a time anyway)."""
    from sqlalchemy.dialects import sqlite

    table = table_of(InboundEvent)
    parameters = {name: sa.bindparam(name, type_=table.c[name].type) for name in COLUMNS}
    statement = sqlite.insert(table).values(parameters).on_conflict_do_nothing().returning(table.c.id)
    with engine.begin() as connection:
        return connection.execute(statement, values).first() is not None


# --- storing ------------------------------------------------------------------------------------------------


def created_key(ticket_id: int) -> str:
    """The key of a ticket's creation, whoever stores it: a webhook, or the catch-up after an outage
    (``app.catch_up``). A ticket is created once, so whichever of the two comes second is a duplicate."""
    return f"ticket:{ticket_id}:created"


def comment_key(ticket_id: int, comment_id: Any) -> str:
    """The key of a comment added to a ticket, whoever stores it: a webhook, or the catch-up reading the ticket
    event export. A comment is added once, so whichever of the two comes second is a duplicate."""
    return f"ticket:{ticket_id}:comment:{comment_id}"


def delivery_key(body: dict[str, Any], raw: bytes, event: Event | None = None) -> str:
    """The key that makes a helpdesk delivery a duplicate: a creation's ``created_key``, a comment's
    ``comment_key``; otherwise its event id, or (Deskmate's trigger payload has none) the rendered body, which
    carries the update time."""
    if event is not None and event.type == "ticket.created" and event.ticket is not None:
        return created_key(event.ticket.id)
    if event is not None and event.type == "ticket.comment_added" and event.ticket is not None:
        comment_id = (event.data.get("comment") or {}).get("id")
        if isinstance(comment_id, (int, str)) and str(comment_id).isdigit():
            return comment_key(event.ticket.id, int(comment_id))
    if body.get("deskmate") == 1:
        return "body:" + hashlib.sha256(raw).hexdigest()
    return f"evt:{body['id']}"


def accept_webhook(app: Flask, *, account_id: int, body: Any, raw: bytes, invocation_id: str | None,
                   now: datetime) -> bool:
    """Read a verified helpdesk webhook body and store it; True if stored, False if a duplicate.

    Raises:
        EventError: the body is not an event Deskmate understands (answer 422).
    """
    event = normalise(body, received_at=now)
    return store(app, account_id=account_id, source="zendesk", event_type=event.type, ticket_id=event.ticket_id,
                 event_key=delivery_key(body, raw, event), invocation_id=invocation_id, payload=body, now=now,
                 raw=raw)


def store(app: Flask, *, account_id: int, source: str, event_type: str, ticket_id: int | None, event_key: str,
          payload: dict[str, Any], now: datetime, invocation_id: str | None = None, raw: bytes | None = None) -> bool:
    """Insert an inbound event unless its event key or invocation id is already stored; True if inserted.

    For web requests (outside any transaction): returns only once the row is committed. ``raw``, when given, is
    the JSON text ``payload`` was parsed from: stored as it is, it need not be serialised again.
    """
    values = {"account_id": account_id, "source": source, "event_type": event_type, "ticket_id": ticket_id,
              "event_key": event_key, "invocation_id": invocation_id, "payload": payload, "state": "pending",
              "attempts": 0, "received_at": now, "next_attempt_at": now}
    if raw is not None:
        values["payload_json"] = raw.decode("utf-8")
    committer: GroupCommitter | None = app.extensions.get(EXTENSION_KEY)
    if committer is not None:
        return committer.store(values)
    return _single_insert(storage.engine(app), values)


def inbox_payload(*, data: dict[str, Any], now: datetime, ticket: dict[str, Any] | None = None,
                  ticket_id: int | None = None) -> dict[str, Any]:
    """The stored body of an event Deskmate itself records (a Slack interaction, a plugin's emission)."""
    return {"ticket": ticket, "ticket_id": ticket_id, "data": data, "time": now.isoformat()}


def emit(session: Session, *, account_id: int, source: str, event_type: str, key: str, data: dict[str, Any],
         now: datetime, ticket: dict[str, Any] | None = None, ticket_id: int | None = None) -> bool:
    """Store an event in ``session``'s transaction (a plugin's emission); True unless ``key`` was stored."""
    payload = inbox_payload(data=data, now=now, ticket=ticket, ticket_id=ticket_id)
    insert = insert_for(session, InboundEvent).values(
        account_id=account_id, source=source, event_type=event_type,
        ticket_id=ticket_id or (ticket or {}).get("id"), event_key=key, invocation_id=None, payload=payload,
        state="pending", attempts=0, received_at=now, next_attempt_at=now,
    ).on_conflict_do_nothing()
    return rowcount(session.execute(insert)) > 0


# --- claiming and reading -------------------------------------------------------------------------------------


def due_condition(now: datetime) -> Any:
    """The events a claim may take at ``now``: pending and due, or processing with a lapsed lease.

    ``EVENTS_OPEN`` (literal SQL) is the predicate of the partial index ``ix_inbound_events_claim`` on
    (account_id, id): only with it in the WHERE do SQLite and PostgreSQL's generic plans (psycopg prepares a
    statement from its sixth run) read that index, in (account_id, id) order, stopping after the claim's share.
    With the states as bound parameters PostgreSQL walked the primary key past a whole backlog instead.
    """
    table = table_of(InboundEvent)
    return sa.and_(EVENTS_OPEN,
                   sa.or_(sa.and_(table.c.state == "pending", table.c.next_attempt_at <= now),
                          sa.and_(table.c.state == "processing", table.c.locked_until < now)))


def claim(engine: Engine, *, worker_id: str, now: datetime, lease_seconds: float, limit: int,
          max_attempts: int | None = None) -> list[int]:
    """Lease up to about ``limit`` due events (pending, or processing with a lapsed lease) to ``worker_id``.

    Every account with due events gets a fair share of the batch (``workqueue.fair_due_ids``): one account's
    backlog no longer delays the others'. The ids come in the order to handle them: round robin across
    accounts, each account's events oldest first, so a ticket's events are still handled in arrival order.
    An event claimed more than ``max_attempts`` times (its workers kept dying on it, so no outcome was ever
    recorded) fails for good here instead of being leased again.
    """
    table = table_of(InboundEvent)
    with engine.begin() as connection:
        ids = fair_due_ids(connection, table, due=due_condition(now), order=(table.c.account_id, table.c.id),
                           limit=limit)
        if ids is None:
            return []
        statement = (
            sa.update(table)
            .where(table.c.id.in_(ids))
            .values(state="processing", attempts=table.c.attempts + 1, locked_by=worker_id,
                    locked_until=now + timedelta(seconds=lease_seconds))
            .returning(table.c.id, table.c.account_id, table.c.attempts)
        )
        rows = connection.execute(statement).all()
        exhausted = [row.id for row in rows if max_attempts is not None and row.attempts > max_attempts]
        if exhausted:
            connection.execute(sa.update(table).where(table.c.id.in_(exhausted)).values(
                state="failed", locked_by=None, locked_until=None, processed_at=now,
                last_error=f"attempts exhausted: no outcome recorded in {max_attempts} attempts "
                           "(the worker handling it was lost each time)"))
    return [row.id for row in round_robin(rows, key=lambda row: row.id) if row.id not in exhausted]


def extend_lease(engine: Engine, event_ids: set[int], *, worker_id: str, until: datetime) -> set[int]:
    """Push the lease of claimed events to ``until``; returns the ids ``worker_id`` still holds.

    A batch is handled one event at a time: without this, the last events' leases could lapse while the first
    are handled, and another worker would take them (handling them out of order, or twice).
    """
    if not event_ids:
        return set()
    table = table_of(InboundEvent)
    statement = (
        sa.update(table)
        .where(table.c.id.in_(sorted(event_ids)), table.c.state == "processing", table.c.locked_by == worker_id)
        .values(locked_until=until)
        .returning(table.c.id)
    )
    with engine.begin() as connection:
        return {row.id for row in connection.execute(statement)}


def record_failure(engine: Engine, event_id: int, *, worker_id: str, error: str, now: datetime, backoff: Backoff,
                   max_attempts: int) -> str | None:
    """Record that handling a claimed event raised outside any plugin (the core failed on it).

    The event alone is set aside: tried again after ``backoff`` for the plugins still to see it, or failed for
    good once it has had ``max_attempts``. Returns the new state, or None when the lease was lost meanwhile.
    """
    table = table_of(InboundEvent)
    mine = sa.and_(table.c.id == event_id, table.c.state == "processing", table.c.locked_by == worker_id)
    with engine.begin() as connection:
        attempts = connection.scalar(sa.select(table.c.attempts).where(mine).with_for_update())
        if attempts is None:
            return None
        values: dict[str, Any] = {"locked_by": None, "locked_until": None, "last_error": error[:2000]}
        if attempts >= max_attempts:
            values.update(state="failed", processed_at=now)
        else:
            values.update(state="pending", next_attempt_at=now + backoff.delay(attempts))
        connection.execute(sa.update(table).where(mine).values(**values))
    return str(values["state"])


def retry_failed(session: Session, *, account_id: int, event_ids: Iterable[int] | None, now: datetime) -> int:
    """Queue failed events (all of the account's, or the listed ones) again with a fresh set of attempts, for
    the plugins that failed on them (``pending_plugins``; every plugin when the core could not handle it)."""
    table = table_of(InboundEvent)
    statement = sa.update(table).where(table.c.account_id == account_id, table.c.state == "failed")
    if event_ids is not None:
        statement = statement.where(table.c.id.in_(list(event_ids)))
    statement = statement.values(state="pending", attempts=0, next_attempt_at=now, processed_at=None,
                                 locked_by=None, locked_until=None)
    return rowcount(session.execute(statement))


def event_of(row: InboundEvent) -> Event:
    """The typed event of a stored row (``EventError`` when the row cannot be read, e.g. an older row)."""
    return normalise(row.payload, source=row.source, event_type=row.event_type, row_id=row.id,
                     account_id=row.account_id, received_at=row.received_at)


def init_app(app: Flask) -> None:
    """On PostgreSQL, web requests store through a group committer (closed when the storage is disposed)."""
    engine = storage.engine(app)
    if engine.dialect.name == "postgresql":
        committer = GroupCommitter(engine)
        app.extensions[EXTENSION_KEY] = committer
        storage.on_dispose(app, committer.close)

