"""/healthz, /metrics and one purge batch at 1k and 1M rows: the answer time must not grow with the history.

For each size, a scratch database (PostgreSQL, or a SQLite file with ``--sqlite``) is migrated and filled in
bulk with that many done inbound events and as many done work items, spread over the last 30 days, next to a
fixed backlog (200 pending events, 200 pending work items, 10 stuck, 10 failed of each). Then ``GET /healthz``
and ``GET /metrics`` are answered ``--repeat`` times through the Flask app (no HTTP server: the time is the
view's and the database's) and the median and 95th percentile counted; for contrast, the queries they ran
before (a GROUP BY state over every work item and a count of pending events) are timed the same way. Last, one
purge of a 14-day window in batches of 1,000 is timed (rows per second).

The last line printed is one JSON object:
    {"database": ..., "healthz_ms_1k": ..., "healthz_ms_1m": ..., "metrics_ms_1k": ..., "metrics_ms_1m": ...,
     "old_counts_ms_1k": ..., "old_counts_ms_1m": ..., "purge_rows_per_s_1m": ...}

Usage: .venv/bin/python bench/health_rows.py [--sizes 1000,1000000] [--repeat 30] [--sqlite]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import progress, scratch_postgres

BACKLOG, STUCK, FAILED = 200, 10, 10


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
    else:
        with scratch_postgres("deskmate_health") as url:
            yield url


def fill(engine: sa.Engine, size: int, account_id: int, now: datetime) -> None:
    """``size`` done events and work items over 30 days, then the backlog, stuck and failed rows."""
    naive = now.replace(tzinfo=None)
    if engine.dialect.name == "postgresql":
        series = f"generate_series(1, {size}) AS g"
        ago = f"(TIMESTAMP '{naive.isoformat()}' - (g * INTERVAL '1 second' * 2592000 / {size}))"
        source = f"FROM {series}"
        key = "'k' || g"
    else:
        source = (f"FROM (WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {size}) "  # noqa: S608 - numbers and constants of this script only
                  "SELECT g FROM s)")
        ago = f"datetime('{naive.isoformat(sep=' ')}', '-' || (g * 2592000 / {size}) || ' seconds')"
        key = "'k' || g"
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO inbound_events (account_id, source, event_type, ticket_id, event_key, payload, state, "
            "attempts, received_at, next_attempt_at, processed_at) "
            f"SELECT {account_id}, 'zendesk', 'ticket.updated', g, {key}, '{{}}', 'done', 1, {ago}, {ago}, {ago} "
            f"{source}")
        connection.exec_driver_sql(
            "INSERT INTO work_items (account_id, kind, idempotency_key, payload, state, attempts, max_attempts, "
            "next_attempt_at, created_at, updated_at, finished_at) "
            f"SELECT {account_id}, 'zendesk.ticket_update', {key}, '{{}}', 'done', 1, 8, {ago}, {ago}, {ago}, {ago} "
            f"{source}")
        now_text = f"'{naive.isoformat(sep=' ')}'"
        for n in range(BACKLOG + STUCK + FAILED):
            state, lease = ("pending", "NULL") if n < BACKLOG else (
                ("processing", f"'{naive.replace(year=naive.year - 1).isoformat(sep=' ')}'") if n < BACKLOG + STUCK
                else ("failed", "NULL"))
            connection.exec_driver_sql(
                "INSERT INTO inbound_events (account_id, source, event_type, ticket_id, event_key, payload, state, "  # noqa: S608 - numbers and constants of this script only
                "attempts, received_at, next_attempt_at, locked_until, processed_at) "
                f"VALUES ({account_id}, 'zendesk', 'ticket.updated', {n}, 'open{n}', '{{}}', '{state}', 1, "
                f"{now_text}, {now_text}, {lease}, {now_text if state == 'failed' else 'NULL'})")
            work_state = {"processing": "running"}.get(state, state)
            connection.exec_driver_sql(
                "INSERT INTO work_items (account_id, kind, idempotency_key, payload, state, attempts, max_attempts, "  # noqa: S608 - numbers and constants of this script only
                "next_attempt_at, locked_until, created_at, updated_at, finished_at) "
                f"VALUES ({account_id}, 'zendesk.ticket_update', 'open{n}', '{{}}', '{work_state}', 1, 8, "
                f"{now_text}, {lease}, {now_text}, {now_text}, {now_text if state == 'failed' else 'NULL'})")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE inbound_events")
            connection.exec_driver_sql("VACUUM ANALYZE work_items")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def timed(repeat: int, call: Any) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def run(size: int, sqlite: bool, repeat: int) -> dict[str, float]:
    from app import create_app
    from app.accounts import sync_default_account
    from app.clock import FakeClock
    from app.db import storage
    from app.migrate import upgrade
    from app.models import WorkerHeartbeat
    from app.retention import purge_account

    now = datetime.now(UTC).replace(microsecond=0)
    with database(sqlite) as url:
        app = create_app({"env": "test", "database_url": url, "secret_key": "x" * 40, "log_level": "WARNING",
                          "zendesk_subdomain": "acme", "zendesk_email": "bot@acme.example",
                          "zendesk_api_token": "t", "plugins": [], "sidebar_warm_cache": False},
                         app_clock=FakeClock(now))
        upgrade(app)
        account = sync_default_account(app, now)
        assert account is not None
        engine = storage.engine(app)
        started = time.perf_counter()
        fill(engine, size, account.id, now)
        progress(f"{size:,} rows of each table filled in {time.perf_counter() - started:.1f} s")
        with storage.session(app) as session:
            session.add(WorkerHeartbeat(worker_id="bench", hostname="bench", pid=1, started_at=now,
                                        last_seen_at=now, items_done=0))
        client = app.test_client()
        answer = client.get("/healthz").get_json()
        assert answer["work_items"]["stuck"] == STUCK and answer["inbound_events"]["pending"] == BACKLOG, answer
        client.get("/metrics")
        health_ms, health_p95 = timed(repeat, lambda: client.get("/healthz"))
        metrics_ms, metrics_p95 = timed(repeat, lambda: client.get("/metrics"))

        def old_counts() -> None:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT state, count(*) FROM work_items GROUP BY state").all()
                connection.exec_driver_sql("SELECT count(*) FROM inbound_events WHERE state = 'pending'").all()

        old_ms, _ = timed(max(3, repeat // 5), old_counts)
        progress(f"{size:,}: /healthz {health_ms:.2f} ms (p95 {health_p95:.2f}), /metrics {metrics_ms:.2f} ms "
                 f"(p95 {metrics_p95:.2f}), the old counts {old_ms:.1f} ms")
        started = time.perf_counter()
        from app.retention import cutoff

        purged = purge_account(app, account, before=cutoff(now, 14), batch_size=1000)
        seconds = time.perf_counter() - started
        rate = (purged.events + purged.work_items) / seconds if seconds else 0.0
        progress(f"{size:,}: purged {purged.events:,} events and {purged.work_items:,} work items in "
                 f"{seconds:.1f} s ({rate:,.0f} rows/s)")
        health_after, _ = timed(repeat, lambda: client.get("/healthz"))
        storage.dispose(app)
    return {"healthz_ms": round(health_ms, 2), "healthz_p95_ms": round(health_p95, 2),
            "metrics_ms": round(metrics_ms, 2), "old_counts_ms": round(old_ms, 2),
            "purge_rows_per_s": round(rate), "healthz_ms_after_purge": round(health_after, 2)}


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"database": "sqlite" if args.sqlite else "postgresql"}
    for size in (int(part) for part in args.sizes.split(",")):
        for name, value in run(size, args.sqlite, args.repeat).items():
            result[f"{name}_{label(size)}"] = value
    print(json.dumps(result))


if __name__ == "__main__":
    main()
