"""Signed webhook ingestion under gunicorn with PostgreSQL, next to a bare signature-checking endpoint.

Both servers run the same gunicorn configuration and take the same pre-signed deliveries from wrk (a second
process on loopback); Deskmate's figure counts only deliveries actually stored in the database.

    python bench/webhooks.py [--seconds 10] [--workers 4] [--threads 4] [--connections 32]

The last line is one JSON object: {"stored_per_s", "p99_ms", "bare_per_s", "ratio"}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import env_for, gunicorn, progress, run_wrk, scratch_postgres

SECRET = "bench-webhook-secret"
HERE = Path(__file__).resolve().parent


def settings(database_url: str) -> dict[str, object]:
    return {
        "env": "production", "secret_key": "bench-secret-key-" + "x" * 32, "database_url": database_url,
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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn gthread threads per worker")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    from app import create_app
    from app.accounts import sync_default_account
    from app.clock import Clock
    from app.db import storage
    from app.migrate import upgrade

    with scratch_postgres() as database_url, tempfile.TemporaryDirectory() as scratch:
        config = settings(database_url)
        app = create_app(config)
        upgrade(app)
        sync_default_account(app, Clock().now())
        deliveries = Path(scratch) / "deliveries.tsv"
        count = max(40_000, args.seconds * 5_000)
        progress(f"signing {count} deliveries...")
        write_deliveries(deliveries, count)
        os.environ["DESKMATE_BENCH_REQUESTS"] = str(deliveries)
        os.environ["DESKMATE_BENCH_THREADS"] = "2"
        env = env_for(config)

        progress(f"bare endpoint: gunicorn -w {args.workers} --threads {args.threads}, wrk -c{args.connections} "
                 f"for {args.seconds}s...")
        with gunicorn("bench.bare_webhook:app", env=env, workers=args.workers, threads=args.threads) as url:
            bare = run_wrk(url + "/webhooks/zendesk", script=HERE / "webhooks.lua", seconds=args.seconds,
                           connections=args.connections)
        progress(f"  {bare['per_s']:.0f} req/s, p99 {bare['p99_ms']:.1f} ms, non-2xx {bare['non_2xx']}")

        progress(f"Deskmate: gunicorn -w {args.workers} on PostgreSQL, same load...")
        with gunicorn("wsgi:app", env=env, workers=args.workers, threads=args.threads) as url:
            stored_run = run_wrk(url + "/webhooks/zendesk", script=HERE / "webhooks.lua", seconds=args.seconds,
                                 connections=args.connections)
        with storage.engine(app).connect() as connection:
            stored = connection.execute(sa.text("SELECT count(*) FROM inbound_events")).scalar_one()
        storage.engine(app).dispose()
        stored_per_s = stored / args.seconds
        progress(f"  {stored_run['per_s']:.0f} req/s answered, {stored} stored ({stored_per_s:.0f}/s), "
                 f"p99 {stored_run['p99_ms']:.1f} ms, non-2xx {stored_run['non_2xx']}")
        if stored_run["non_2xx"]:
            progress("  warning: some deliveries were refused; see the server log")
        result = {"stored_per_s": round(stored_per_s, 1), "p99_ms": round(stored_run["p99_ms"], 2),
                  "bare_per_s": round(bare["per_s"], 1), "ratio": round(stored_per_s / bare["per_s"], 3)}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
