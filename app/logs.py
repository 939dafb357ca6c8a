"""Structured logs: one JSON object a line in production, readable lines in development."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


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
    if log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
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
