"""The SLA scheduler at scale: the cost of one pass over 1k/10k/100k open clocks, and reminder delay in Slack.

1. Pass cost. Open first-reply clocks are inserted in bulk into a scratch PostgreSQL database: all but
   ``--due`` (20) are due hours from now, those are due now. One scheduler pass
   (``plugins.sla.scheduler.pass_once``: read the due clocks through ``ix_sla_clocks_due``, skip tickets with
   unhandled events, advance each clock, enqueue its reminder) is timed ``--repeat`` times and rolled back
   each time; the median counts. It must stay nearly flat (target: the 100k pass at most twice the 1k pass)
   because only due clocks are read.
2. Reminder delay. ``--clocks`` (1,000) clocks whose 10-minute reminder falls due within one minute, spread
   over ``--channels`` (50) Slack channels, each announced already; real ``flask worker`` processes
   (``--processes`` x ``--threads``) and the Slack emulator on real time, keeping Slack's own pace per channel
   (about one message a second, bursts of four). A reminder's delay is the emulator's post time minus its
   due moment. Target: p99 under 5 s plus the pass interval.

The last line printed is one JSON object:
    {"pass_ms_1k": ..., "pass_ms_10k": ..., "pass_ms_100k": ..., "delay_p50_s": ..., "delay_p99_s": ...,
     "pass_interval_s": ...}

Usage: .venv/bin/python bench/sla_scale.py [--sizes 1000,10000,100000] [--due 20] [--repeat 15]
                                           [--clocks 1000] [--window 60] [--channels 50]
                                           [--processes 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = os.environ.get("DESKMATE_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"
BOT_TOKEN = "xoxb-bench-token"
SLA = {"targets": [{"segment": "premium_partner", "minutes": 90, "notify": True, "reminders": [30, 10]}]}


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """A new PostgreSQL database for this run, dropped afterwards."""
    name = f"deskmate_bench_sla_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def worker_env(values: dict[str, Any]) -> dict[str, str]:
    """The environment of a ``flask worker`` process configured with ``values`` (``DESKMATE_*``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DESKMATE_")}
    for name, value in values.items():
        if value is not None:
            if isinstance(value, list):
                text = ",".join(value)
            elif isinstance(value, dict):
                text = json.dumps(value)
            else:
                text = str(value).lower() if isinstance(value, bool) else str(value)
            env[f"DESKMATE_{name.upper()}"] = text
    return {**env, "PYTHONPATH": str(ROOT), "FLASK_APP": "wsgi:app"}


def settings(database_url: str, slack_url: str | None) -> dict[str, Any]:
    return {
        "env": "development", "database_url": database_url, "secret_key": SECRET_KEY, "plugins": ["sla"],
        "plugin_settings": {"sla": SLA}, "log_level": "WARNING", "zendesk_subdomain": "bench",
        "zendesk_account_id": 1, "zendesk_email": "bench@bench.example", "zendesk_api_token": "token",
        "zendesk_webhook_secret": "secret", "zendesk_base_url": "http://127.0.0.1:9",
        "slack_bot_token": BOT_TOKEN, "slack_base_url": (slack_url + "/api/") if slack_url else None,
    }


def make_app(database_url: str, slack_url: str | None, clock: Any = None) -> Any:
    from app import create_app
    from app.accounts import sync_default_account
    from app.migrate import upgrade

    config = settings(database_url, slack_url)
    app = create_app(config, app_clock=clock)
    upgrade(app)
    sync_default_account(app, datetime.now(UTC))
    return app


def clock_row(account_id: int, ticket_id: int, next_due: datetime, *, channel: str = "C02PREMIUM",
              announced: bool = False) -> dict[str, Any]:
    """A running premium clock whose 10-minute reminder is due at ``next_due`` (the 30-minute one is done)."""
    due = next_due + timedelta(minutes=10)
    started = due - timedelta(minutes=90)
    return {
        "account_id": account_id, "ticket_id": ticket_id, "subject": f"Ticket {ticket_id}", "tags": [],
        "segment": "premium_partner", "priority": "normal", "state": "running", "started_at": started,
        "target_minutes": 90, "business_hours": False, "due_at": due, "reminders": [30, 10],
        "reminders_done": [30], "next_due_at": next_due, "notify": True, "channel": channel,
        "last_message_key": f"sla:arrival:{ticket_id}" if announced else None,
        "created_at": started, "updated_at": started,
    }


def arrival_item(account_id: int, ticket_id: int, channel: str, ts: str, now: datetime) -> dict[str, Any]:
    """The done work item of the ticket's arrival post (its result: where thread replies are posted)."""
    return {"account_id": account_id, "kind": "slack.post_message",
            "idempotency_key": f"sla:arrival:{ticket_id}", "payload": {"channel": channel}, "state": "done",
            "attempts": 1, "max_attempts": 8,
            "next_attempt_at": now, "result": {"channel": channel, "ts": ts}, "created_by": "sla",
            "created_at": now, "updated_at": now, "finished_at": now}


def insert(app: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    from app.db import storage

    with storage.engine(app).begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(sa.insert(table), rows[start:start + 5000])


# --- 1. the cost of one pass ----------------------------------------------------------------------------

def pass_cost(database_url: str, sizes: list[int], due: int, repeat: int) -> dict[int, float]:
    from app.accounts import active_accounts
    from app.clock import FakeClock
    from app.db import storage
    from app.models import WorkItem
    from app.plugins import plugin_manager
    from plugins.sla.models import SlaClock
    from plugins.sla.scheduler import pass_once

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    app = make_app(database_url, "http://127.0.0.1:9", FakeClock(now))
    results: dict[int, float] = {}
    rng = random.Random(7)
    with app.app_context():
        account = active_accounts(app)[0]
        for size in sizes:
            with storage.engine(app).begin() as connection:
                connection.execute(sa.text("TRUNCATE sla_clocks, work_items RESTART IDENTITY"))
            rows = [clock_row(account.id, n, now + timedelta(seconds=rng.randint(60, 48 * 3600)))
                    for n in range(due, size)]
            rows += [clock_row(account.id, n, now - timedelta(seconds=1), announced=True) for n in range(due)]
            insert(app, SlaClock.__table__, rows)
            insert(app, WorkItem.__table__, [arrival_item(account.id, n, "C02PREMIUM", f"1.{n:06d}", now)
                                             for n in range(due)])
            with storage.engine(app).begin() as connection:
                connection.execute(sa.text("ANALYZE sla_clocks"))
                connection.execute(sa.text("ANALYZE work_items"))
                plan = "\n".join(row[0] for row in connection.execute(sa.text(
                    "EXPLAIN SELECT * FROM sla_clocks WHERE account_id = :a AND state = 'running' "
                    "AND next_due_at <= :now ORDER BY next_due_at LIMIT 500 FOR UPDATE SKIP LOCKED"),
                    {"a": account.id, "now": now.replace(tzinfo=None)}))
            timings = []
            for attempt in range(repeat + 3):  # the first three warm caches and connections: not counted
                session = storage.sessions(app)()
                session.begin()
                ctx = plugin_manager.context(app, "sla", account, session)
                started = time.perf_counter()
                moved = pass_once(ctx)
                session.flush()
                if attempt >= 3:
                    timings.append((time.perf_counter() - started) * 1000)
                session.rollback()  # the same clocks are due again for the next repetition
                session.close()
                assert moved == due, f"the pass moved {moved} clocks, expected {due}"
            results[size] = statistics.median(timings)
            index = "ix_sla_clocks_due" if "ix_sla_clocks_due" in plan else "NO INDEX"
            print(f"pass over {size:>7,} open clocks ({due} due): median {results[size]:6.2f} ms, "
                  f"min {min(timings):6.2f} ms ({repeat} passes; due clocks read through {index})",
                  flush=True)
    storage.engine(app).dispose()
    return results


# --- 2. reminder delay with real workers -----------------------------------------------------------------

def start_workers(database_url: str, slack_url: str, processes: int,
                  threads: int) -> list[subprocess.Popen[bytes]]:
    env = worker_env({**settings(database_url, slack_url), "worker_poll_seconds": 0.1,
                      "embedded_worker": False})
    flask = Path(sys.executable).with_name("flask")
    return [subprocess.Popen([str(flask), "worker", "--threads", str(threads)], cwd=ROOT, env=env,
                             start_new_session=True) for _ in range(processes)]


def wait_for_heartbeats(app: Any, count: int) -> None:
    from app.db import storage
    from app.models import WorkerHeartbeat

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with storage.session(app) as session:
            if session.scalar(sa.select(sa.func.count()).select_from(WorkerHeartbeat)) >= count:
                return
        time.sleep(0.2)
    raise RuntimeError("the workers did not start")


def reminder_delay(database_url: str, clocks: int, window: float, channels: int, processes: int,
                   threads: int) -> tuple[list[float], int, int]:
    from app.accounts import active_accounts
    from app.db import storage
    from app.models import WorkItem
    from plugins.sla.models import SlaClock
    from sandbox.server import ServerThread
    from sandbox.slack import SlackState, create_app
    from sandbox.slack.messages import post_message

    state = SlackState(bot_token=BOT_TOKEN)
    names = [state.add_channel(f"tier-{n:02d}")["id"] for n in range(channels)]
    server = ServerThread(create_app(state)).start()
    app = make_app(database_url, server.url)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with app.app_context():
            with storage.engine(app).begin() as connection:
                connection.execute(sa.text("TRUNCATE sla_clocks, work_items, worker_heartbeats"))
            account = active_accounts(app)[0]
            workers = start_workers(database_url, server.url, processes, threads)
            wait_for_heartbeats(app, processes)
            # Every ticket was announced earlier: its arrival message exists in its channel.
            state.post_rate, state.post_burst = 1e6, 10**6
            arrivals = {n: post_message(state, {"channel": names[n % channels], "text": f"Ticket {n}"})["ts"]
                        for n in range(clocks)}
            state.post_rate, state.post_burst = 1.0, 4  # then Slack's own pace for the reminders
            state._buckets.clear()
            now = datetime.now(UTC)
            start = now + timedelta(seconds=5)
            moments = {n: start + timedelta(seconds=window * n / clocks) for n in range(clocks)}
            insert(app, WorkItem.__table__, [
                arrival_item(account.id, n, names[n % channels], arrivals[n], now) for n in range(clocks)])
            insert(app, SlaClock.__table__, [
                clock_row(account.id, n, moments[n], channel=names[n % channels], announced=True)
                for n in range(clocks)])
            print(f"{clocks} reminders fall due between +5 s and +{5 + window:.0f} s over {channels} "
                  f"channels; {processes} worker process(es) x {threads} thread(s)", flush=True)
            deadline = time.monotonic() + 5 + window + 120
            while time.monotonic() < deadline:
                done = sum(1 for m in state.all_messages() if m.get("thread_ts") not in (None, m["ts"]))
                if done >= clocks:
                    break
                time.sleep(0.5)
            time.sleep(3)  # a few more passes: anything posted twice would show now
    finally:
        for process in workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in workers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        server.stop()
        storage.engine(app).dispose()
    replies = [m for m in state.all_messages() if m.get("thread_ts") not in (None, m["ts"])]
    keys = Counter(m["metadata"]["event_payload"]["deskmate_key"] for m in replies)
    duplicates = sum(count - 1 for count in keys.values() if count > 1)
    delays = []
    first_post: dict[str, float] = {}
    for message in replies:
        key = message["metadata"]["event_payload"]["deskmate_key"]
        first_post.setdefault(key, float(message["ts"]))
    for key, posted in first_post.items():
        delays.append(posted - moments[int(key.rsplit(":", 1)[1])].timestamp())
    return delays, clocks - len(keys), duplicates


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--clocks", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    from plugins.sla.scheduler import PASS_INTERVAL_SECONDS

    with scratch_postgres() as database_url:
        costs = pass_cost(database_url, sizes, args.due, args.repeat)
        delays, missing, duplicates = reminder_delay(database_url, args.clocks, args.window, args.channels,
                                                     args.processes, args.threads)
    p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
    print(f"reminder delay after its due moment: p50 {p50:.2f} s, p99 {p99:.2f} s, max {max(delays):.2f} s; "
          f"{len(delays)} posted, {missing} missing, {duplicates} posted twice "
          f"(pass interval {PASS_INTERVAL_SECONDS:g} s)")
    ratio = costs[sizes[-1]] / costs[sizes[0]]
    print(f"pass cost at {sizes[-1]:,} / at {sizes[0]:,}: {ratio:.2f}x (target at most 2x); "
          f"p99 delay target under {5 + PASS_INTERVAL_SECONDS:g} s")
    labels = {1000: "1k", 10000: "10k", 100000: "100k"}
    result: dict[str, Any] = {f"pass_ms_{labels.get(size, size)}": round(costs[size], 2) for size in sizes}
    result.update(delay_p50_s=round(p50, 3), delay_p99_s=round(p99, 3), pass_interval_s=PASS_INTERVAL_SECONDS)
    if missing or duplicates:
        result.update(missing=missing, duplicates=duplicates)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
