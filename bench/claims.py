"""How long a claim takes behind a backlog: inbound events and work items, one busy account and one quiet one.

For each size, a scratch database (PostgreSQL, or a SQLite file with ``--sqlite``) is migrated and filled in
bulk: account A has ``size`` pending events and ``size`` pending work items, account B has 5 of each. Then
``inbox.claim`` and ``workqueue.claim`` (batch 200, as a worker calls them) are timed ``--repeat`` times each;
after every claim its rows are marked done and as many new pending rows are added for their account, so the
backlog stays the same and done history piles up behind it as in a live queue. The claims run on one
connection, so from the sixth on psycopg runs them as prepared statements (its prepare threshold is 5) and
PostgreSQL may switch to a generic plan: the first ``--warmup`` claims are left out of the figures.

CPU time is counted beside wall time: this process's (``time.process_time``) and, on PostgreSQL, the server
backend's (from ``/proc/<pid>/stat``, so only for a server on this host; ``-1`` otherwise). Both are averaged
over all timed claims (the kernel counts in 10 ms ticks).

The script runs against whatever Deskmate its directory belongs to, so the same file copied into a worktree of
an older commit measures that commit's claim (docs/benchmarks.md, *Claims behind a backlog*).

The last line printed is one JSON object, per size and queue: wall median and 95th percentile, CPU per claim.

Usage: .venv/bin/python bench/claims.py [--sizes 1000,200000] [--repeat 30] [--sqlite] [--explain]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import progress, scratch_postgres

QUIET = 5
BATCH = 200
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
    else:
        with scratch_postgres("deskmate_claims") as url:
            yield url


def _series(engine: sa.Engine, size: int) -> str:
    if engine.dialect.name == "postgresql":
        return f"FROM generate_series(1, {size}) AS s(g)"
    return (f"FROM (WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {size}) "  # noqa: S608 - numbers of this script only
            "SELECT g FROM s)")


def add_pending(connection: sa.Connection, account_id: int, count: int, now: datetime, tag: str) -> None:
    """``count`` pending events and work items for one account, due now (bulk SQL: one statement each)."""
    naive = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    source = _series(connection.engine, count)
    connection.exec_driver_sql(
        "INSERT INTO inbound_events (account_id, source, event_type, ticket_id, event_key, payload, state, "
        "attempts, received_at, next_attempt_at) "
        f"SELECT {account_id}, 'zendesk', 'ticket.updated', g, '{tag}-' || g, '{{}}', 'pending', 0, "
        f"'{naive}', '{naive}' {source}")
    connection.exec_driver_sql(
        "INSERT INTO work_items (account_id, kind, idempotency_key, payload, state, attempts, max_attempts, "
        "next_attempt_at, created_at, updated_at) "
        f"SELECT {account_id}, 'bench.noop', '{tag}-' || g, '{{}}', 'pending', 0, 8, '{naive}', '{naive}', "
        f"'{naive}' {source}")


def analyze(engine: sa.Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE inbound_events")
            connection.exec_driver_sql("VACUUM ANALYZE work_items")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def backend_cpu(pids: list[int]) -> float:
    """CPU seconds the given PostgreSQL backends have used so far (-1 when /proc cannot tell)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return -1.0
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def measure(claim: Callable[[datetime], list[int]], finish: Callable[[list[int], datetime, int], None],
            now: datetime, repeat: int, warmup: int, pids: list[int]) -> dict[str, float]:
    walls: list[float] = []
    cpu_client = cpu_server = 0.0
    for n in range(warmup + repeat):
        at = now + timedelta(milliseconds=n)
        server_before = backend_cpu(pids)
        cpu_before = time.process_time()
        started = time.perf_counter()
        claimed = claim(at)
        wall = (time.perf_counter() - started) * 1000
        cpu = time.process_time() - cpu_before
        server = backend_cpu(pids) - server_before
        if n >= warmup:
            walls.append(wall)
            cpu_client += cpu
            cpu_server += server
        assert claimed, "nothing claimed"
        finish(claimed, at, n)
    walls.sort()
    return {"ms": round(statistics.median(walls), 2), "p95_ms": round(walls[max(0, int(len(walls) * 0.95) - 1)], 2),
            "cpu_ms": round(cpu_client / repeat * 1000, 2),
            "server_cpu_ms": round(cpu_server / repeat * 1000, 2) if pids and cpu_server >= 0 else -1}


def run(size: int, sqlite: bool, repeat: int, warmup: int, explain: bool) -> dict[str, Any]:
    from app import create_app, inbox, workqueue
    from app.accounts import sync_default_account, upsert_account
    from app.clock import FakeClock
    from app.db import storage
    from app.migrate import upgrade

    now = datetime.now(UTC).replace(microsecond=0)
    with database(sqlite) as url:
        app = create_app({"env": "test", "database_url": url, "secret_key": "x" * 40, "log_level": "WARNING",
                          "zendesk_subdomain": "acme", "zendesk_email": "bot@acme.example",
                          "zendesk_api_token": "t", "plugins": [], "sidebar_warm_cache": False},
                         app_clock=FakeClock(now))
        upgrade(app)
        busy = sync_default_account(app, now)
        assert busy is not None
        quiet = upsert_account(app, subdomain="quiet", now=now, zendesk_account_id=99)
        # One connection for every claim: psycopg's prepared statements and the plans cached for them are per
        # connection, and the figures must include what happens once they are in use.
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"), poolclass=sa.pool.StaticPool) \
            if not sqlite else storage.engine(app)
        started = time.perf_counter()
        with engine.begin() as connection:
            add_pending(connection, busy.id, size, now - timedelta(minutes=1), "a")
            add_pending(connection, quiet.id, QUIET, now - timedelta(minutes=1), "b")
        analyze(engine)
        progress(f"{size:,} pending events and work items for A, {QUIET} for B, "
                 f"in {time.perf_counter() - started:.1f} s")
        pids: list[int] = []
        if not sqlite:
            with engine.connect() as connection:
                pids = [int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())]
        plans: list[str] = []
        if explain and not sqlite:
            with engine.connect() as connection:
                driver: Any = connection.connection.driver_connection
                connection.exec_driver_sql("LOAD 'auto_explain'")
                connection.exec_driver_sql("SET auto_explain.log_min_duration = 0")
                connection.exec_driver_sql("SET auto_explain.log_nested_statements = on")
                connection.exec_driver_sql("SET client_min_messages = log")
                driver.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
                connection.commit()

        def refill(account_id: int, count: int, n: int) -> None:
            with engine.begin() as connection:
                add_pending(connection, account_id, count, now, f"r{n}-{account_id}")

        def claim_events(at: datetime) -> list[int]:
            return inbox.claim(engine, worker_id="bench", now=at, lease_seconds=120, limit=BATCH)

        def claim_work(at: datetime) -> list[int]:
            return [item.id for item in workqueue.claim(engine, worker_id="bench", now=at, lease_seconds=120,
                                                        limit=BATCH)]

        def finisher(table: str, finished: str, offset: int) -> Callable[[list[int], datetime, int], None]:
            def finish(ids: list[int], at: datetime, n: int) -> None:
                with engine.begin() as connection:
                    owners = connection.execute(
                        sa.text(f"UPDATE {table} SET state = 'done', {finished} = :at, locked_by = NULL, "  # noqa: S608 - constants of this script only
                                "locked_until = NULL WHERE id IN :ids RETURNING account_id")
                        .bindparams(sa.bindparam("ids", expanding=True)),
                        {"at": at.astimezone(UTC).replace(tzinfo=None), "ids": ids}).scalars().all()
                for account_id in set(owners):
                    refill(account_id, owners.count(account_id), offset + n)
            return finish

        # A refill adds events and work items alike; each queue's refills are tagged apart (offset).
        events = measure(claim_events, finisher("inbound_events", "processed_at", 0), now, repeat, warmup, pids)
        work = measure(claim_work, finisher("work_items", "finished_at", 10_000), now + timedelta(seconds=1), repeat,
                       warmup, pids)
        progress(f"{size:,}: event claim {events['ms']} ms (p95 {events['p95_ms']}, CPU {events['cpu_ms']} + "
                 f"server {events['server_cpu_ms']}); work claim {work['ms']} ms (p95 {work['p95_ms']}, "
                 f"CPU {work['cpu_ms']} + server {work['server_cpu_ms']})")
        if plans:
            claims = [plan for plan in plans if "FOR UPDATE" in plan or "LATERAL" in plan or "UNION" in plan]
            progress("the last event claim's plan and the last work claim's plan, as auto_explain saw them:")
            event_plans = [plan for plan in claims if "inbound_events" in plan]
            work_plans = [plan for plan in claims if "work_items" in plan]
            for plan in (event_plans[-1:] + work_plans[-1:]):
                print(plan, file=sys.stderr)
        if engine is not storage.engine(app):
            engine.dispose()
        storage.dispose(app)
    return {"events": events, "work": work}


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,200000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--explain", action="store_true", help="print the plans PostgreSQL used (auto_explain)")
    args = parser.parse_args()
    result: dict[str, Any] = {"database": "sqlite" if args.sqlite else "postgresql"}
    for size in (int(part) for part in args.sizes.split(",")):
        for queue, figures in run(size, args.sqlite, args.repeat, args.warmup, args.explain).items():
            for name, value in figures.items():
                result[f"{queue}_{name}_{label(size)}"] = value
    print(json.dumps(result))


if __name__ == "__main__":
    main()
