"""Structured logs: one JSON object a line in production, readable lines in development.

Every line carries what it is about, when that is known: the account (its subdomain), the inbound event
(``event_id``) and its ``ticket_id``, the work item (``work_key``, ``work_item_id``, ``work_kind``), the timer
pass (``timer``). The worker sets them around each event, work item and timer pass with ``log_context``; the
web takes the request's account (``g.account``), or ``bind`` where a request finds its account itself
(webhooks, Slack interactions). They live in a ``contextvars`` variable, so each thread (and each task) has its
own, and ``ContextFilter`` adds them to every record the handler writes, whichever library logged it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from flask import Flask, g, has_app_context, has_request_context

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_context: ContextVar[Mapping[str, Any]] = ContextVar("deskmate_log_context", default=MappingProxyType({}))


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (None ones left out) to every log line written inside, in this thread or task only."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def bind(**fields: Any) -> None:
    """Add ``fields`` to the current context until the enclosing ``log_context`` (or request) ends."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})


def current_context() -> dict[str, Any]:
    """The fields every log line written here now carries (tests, and handing them to another thread)."""
    fields = dict(_context.get())
    if has_request_context() and has_app_context() and "account" not in fields:
        account = g.get("account")
        if account is not None:
            fields["account"] = account.subdomain
    return fields


class ContextFilter(logging.Filter):
    """Adds the current context's fields to each record (a field the call passed in ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_context().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class TextFormatter(logging.Formatter):
    """Readable lines for development, the context in brackets at the end: ``[account=acme event_id=12]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [f"{key}={record.__dict__[key]}" for key in CONTEXT_FIELDS if key in record.__dict__]
        return f"{line} [{' '.join(fields)}]" if fields else line


# The context fields in the order the text format shows them.
CONTEXT_FIELDS = ("account", "event_id", "ticket_id", "work_kind", "work_key", "work_item_id", "work_keys", "timer")


def init_app(app: Flask) -> None:
    """Give each web request a context of its own: a server thread serves many requests in turn."""
    app.before_request(_open_request_context)
    app.teardown_request(_close_request_context)


def _open_request_context() -> None:
    g.deskmate_log_context = _context.set(MappingProxyType({}))


def _close_request_context(_exc: BaseException | None) -> None:
    token = g.pop("deskmate_log_context", None)
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # torn down in another context than it was opened in: forget what it bound
            _context.set(MappingProxyType({}))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in record.__dict__.items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _MigrationNews(logging.Filter):
    """Alembic's warnings, and its line per migration ("Running upgrade a -> b") at DEBUG only: app.migrate says
    in one line how many ran. Never its set-up chatter ("Context impl SQLiteImpl", "Will assume transactional
    DDL"), which every command that looks at the schema would print."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return record.getMessage().startswith("Running ") and logging.getLogger().isEnabledFor(logging.DEBUG)


def configure(log_format: str, level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Library chatter about every HTTP request drowns what matters.
    for noisy in ("urllib3", "apscheduler", "werkzeug", "zenpy"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Alembic logs the plugins it sets up on import; a migration is news only when one runs.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(logging.WARNING, root.level))
    migration = logging.getLogger("alembic.runtime.migration")
    migration.filters = [f for f in migration.filters if not isinstance(f, _MigrationNews)]
    migration.addFilter(_MigrationNews())
