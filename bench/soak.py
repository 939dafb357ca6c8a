"""The soak: hundreds of thousands of signed webhooks through the served app, two workers, retention on.

Deskmate is served by gunicorn over HTTP (``wsgi:app``) next to two ``flask worker`` processes, on a scratch
PostgreSQL database (or a SQLite file with ``--sqlite``). ``--senders`` processes post ``--events`` signed
``ticket.priority_changed`` webhooks, one per ticket, at ``--rate`` a second in all (each with a fresh
signature). The workers hand them to ``bench/soak_plugin.py`` (see there why not routing and the SLA bot),
which writes down every ticket it was handed. Retention runs with its window shortened to ``--window`` seconds
(``DESKMATE_RETENTION_WINDOW_SECONDS``) and its timer every ``--interval`` seconds, so it purges many times.

Every ``--probe-every`` seconds the soak measures, five times each (the median kept):

- the reading part of a claim of 200 events (``inbox.claim``'s statement: which accounts wait, then each one's
  share read and locked ``FOR UPDATE SKIP LOCKED``), in a transaction rolled back afterwards. It leaves the
  rows as they were: a probe that also ran the claim's UPDATE left, at every probe, a dead version of each row
  it claimed, and its own dead versions then slowed it (the unique indexes' checks walked them). It is made at
  a moment a day ahead, so a probe account's 200 events scheduled for then (and every event in flight) are
  due: each probe reads a full batch, whatever the moment's backlog;
- ``GET /healthz`` over HTTP.

The first three probes are the start, the last three the end. At the end, once the senders are done and the
queue is empty, the run passes when: every event sent was handled (distinct tickets the plugin saw), no event
is pending, processing or failed, the inbound rows left are within what the window allows (``--rate`` times
the window and one purge interval, plus 2,000 rows of slack for batches in flight), and the claim and
/healthz times at the end are within twice those at the start. Progress lines go to stderr; the last line
on stdout is one JSON object; the exit status is 1 when a condition failed.

    .venv/bin/python bench/soak.py                            # 200,000 events on PostgreSQL
    .venv/bin/python bench/soak.py --sqlite --rate 400 --events 200000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import ROOT, env_for, free_port, gunicorn, progress, scratch_postgres

SECRET = "soak-webhook-secret"
ACCOUNT = 9001
PROBE_EVENTS = 200
BATCH = 200


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=300.0, help="webhooks a second, all senders together")
    parser.add_argument("--senders", type=int, default=3, help="sending processes (keep-alive connections)")
    parser.add_argument("--window", type=float, default=30.0, help="retention window, seconds")
    parser.add_argument("--interval", type=float, default=10.0, help="retention timer interval, seconds")
    parser.add_argument("--probe-every", type=float, default=10.0)
    parser.add_argument("--vacuum-every", type=float, default=15.0,
                        help="on a PostgreSQL server with autovacuum off, VACUUM the queue tables this often")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up this many seconds after the start")
    return parser.parse_args()


@contextmanager
def database(sqlite: bool) -> Iterator[str]:
    if sqlite:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/soak.sqlite3"
    else:
        with scratch_postgres("deskmate_soak") as url:
            yield url


def settings(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    return {
        # JSON logs as in production, but not DESKMATE_ENV=production: that refuses http:// on loopback and a
        # retention window in seconds.
        "env": "development", "log_format": "json", "log_level": "INFO",
        "secret_key": "soak-secret-key-" + "x" * 32, "database_url": database_url,
        "zendesk_subdomain": "acme", "zendesk_account_id": ACCOUNT, "zendesk_email": "deskmate@acme.example",
        "zendesk_api_token": "unused", "zendesk_webhook_secret": SECRET,
        "plugins": ["bench.soak_plugin"], "sidebar_warm_cache": False,
        "catch_up_interval_seconds": 0,  # no helpdesk to read the export from
        "retention_window_seconds": args.window, "retention_interval_seconds": args.interval,
        "worker_batch_size": BATCH,
    }


def send(first: int, last: int, rate: float, port: int, failures: Any, sent: Any) -> None:
    """Post tickets ``first``..``last`` (one event each) at ``rate`` a second on one keep-alive connection."""
    from app.webhooks import sign

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    for n, ticket in enumerate(range(first, last + 1)):
        ahead = started + n / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps({
            "type": "zen:event-type:ticket.priority_changed", "account_id": ACCOUNT, "id": f"soak-{ticket}",
            "time": stamp, "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket}",
            "detail": {"id": str(ticket), "subject": f"Live stream {ticket} stutters", "status": "OPEN",
                       "priority": "HIGH", "requester_id": str(500 + ticket % 300), "tags": [],
                       "created_at": stamp, "updated_at": stamp},
            "event": {"current": "HIGH", "previous": "NORMAL"},
        }, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Zendesk-Account-Id": str(ACCOUNT),
                   "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body),
                   "X-Zendesk-Webhook-Signature-Timestamp": stamp,
                   "X-Zendesk-Webhook-Invocation-Id": f"inv-{ticket}"}
        for attempt in range(5):  # a delivery the server did not take is sent again, as Zendesk would
            try:
                connection.request("POST", "/webhooks/zendesk", body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                if answer.status < 300:
                    break
                status = str(answer.status)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            if attempt == 4:
                with failures.get_lock():
                    failures.value += 1
                progress(f"ticket {ticket}: not taken ({status})")
            time.sleep(0.2 * (attempt + 1))
        with sent.get_lock():
            sent.value += 1


class RolledBack:
    """An engine stand-in whose ``begin`` rolls its transaction back: a probe claim leaves no trace."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as connection:
            transaction = connection.begin()
            try:
                yield connection
            finally:
                transaction.rollback()


def probe_engine(url: str, plans: list[str]) -> sa.Engine:
    """The probe's own connection; on PostgreSQL a claim slower than 100 ms has its plan (with the rows and
    buffers it read) sent to the probe by auto_explain, for the progress lines."""
    if url.startswith("sqlite"):
        return sa.create_engine(url)
    engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)
    with engine.connect() as connection:
        for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 100",
                        "SET auto_explain.log_analyze = on", "SET auto_explain.log_buffers = on",
                        "SET client_min_messages = log"):
            connection.exec_driver_sql(setting)
        driver: Any = connection.connection.driver_connection
        driver.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        connection.commit()
    return engine


def probe(engine: sa.Engine, base_url: str) -> tuple[float, float, int]:
    """(median claim ms, median /healthz ms, rows claimed) over five of each."""
    from app import inbox
    from app.db import table_of
    from app.models import InboundEvent
    from app.workqueue import fair_due_ids

    claims, healths, claimed = [], [], 0
    port = int(base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(5):
        at = datetime.now(UTC) + timedelta(days=1)
        started = time.perf_counter()
        with RolledBack(engine).begin() as transaction:
            table = table_of(InboundEvent)
            ids = fair_due_ids(transaction, table, due=inbox.due_condition(at), order=(table.c.account_id, table.c.id),
                               limit=BATCH)
            if ids is not None:
                claimed = len(transaction.execute(sa.select(table.c.id).where(table.c.id.in_(ids))).all())
        claims.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        try:
            connection.request("GET", "/healthz")
            connection.getresponse().read()
        except (OSError, http.client.HTTPException) as exc:  # counted as slow as the timeout, not a crash
            progress(f"/healthz: {type(exc).__name__}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            healths.append(60_000.0)
            continue
        healths.append((time.perf_counter() - started) * 1000)
    connection.close()
    return statistics.median(claims), statistics.median(healths), claimed


def handled(folder: Path) -> int:
    tickets: set[str] = set()
    for path in folder.glob("handled-*.txt"):
        tickets.update(path.read_text().split())
    return len(tickets)


def queue(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT state, count(*) FROM inbound_events WHERE account_id = "
            "(SELECT id FROM accounts WHERE zendesk_account_id = :account) GROUP BY state"), {"account": ACCOUNT})
        counts: dict[str, int] = {str(row[0]): int(row[1]) for row in rows}
        counts["rows"] = int(connection.execute(sa.text("SELECT count(*) FROM inbound_events")).scalar_one())
        counts["work_rows"] = int(connection.execute(sa.text("SELECT count(*) FROM work_items")).scalar_one())
    return counts


def main() -> None:
    args = parse_args()
    # Stopped from outside (a timeout), the servers and workers are still stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    from app import create_app
    from app.accounts import sync_default_account, upsert_account
    from app.clock import Clock
    from app.db import storage
    from app.migrate import upgrade

    begun = time.monotonic()
    with database(args.sqlite) as url, tempfile.TemporaryDirectory() as scratch, ExitStack() as stack:
        folder = Path(scratch)
        config = settings(url, args)
        app = create_app(config)
        upgrade(app)
        now = Clock().now()
        sync_default_account(app, now)
        probe_account = upsert_account(app, subdomain="soak-probe", now=now, zendesk_account_id=ACCOUNT + 1)
        engine = storage.engine(app)
        later = (now + timedelta(hours=12)).astimezone(UTC).replace(tzinfo=None)
        if not args.sqlite:
            # Commits do not wait for the WAL to reach the disk (this database only): the soak is about what grows
            # with time, and this VM's disk flush (several ms) would otherwise set the pace of every event.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text(f'ALTER DATABASE "{engine.url.database}" SET synchronous_commit = off'))
            engine.dispose()
        with engine.begin() as connection:  # the probe's standing batch, due only for the probe's claims
            connection.execute(sa.text(
                "INSERT INTO inbound_events (account_id, source, event_type, ticket_id, event_key, payload, state, "
                "attempts, received_at, next_attempt_at) VALUES (:account, 'zendesk', 'ticket.updated', :n, :key, "
                "'{}', 'pending', 0, :at, :at)"),
                [{"account": probe_account.id, "n": n, "key": f"probe-{n}", "at": later} for n in range(PROBE_EVENTS)])
        env = env_for(config)
        env["SOAK_HANDLED_DIR"] = scratch
        web_workers = 1 if args.sqlite else args.web_workers
        base_url = stack.enter_context(gunicorn("wsgi:app", env=env, workers=web_workers, threads=8,
                                                port=free_port()))
        workers = []
        for n in range(2):
            log = stack.enter_context((folder / f"worker{n}.log").open("ab"))
            workers.append(subprocess.Popen([sys.executable, "-m", "flask", "worker", "--threads", "2"], cwd=ROOT,
                                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for worker in workers:
            stack.callback(worker.terminate)
        progress(f"{'SQLite' if args.sqlite else 'PostgreSQL'}: gunicorn -w {web_workers} --threads 8 at {base_url}, "
                 f"2 workers; {args.events:,} events at {args.rate:.0f}/s from {args.senders} senders; retention "
                 f"window {args.window:.0f} s, purge every {args.interval:.0f} s")

        failures = multiprocessing.Value("i", 0)
        sent = multiprocessing.Value("i", 0)
        per = -(-args.events // args.senders)
        senders = [multiprocessing.Process(target=send, args=(
            1 + n * per, min(args.events, (n + 1) * per), args.rate / args.senders, int(base_url.rsplit(":", 1)[1]),
            failures, sent), daemon=True) for n in range(args.senders)]
        started = time.monotonic()
        for sender in senders:
            sender.start()
        slow_plans: list[str] = []
        prober = probe_engine(engine.url.render_as_string(hide_password=False), slow_plans)
        stack.callback(prober.dispose)
        # Autovacuum keeps a queue table's dead rows (every event is inserted, updated twice and deleted) from
        # piling up in its indexes. A server running without it (this development machine's PostgreSQL has
        # autovacuum = off) gets the same from the soak: VACUUM of the queue tables every --vacuum-every seconds.
        vacuum = False
        if not args.sqlite and args.vacuum_every > 0:
            with engine.connect() as connection:
                vacuum = connection.exec_driver_sql("SHOW autovacuum").scalar_one() == "off"
        next_vacuum = time.monotonic() + args.vacuum_every
        vacuums = 0
        probes: list[tuple[float, float]] = []
        peak_rows = 0
        next_probe = time.monotonic()
        done = False
        while not done:
            if time.monotonic() - begun > args.timeout:
                progress("timed out")
                break
            while vacuum and next_vacuum < next_probe:
                time.sleep(max(0.0, next_vacuum - time.monotonic()))
                next_vacuum += args.vacuum_every
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.exec_driver_sql("VACUUM (ANALYZE) inbound_events, work_items")
                vacuums += 1
            time.sleep(max(0.0, next_probe - time.monotonic()))
            next_probe += args.probe_every
            claim_ms, health_ms, claimed = probe(prober, base_url)
            if slow_plans:
                progress("a slow probe claim's plan:\n" + slow_plans[-1])
                slow_plans.clear()
            probes.append((claim_ms, health_ms))
            counts = queue(engine)
            peak_rows = max(peak_rows, counts["rows"])
            open_rows = counts.get("pending", 0) + counts.get("processing", 0)
            progress(f"{time.monotonic() - started:5.0f} s: sent {sent.value:,}, open {open_rows:,}, "
                     f"inbound rows {counts['rows']:,} (done {counts.get('done', 0):,}), work rows "
                     f"{counts['work_rows']:,}; claim {claim_ms:.1f} ms ({claimed} rows), /healthz {health_ms:.1f} ms")
            done = sent.value >= args.events and open_rows == 0 and not any(s.is_alive() for s in senders)
        elapsed = time.monotonic() - started
        for sender in senders:
            sender.join(timeout=5)
        counts = queue(engine)
        seen = handled(folder)
        purges = sum(path.read_text().count("purged ") for path in folder.glob("worker*.log"))
        first = probes[:3]
        last = probes[-3:]
        result = {
            "events": args.events, "handled": seen, "rows_inbound_end": counts["rows"],
            "claim_ms_first": round(statistics.median(p[0] for p in first), 2),
            "claim_ms_last": round(statistics.median(p[0] for p in last), 2),
            "healthz_ms_first": round(statistics.median(p[1] for p in first), 2),
            "healthz_ms_last": round(statistics.median(p[1] for p in last), 2),
            "database": "sqlite" if args.sqlite else "postgresql", "seconds": round(elapsed),
            "events_per_s": round(args.events / elapsed), "rows_bound": round(args.rate * (args.window + args.interval))
            + PROBE_EVENTS + 2000, "peak_rows": peak_rows, "work_rows_end": counts["work_rows"],
            "failed": counts.get("failed", 0), "not_taken": failures.value, "purge_passes_that_deleted": purges,
            "vacuums_by_the_soak": vacuums,
        }
        problems = []
        if seen != args.events:
            problems.append(f"handled {seen} of {args.events}")
        if counts.get("pending", 0) or counts.get("processing", 0) or counts.get("failed", 0):
            problems.append(f"events left: {counts}")
        if counts["rows"] > result["rows_bound"]:
            problems.append(f"{counts['rows']} inbound rows at the end, over {result['rows_bound']}")
        if result["claim_ms_last"] > 2 * result["claim_ms_first"]:
            problems.append("claims at the end took over twice as long as at the start")
        if result["healthz_ms_last"] > 2 * result["healthz_ms_first"]:
            problems.append("/healthz at the end took over twice as long as at the start")
        for problem in problems:
            progress("FAILED: " + problem)
        storage.dispose(app)
    print(json.dumps(result))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
