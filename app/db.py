"""Storage: one SQLAlchemy engine per app, sessions, and the column types every table shares.

SQLite is the embedded default; PostgreSQL is used wherever several processes share the work. Both run the
same Alembic migrations (``flask db upgrade``), and every query here works on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

EXTENSION_KEY = "deskmate.storage"

# JSON everywhere, stored as JSONB on PostgreSQL so that it can be indexed when a plugin needs it.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python and naive UTC in the database.

    SQLite has no time zones; storing naive UTC everywhere keeps comparisons identical on both databases.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware value")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base for the core's and every plugin's tables (one metadata, one migration history)."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


@dataclass
class _StorageState:
    engine: Engine
    sessions: sessionmaker[Session]
    reader: Engine
    # Connections held outside the pool's checkout/checkin cycle (the webhook group committer's) are closed
    # by their owners when the storage is disposed.
    on_dispose: list[Callable[[], None]] = field(default_factory=list)


class Storage:
    """The storage extension. Config keys read by ``init_app``: ``database_url`` (``DESKMATE_DATABASE_URL``)."""

    def init_app(self, app: Flask) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("Storage.init_app was called twice on the same app")
        url = app.config["DESKMATE"].database_url
        engine = make_engine(url, instance_path=app.instance_path)
        # On SQLite every transaction of `engine` starts with BEGIN IMMEDIATE (it may write); short reads that
        # can happen while this process holds the write lock elsewhere use a reader whose transactions are
        # deferred, which WAL never blocks. On PostgreSQL both are the same engine.
        reader = make_engine(url, instance_path=app.instance_path, writer=False) if engine.dialect.name == "sqlite" \
            else engine
        app.extensions[EXTENSION_KEY] = _StorageState(
            engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), reader=reader
        )

    @staticmethod
    def _state(app: Flask | None = None) -> _StorageState:
        app = app or current_app
        try:
            state: _StorageState = app.extensions[EXTENSION_KEY]
            return state
        except KeyError:
            raise RuntimeError("Storage is not initialised: call storage.init_app(app) first") from None

    def engine(self, app: Flask | None = None) -> Engine:
        return self._state(app).engine

    def reader(self, app: Flask | None = None) -> Engine:
        """An engine for read-only queries that must never wait for a write lock (see ``init_app``)."""
        return self._state(app).reader

    def dispose(self, app: Flask | None = None) -> None:
        """Close every pooled connection (tests, and processes about to fork)."""
        state = self._state(app)
        for close in state.on_dispose:
            close()
        state.engine.dispose()
        if state.reader is not state.engine:
            state.reader.dispose()

    def on_dispose(self, app: Flask, close: Callable[[], None]) -> None:
        """Have ``close`` called by ``dispose`` (for a connection kept outside the pool's cycle)."""
        self._state(app).on_dispose.append(close)

    def sessions(self, app: Flask | None = None) -> sessionmaker[Session]:
        return self._state(app).sessions

    @contextmanager
    def session(self, app: Flask | None = None) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any exception."""
        with self.sessions(app).begin() as session:
            yield session


storage = Storage()


def make_engine(url: str, *, instance_path: str | None = None, writer: bool = True) -> Engine:
    """Create an engine tuned for Deskmate's access pattern on SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and not Path(database).is_absolute() and instance_path:
            # Relative SQLite paths are relative to the working directory; make sure the folder exists.
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error's message would otherwise carry the statement's values (ticket
        # subjects, emails, payloads) into every log that records it.
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT (which isolates each plugin's event handling)
        # and starts transactions as DEFERRED, where a read followed by a write fails with SQLITE_BUSY_SNAPSHOT
        # whenever another connection wrote in between. So: no driver transactions, and BEGIN IMMEDIATE.
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql(begin))
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No pre-ping: it costs a round trip on every checkout, a third of a webhook's database time. A connection
    # that died (a database restart) fails one request, which the sender retries, and the pool replaces it.
    # preserve_rowcount: psycopg reports -1 for an INSERT's rowcount unless asked to keep it, and
    # ``enqueue``/``emit`` answer "was it new?" from the rowcount of INSERT ... ON CONFLICT DO NOTHING.
    engine = sa.create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800, hide_parameters=True,
                              execution_options={"preserve_rowcount": True})
    event.listen(engine, "handle_error", _without_row_values)
    return engine


def _without_row_values(context: Any) -> None:
    """Keep PostgreSQL's error message to its first line: its DETAIL repeats row values ("Key (account_id,
    event_key)=(1, ...) already exists", "Failing row contains (...)"), which ``hide_parameters`` does not
    reach. The driver's exception keeps them in ``diag`` for code that needs them."""
    for error in (context.original_exception, context.sqlalchemy_exception):
        message = error.args[0] if error is not None and error.args else None
        if isinstance(message, str) and "\nDETAIL:" in message:
            kept = [line for line in message.split("\n") if not line.startswith("DETAIL:")]
            error.args = ("\n".join(kept), *error.args[1:])


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the web process read while the worker writes; busy_timeout makes writers queue, not fail.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_for(bind: Session | sa.Connection | Engine, target: Any) -> Any:
    """An INSERT for ``target`` that offers ``on_conflict_do_nothing()`` on PostgreSQL and SQLite alike.

    Unique keys are how Deskmate does things once; this is the statement that uses them.
    """
    engine_or_connection = bind.get_bind() if isinstance(bind, Session) else bind
    dialect = engine_or_connection.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(target)


def table_of(model: type[Base]) -> sa.Table:
    """A mapped class's table, typed as the Table it is (mypy sees ``__table__`` as a FromClause)."""
    return model.__table__  # type: ignore[return-value]


def rowcount(result: Any) -> int:
    """Rows an INSERT/UPDATE/DELETE touched (``Result`` is typed without ``rowcount``)."""
    return int(result.rowcount)


def utcnow() -> datetime:
    """The wall clock in UTC. Code that decides on time asks the app's clock (``app.clock``) instead."""
    return datetime.now(UTC)
