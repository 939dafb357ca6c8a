"""Release benchmark: tell 1,000 requesters about a released feature, helpdesk emulator at 700 requests/min.

    python bench/release.py [--requesters 1000] [--workers 2] [--rate-limit 700] [--kill-after 300]

What it does: starts the helpdesk emulator (rate limit as given), seeds one ticket per requester (a fifth
of them with a second ticket, a tenth with every ticket closed, locales en/fr/de/es/pt), makes a throw-away
PostgreSQL database (``flask db upgrade``), links every ticket to one feature request as the tag webhooks
would, releases it with ``flask feature-requests release --no-wait``, and runs ``flask worker`` processes
until every notice is delivered or has failed for good. ``--kill-after N`` kills one worker with SIGKILL
once N requesters were told, and starts another. Progress goes to stderr; the last line on stdout is one
JSON object: ``{"requesters", "told_once", "told_twice", "seconds", "api_calls", "unhandled_429", ...}``.
``told_*`` are counted from what the emulator holds: comments and follow-up tickets carrying the notice's
key. ``unhandled_429`` counts work items that failed on a 429 (a 429 the queue deferred is handled).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too: python bench/release.py

from bench.support import ROOT, env_for, progress, scratch_postgres

SUBDOMAIN = "acme"
ACCOUNT_ID = 9001
ADMIN_EMAIL = "deskmate@acme.example"
API_TOKEN = "bench-api-token"
LOCALES = ("en-US", "fr", "de", "es", "pt-BR")
NOTICE_KEY_PREFIX = "notice:feature_request:"


@dataclass
class Seeded:
    """What the emulator holds before the release: each requester's tickets."""

    tickets: dict[int, list[int]] = field(default_factory=dict)  # requester -> ticket ids
    closed: set[int] = field(default_factory=set)  # requesters whose tickets are all closed


def seed_helpdesk(state: Any, requesters: int, *, seed: int = 7) -> Seeded:
    """Create the requesters and their tickets directly in the emulator (no API quota, no webhooks)."""
    rng = random.Random(seed)
    seeded = Seeded()
    for n in range(requesters):
        user = state.create_user({"name": f"Viewer {n:04d}", "email": f"viewer{n:04d}@bench.example",
                                  "locale": rng.choice(LOCALES)})
        requester_id = int(user["id"])
        count = 2 if rng.random() < 0.2 else 1
        ids = []
        for _ in range(count):
            data = {"subject": "Please add 4K downloads", "requester_id": requester_id, "tags": ["fr_1"],
                    "comment": {"body": "Could we download in 4K?", "author_id": requester_id}}
            ticket = state.create_ticket(data, actor_id=requester_id, channel="web", fire=False)
            ids.append(int(ticket["id"]))
        if rng.random() < 0.1:
            for ticket_id in ids:
                state.update_ticket(ticket_id, {"status": "closed"}, fire=False)
            seeded.closed.add(requester_id)
        seeded.tickets[requester_id] = ids
    return seeded


def settings_for(database_url: str, helpdesk_url: str, **extra: Any) -> dict[str, Any]:
    return {"env": "development", "database_url": database_url, "secret_key": "bench-secret-key-" + "x" * 32,
            "log_level": "WARNING", "plugins": ["feature_requests"], "zendesk_subdomain": SUBDOMAIN,
            "zendesk_account_id": ACCOUNT_ID, "zendesk_base_url": helpdesk_url, "zendesk_email": ADMIN_EMAIL,
            "zendesk_api_token": API_TOKEN, "zendesk_webhook_secret": "bench-webhook-secret",
            "zendesk_rate_limit_per_minute": 700, **extra}


def flask(env: dict[str, str], *args: str) -> str:
    """Run a ``flask`` command to completion; returns its output."""
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def seed_links(database_url: str, seeded: Seeded, now: datetime) -> int:
    """One feature request (id 1) with every seeded ticket linked, as the fr_1 tag webhooks would leave it."""
    from app.mirror.models import HelpdeskTicket
    from plugins.feature_requests.models import FeatureRequest, Link, StatusChange, TicketCache

    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        account_id = connection.execute(sa.text("SELECT id FROM accounts WHERE subdomain = :s"),
                                        {"s": SUBDOMAIN}).scalar_one()
        connection.execute(sa.insert(FeatureRequest.__table__).values(
            id=1, account_id=account_id, title="4K downloads", description="Download videos in 4K",
            status="in_progress", changelog_url="https://example.com/changelog/4k", created_by="bench",
            created_at=now, updated_at=now))
        connection.execute(sa.insert(StatusChange.__table__).values(
            account_id=account_id, feature_request_id=1, from_status=None, to_status="in_progress",
            changed_by="bench", changed_at=now))
        links, caches, tickets = [], [], []
        for requester_id, ticket_ids in seeded.tickets.items():
            status = "closed" if requester_id in seeded.closed else "new"
            for ticket_id in ticket_ids:
                links.append({"account_id": account_id, "feature_request_id": 1, "ticket_id": ticket_id,
                              "requester_id": requester_id, "linked_by": "tag:fr_1", "linked_via": "tag",
                              "created_at": now})
                caches.append({"account_id": account_id, "ticket_id": ticket_id, "tag_changes": {}, "seen_at": now})
                tickets.append({"account_id": account_id, "ticket_id": ticket_id, "status": status,
                                "requester_id": requester_id, "tags": ["fr_1"], "updated_at": now})
        connection.execute(sa.insert(Link.__table__), links)
        connection.execute(sa.insert(TicketCache.__table__), caches)
        connection.execute(sa.insert(HelpdeskTicket.__table__), tickets)
    engine.dispose()
    return len(links)


def summary(database_url: str) -> dict[str, int]:
    """Delivered, pending and failed notices of the release, and failed work items that met a 429."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT n.delivered_at IS NOT NULL AS delivered, w.state, w.attempts, "
            "coalesce(w.result ->> 'reconciled', 'false') = 'true' AS reconciled FROM requester_notices n "
            "LEFT JOIN work_items w ON w.account_id = n.account_id AND w.idempotency_key = n.work_key")).all()
        failed_429 = connection.execute(sa.text(
            "SELECT count(*) FROM work_items WHERE state = 'failed' AND last_error LIKE '%429%'",
        )).scalar_one()
    engine.dispose()
    counts = Counter("delivered" if row.delivered else "failed" if row.state == "failed" else "pending"
                     for row in rows)
    return {"total": len(rows), "delivered": counts["delivered"], "pending": counts["pending"],
            "failed": counts["failed"], "failed_429": int(failed_429),
            "retried": sum(1 for row in rows if (row.attempts or 0) > 1),
            "reconciled": sum(1 for row in rows if row.reconciled)}


def told_counts(state: Any) -> Counter[int]:
    """How many times each requester was told: comments and follow-ups carrying a release notice's key."""
    told: Counter[int] = Counter()
    with state.lock:
        for comments in state.comments.values():
            for comment in comments:
                key = ((comment.get("metadata") or {}).get("custom") or {}).get("deskmate_key") or ""
                if key.startswith(NOTICE_KEY_PREFIX) and comment.get("public"):
                    told[int(key.rsplit(":", 1)[1])] += 1
    return told


@contextmanager
def workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``flask worker`` processes; stopped (SIGTERM, then SIGKILL) on the way out."""
    running: list[subprocess.Popen[bytes]] = []

    try:
        for _ in range(count):
            running.append(start_worker(env))
        yield running
    finally:
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "flask", "worker", "--threads", "2"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(requesters: int, *, worker_count: int = 2, rate_limit: int = 700, kill_after: int | None = None,
        timeout: float = 900.0, extra_settings: dict[str, Any] | None = None,
        database_url: str | None = None, poll_seconds: float = 1.0) -> dict[str, Any]:
    """The whole benchmark; returns the result object (the JSON line's content)."""
    from sandbox.server import ServerThread
    from sandbox.zendesk import HelpdeskState, create_app

    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=ADMIN_EMAIL,
                          admin_name="Deskmate", api_token=API_TOKEN, rate_limit=rate_limit, job_delay=0.05)
    server = ServerThread(create_app(state)).start()
    try:
        progress(f"helpdesk emulator on {server.url} at {rate_limit} requests/minute; seeding {requesters} "
                 "requesters")
        seeded = seed_helpdesk(state, requesters)
        database = _given(database_url) if database_url else scratch_postgres("deskmate_bench_release")
        with database as url:
            env = env_for(settings_for(url, server.url, **(extra_settings or {})))
            flask(env, "db", "upgrade")
            linked = seed_links(url, seeded, datetime.now(UTC))
            progress(f"{linked} tickets of {requesters} requesters linked to feature request #1 "
                     f"({len(seeded.closed)} with every ticket closed)")
            state.stats.reset()
            started = time.monotonic()
            flask(env, "feature-requests", "release", "1", "--no-wait")
            progress("released; notices recorded, starting workers")
            killed = 0
            with workers(env, worker_count) as running:
                last = ""
                while True:
                    counts = summary(url)
                    stats = state.stats.snapshot()
                    line = (f"delivered {counts['delivered']}/{counts['total']}  failed {counts['failed']}"
                            f"  api calls {stats['api_calls']}  429 served {stats['responses_429']}")
                    if line != last:
                        progress(f"{time.monotonic() - started:6.1f}s  {line}")
                        last = line
                    if kill_after is not None and not killed and counts["delivered"] >= kill_after:
                        victim = running[0]
                        os.killpg(victim.pid, signal.SIGKILL)
                        victim.wait()
                        killed += 1
                        running.append(start_worker(env))
                        progress(f"killed worker {victim.pid} with SIGKILL after {counts['delivered']} told; "
                                 "started another")
                    if counts["total"] and counts["pending"] == 0:
                        break
                    if time.monotonic() - started > timeout:
                        progress("timed out waiting for the release to finish")
                        break
                    time.sleep(poll_seconds)
            seconds = time.monotonic() - started
            counts = summary(url)
        told = told_counts(state)
        stats = state.stats.snapshot()
        return {
            "requesters": requesters,
            "told_once": sum(1 for r in seeded.tickets if told[r] == 1),
            "told_twice": sum(1 for r in seeded.tickets if told[r] >= 2),
            "seconds": round(seconds, 1),
            "api_calls": stats["api_calls"],
            "unhandled_429": counts["failed_429"],
            "never_told": sum(1 for r in seeded.tickets if told[r] == 0),
            "followups": sum(1 for r in seeded.closed if told[r]),
            "failed": counts["failed"],
            "responses_429": stats["responses_429"],
            "rate_limit_per_minute": rate_limit,
            "workers": worker_count,
            "killed_workers": killed,
            "retried": counts["retried"],  # claimed again after a lost lease (a killed worker's items)
            "reconciled": counts["reconciled"],  # found already told by an earlier attempt, not sent again
            "by_endpoint": stats["by_endpoint"],
        }
    finally:
        server.stop()
        state.close()


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requesters", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate-limit", type=int, default=700)
    parser.add_argument("--kill-after", type=int, default=None,
                        help="SIGKILL one worker once this many requesters were told, then start another")
    args = parser.parse_args()
    result = run(args.requesters, worker_count=args.workers, rate_limit=args.rate_limit,
                 kill_after=args.kill_after)
    progress(json.dumps(result["by_endpoint"]))
    result.pop("by_endpoint")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
