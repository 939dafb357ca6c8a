"""Signed webhook ingestion under gunicorn with PostgreSQL, next to a bare signature-checking endpoint.

Both servers run the same gunicorn configuration and take the same kind of pre-signed deliveries from wrk (a
second process on loopback); Deskmate's figure counts only deliveries actually stored in the database. The two
are measured in alternating rounds and the medians reported, because this shared VM's speed drifts by a third
from one minute to the next: a single pair of runs can be taken in a fast and a slow minute.

    python bench/webhooks.py [--rounds 3] [--seconds 10] [--workers 4] [--threads 8] [--connections 64]

The last line is one JSON object: {"stored_per_s", "p99_ms", "bare_per_s", "ratio"} (medians; the ratio is
the median of the rounds' ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import env_for, gunicorn, progress, run_wrk, scratch_postgres

SECRET = "bench-webhook-secret"
HERE = Path(__file__).resolve().parent


def settings(database_url: str) -> dict[str, object]:
    return {
        # Production's JSON logs, but not DESKMATE_ENV=production: that refuses a loopback http:// public URL.
        "env": "development", "log_format": "json",
        "secret_key": "bench-secret-key-" + "x" * 32, "database_url": database_url,
        "log_level": "WARNING", "zendesk_subdomain": "acme", "zendesk_account_id": 9001,
        "zendesk_email": "deskmate@acme.example", "zendesk_api_token": "unused",
        "zendesk_webhook_secret": SECRET, "plugins": [],
    }


def write_deliveries(path: Path, count: int) -> None:
    """Pre-sign ``count`` distinct ticket.created deliveries, as Zendesk would send them."""
    from app.webhooks import sign

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open("w") as out:
        for n in range(count):
            body = json.dumps({
                "type": "zen:event-type:ticket.created", "account_id": 9001, "id": str(uuid.uuid4()),
                "time": stamp, "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{n + 1}",
                "detail": {"id": str(n + 1), "subject": f"Live stream {n} stutters", "status": "NEW",
                           "priority": "NORMAL", "requester_id": str(500 + n % 300), "organization_id": None,
                           "group_id": None, "tags": ["live_event"], "via": {"channel": "web"},
                           "created_at": stamp, "updated_at": stamp},
                "event": {},
            }, separators=(",", ":"))
            out.write(f"{sign(SECRET, stamp, body.encode())}\t{stamp}\t{uuid.uuid4()}\t{body}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured round")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating bare/Deskmate rounds; the medians are reported (this VM's speed drifts)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn gthread threads per worker")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()

    from app import create_app
    from app.accounts import sync_default_account
    from app.clock import Clock
    from app.db import storage
    from app.migrate import upgrade

    with scratch_postgres() as database_url, tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        config = settings(database_url)
        app = create_app(config)
        upgrade(app)
        sync_default_account(app, Clock().now())
        env = env_for(config)
        os.environ["DESKMATE_BENCH_THREADS"] = "2"
        count = max(40_000, args.seconds * 6_000)  # more than a round can send: no delivery is sent twice

        progress(f"gunicorn -w {args.workers} --threads {args.threads} for both, wrk -c{args.connections}, "
                 f"{args.rounds} rounds of {args.seconds}s each, alternating...")
        bare_url = servers.enter_context(
            gunicorn("bench.bare_webhook:app", env=env, workers=args.workers, threads=args.threads))
        deskmate_url = servers.enter_context(
            gunicorn("wsgi:app", env=env, workers=args.workers, threads=args.threads))
        engine = storage.engine(app)

        def stored_count() -> int:
            with engine.connect() as connection:
                return int(connection.execute(sa.text("SELECT count(*) FROM inbound_events")).scalar_one())

        bares: list[float] = []
        rounds: list[dict[str, float]] = []
        for number in range(1, args.rounds + 1):
            # Fresh deliveries each round, signed just before it (the signature timestamp must be recent).
            deliveries = Path(scratch) / f"deliveries-{number}.tsv"
            write_deliveries(deliveries, count)
            os.environ["DESKMATE_BENCH_REQUESTS"] = str(deliveries)
            bare = run_wrk(bare_url + "/webhooks/zendesk", script=HERE / "webhooks.lua", seconds=args.seconds,
                           connections=args.connections)
            before = stored_count()
            run = run_wrk(deskmate_url + "/webhooks/zendesk", script=HERE / "webhooks.lua", seconds=args.seconds,
                          connections=args.connections)
            stored_per_s = (stored_count() - before) / args.seconds
            bares.append(bare["per_s"])
            rounds.append({"stored_per_s": stored_per_s, "p99_ms": run["p99_ms"],
                           "ratio": stored_per_s / bare["per_s"]})
            progress(f"  round {number}: bare {bare['per_s']:.0f}/s (p99 {bare['p99_ms']:.1f} ms); Deskmate "
                     f"{stored_per_s:.0f} stored/s (p99 {run['p99_ms']:.1f} ms, non-2xx {run['non_2xx']}); "
                     f"ratio {stored_per_s / bare['per_s']:.2f}")
            if run["non_2xx"]:
                progress("  warning: some deliveries were refused; see the server log")
        engine.dispose()
        result = {"stored_per_s": round(statistics.median(r["stored_per_s"] for r in rounds), 1),
                  "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
                  "bare_per_s": round(statistics.median(bares), 1),
                  "ratio": round(statistics.median(r["ratio"] for r in rounds), 3)}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
