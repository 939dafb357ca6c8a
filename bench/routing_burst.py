"""A live-event spike: thousands of tickets at once, routed by Deskmate within the helpdesk's rate limit.

The helpdesk emulator (rate limit 700 requests a minute, Zendesk Enterprise) runs in this process. Deskmate
runs as it does in production: gunicorn serving the webhooks, ``flask worker`` processes routing, PostgreSQL
(or SQLite) in between. The emulator fires signed webhooks for every new ticket; Deskmate classifies from its
cache and applies decisions with ``update_many``. The same run measures the naive strategy (read requester,
read organization, update ticket: ``bench/routing_naive.py``) on a sample of tickets.

    .venv/bin/python bench/routing_burst.py                 # 5,000 tickets
    .venv/bin/python bench/routing_burst.py --tickets 500   # a quick run

Progress goes to stderr; the summary to stdout, its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.server import ServerThread  # noqa: E402
from sandbox.zendesk import HelpdeskState, create_app  # noqa: E402

PG_ADMIN_URL = os.environ.get("DESKMATE_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SUBDOMAIN, ACCOUNT_ID = "bench", 424242
EMAIL, TOKEN = "deskmate@bench.example", "bench-api-token"
# What routing needs: new tickets, and the changes that make it look again (their snapshots also carry the
# current group and assignee, so an agent's move is seen without subscribing to group changes).
ROUTING_EVENTS = ["created", "organization_changed", "requester_changed"]


def install_subscriptions() -> list[str]:
    """The subscriptions `flask zendesk install` sets up for every plugin (requirements.json)."""
    requirements = json.loads((ROOT / "requirements.json").read_text())
    return [kind for webhook in requirements["webhooks"].values() for kind in webhook["subscriptions"]]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the helpdesk ---------------------------------------------------------------------------------------

class Account:
    """The emulated account: groups, organizations (some premium partners) and their people."""

    def __init__(self, state: HelpdeskState, *, organizations: int, people: int, premium_share: float,
                 rng: random.Random) -> None:
        self.state = state
        self.support = state.create_group({"name": "Support"})["id"]  # the first group is the default
        self.tier_1 = state.create_group({"name": "Tier 1"})["id"]
        self.tier_2 = state.create_group({"name": "Tier 2"})["id"]
        premium_count = max(1, round(organizations * premium_share))
        # Records made over the past weeks, as in a real account (the exports page by update time).
        since = time.time() - 30 * 86400
        self.premium_orgs = [state.create_organization({"name": f"Partner {n}", "tags": ["premium_partner"]},
                                                       at=since + n)["id"] for n in range(premium_count)]
        self.plain_orgs = [state.create_organization({"name": f"Club {n}"}, at=since + 300 + n)["id"]
                           for n in range(organizations - premium_count)]
        self.people: list[tuple[int, bool]] = []  # (user id, premium partner?)
        for n in range(people):
            roll = rng.random()
            if roll < premium_share:
                org, premium = rng.choice(self.premium_orgs), True
            elif roll < 0.8:
                org, premium = rng.choice(self.plain_orgs), False
            else:
                org, premium = None, False
            user = state.create_user({"name": f"Viewer {n}", "email": f"viewer{n}@mail{n % 50}.example",
                                      "organization_id": org}, at=since + 600 + n * 60)
            self.people.append((int(user["id"]), premium))


@contextmanager
def helpdesk(rate_limit: int, job_delay: float) -> Iterator[tuple[HelpdeskState, str]]:
    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=EMAIL,
                          admin_name="Deskmate", api_token=TOKEN, rate_limit=rate_limit, job_delay=job_delay,
                          delivery_workers=16)
    server = ServerThread(create_app(state)).start()
    try:
        yield state, server.url
    finally:
        state.close()
        server.stop()


def restart_rate_window(url: str, rate_limit: int) -> None:
    """A fresh rolling minute and zeroed counters, so that each phase is measured on its own."""
    requests.post(f"{url}/__sandbox/config", json={"rate_limit": rate_limit}, timeout=10).raise_for_status()
    requests.post(f"{url}/__sandbox/stats/reset", timeout=10).raise_for_status()


def create_tickets(url: str, requesters: list[int], *, threads: int = 16) -> list[int]:
    """End users open tickets at once (the unmetered end-user endpoint, which fires webhooks)."""
    local = threading.local()

    def create(requester_id: int) -> int:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        answer = local.session.post(f"{url}/__sandbox/tickets", timeout=30, json={
            "requester_id": requester_id, "subject": "The live stream stopped",
            "body": "Black screen at 20:01."})
        answer.raise_for_status()
        return int(answer.json()["ticket"]["id"])

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(create, requesters))


# --- Deskmate -------------------------------------------------------------------------------------------

@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/deskmate.sqlite3"
        return
    name = f"deskmate_routing_bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def deskmate_env(database_url: str, helpdesk_url: str, webhook_secret: str, args: argparse.Namespace) -> dict:
    settings = {
        "ENV": "development", "SECRET_KEY": secrets.token_urlsafe(40), "DATABASE_URL": database_url,
        "PLUGINS": "routing", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text",
        "ZENDESK_SUBDOMAIN": SUBDOMAIN, "ZENDESK_ACCOUNT_ID": str(ACCOUNT_ID),
        "ZENDESK_BASE_URL": helpdesk_url, "ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": TOKEN,
        "ZENDESK_WEBHOOK_SECRET": webhook_secret,
        "ZENDESK_RATE_LIMIT_PER_MINUTE": str(args.rate_limit), "WORKER_THREADS": str(args.worker_threads),
        "WORKER_POLL_SECONDS": "0.2",
        # The core sidebar fetches each new ticket's requester when it is not cached (one call a ticket);
        # the spike measures routing, so it is off unless --sidebar-warm-cache (see docs/benchmarks.md).
        "SIDEBAR_WARM_CACHE": "true" if args.sidebar_warm_cache else "false",
        # The directory export starts 30 days back, so that `flask routing sync` warms every requester.
        "PLUGIN_SETTINGS": json.dumps({"routing": {"users_export_days": 30}}),
    }
    env = {key: value for key, value in os.environ.items() if not key.startswith("DESKMATE_")}
    env.update({f"DESKMATE_{name}": value for name, value in settings.items()})
    env.update(PYTHONPATH=str(ROOT), FLASK_APP="wsgi:app")
    return env


def flask(env: dict[str, str], *command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def process(command: list[str], env: dict[str, str], name: str) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.NamedTemporaryFile(prefix=f"routing-bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        yield child
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        log.close()


def wait_until_up(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            requests.get(url + "/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def failures(database_url: str) -> tuple[int, int, list[str]]:
    """Work items and events Deskmate gave up on: (all of them, those caused by 429s, a few errors)."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        errors = [row[0] or "" for row in connection.execute(sa.text(
            "SELECT last_error FROM work_items WHERE state = 'failed' "
            "UNION ALL SELECT last_error FROM inbound_events WHERE state = 'failed'"))]
    engine.dispose()
    limited = [error for error in errors if "429" in error or "rate" in error.lower() or "budget" in error]
    return len(errors), len(limited), errors[:5]


# --- measuring ------------------------------------------------------------------------------------------

class Watch:
    """Counts the spike's tickets that sit in the group their segment expects, from the emulator's state."""

    def __init__(self, state: HelpdeskState, expected: dict[int, int]) -> None:
        self.state = state
        self.expected = expected

    def routed(self) -> tuple[int, int]:
        """(tickets in their expected group, tickets in some other tier group)."""
        right = wrong = 0
        with self.state.lock:
            for ticket_id, group_id in self.expected.items():
                ticket = self.state.tickets.get(ticket_id)
                if ticket is None or ticket["group_id"] is None:
                    continue
                if ticket["group_id"] == group_id:
                    right += 1
                else:
                    wrong += 1
        return right, wrong


def naive_phase(url: str, account: Account, people: list[tuple[int, bool]], args: argparse.Namespace) -> dict:
    """Route a sample the naive way (no webhooks registered yet, so Deskmate never sees these tickets)."""
    ids = create_tickets(url, [user_id for user_id, _ in people])
    restart_rate_window(url, args.rate_limit)
    tickets = []
    with account.state.lock:
        for ticket_id in ids:
            record = account.state.tickets[ticket_id]
            tickets.append({"id": ticket_id, "requester_id": record["requester_id"],
                            "organization_id": record["organization_id"]})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"tickets": tickets, "groups": {"tier_1": account.tier_1, "tier_2": account.tier_2}}, spec)
    say(f"naive strategy: {len(tickets)} tickets, read requester, read organization, update ticket")
    script = str(ROOT / "bench" / "routing_naive.py")
    done = subprocess.run([sys.executable, script, url, EMAIL, TOKEN, spec.name], capture_output=True,
                          text=True, timeout=3600, check=True)
    os.unlink(spec.name)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    say(f"naive strategy: {result['api_calls']} calls ({result['api_calls_per_ticket']} a ticket), "
        f"{result['responses_429']} answered 429, {result['seconds']} s")
    return result


def spike_phase(url: str, state: HelpdeskState, account: Account, requesters: list[tuple[int, bool]],
                args: argparse.Namespace) -> dict[str, Any]:
    restart_rate_window(url, args.rate_limit)
    say(f"spike: {len(requesters)} tickets opened at once")
    started = time.monotonic()
    created: list[int] = []
    creator = threading.Thread(target=lambda: created.extend(
        create_tickets(url, [user_id for user_id, _ in requesters])), daemon=True)
    creator.start()
    creator.join()
    created_seconds = time.monotonic() - started
    expected = {ticket_id: account.tier_2 if premium else account.tier_1
                for ticket_id, (_, premium) in zip(created, requesters, strict=True)}
    watch = Watch(state, expected)
    say(f"  {created_seconds:6.1f}s  all {len(created)} tickets created")
    last_report = 0.0
    right = wrong = 0
    finished_at = None
    while time.monotonic() - started < args.timeout:
        right, wrong = watch.routed()
        elapsed = time.monotonic() - started
        if right == len(expected):
            finished_at = elapsed
            break
        if elapsed - last_report >= 2:
            stats = state.stats.snapshot()
            say(f"  {elapsed:6.1f}s  routed {right}/{len(expected)}  helpdesk calls {stats['api_calls']}  "
                f"429s {stats['responses_429']}")
            last_report = elapsed
        time.sleep(0.1)
    stats = state.stats.snapshot()
    say(f"  {time.monotonic() - started:6.1f}s  routed {right}/{len(expected)}  helpdesk calls "
        f"{stats['api_calls']}  429s {stats['responses_429']}")
    return {"created_seconds": created_seconds, "finished_at": finished_at, "routed": right, "wrong": wrong,
            "stats": stats}


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with ExitStack() as stack:
        state, url = stack.enter_context(helpdesk(args.rate_limit, args.job_delay))
        account = Account(state, organizations=200, people=args.people, premium_share=args.premium_share,
                          rng=rng)
        say(f"helpdesk emulator at {url}: {len(account.people)} people, {len(account.premium_orgs)} premium "
            f"partner and {len(account.plain_orgs)} other organizations, limit {args.rate_limit}/min")
        naive = naive_phase(url, account, rng.sample(account.people, args.naive_tickets), args) \
            if args.naive_tickets else None

        database_url = stack.enter_context(database(args.database))
        port = free_port()
        subscriptions = install_subscriptions() if args.subscriptions == "install" else [
            f"zen:event-type:ticket.{kind}" for kind in ROUTING_EVENTS]
        spec = {"name": "Deskmate", "status": "active", "http_method": "POST", "request_format": "json",
                "endpoint": f"http://127.0.0.1:{port}/webhooks/zendesk", "subscriptions": subscriptions}
        webhook = requests.post(f"{url}/api/v2/webhooks", auth=(f"{EMAIL}/token", TOKEN), timeout=10,
                                json={"webhook": spec}).json()
        secret = requests.get(f"{url}/api/v2/webhooks/{webhook['webhook']['id']}/signing_secret",
                              auth=(f"{EMAIL}/token", TOKEN), timeout=10).json()["signing_secret"]["secret"]
        env = deskmate_env(database_url, url, secret, args)
        say(f"deskmate: migrating {args.database}, warming the cache (flask routing sync)")
        flask(env, "db", "upgrade")
        cells = [line.split("│")[1:-1] for line in flask(env, "routing", "sync").splitlines() if "│" in line]
        say("  cached: " + ", ".join(f"{count.strip()} {name.strip()}" for name, count in cells))
        web = stack.enter_context(process(
            [sys.executable, "-m", "gunicorn", "--workers", str(args.web_workers), "--threads", "8", "--bind",
             f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048", "wsgi:app"], env, "web"))
        wait_until_up(f"http://127.0.0.1:{port}", web)
        for n in range(args.workers):
            stack.enter_context(process([sys.executable, "-m", "flask", "worker"], env, f"worker{n}"))
        say(f"deskmate: gunicorn ({args.web_workers} workers) on port {port}, "
            f"{args.workers} worker process(es) x {args.worker_threads} threads")
        time.sleep(2)  # the workers connect and start their loops

        requesters = [rng.choice(account.people) for _ in range(args.tickets)]
        spike = spike_phase(url, state, account, requesters, args)
        total_failed, limited, samples = failures(database_url)
        for sample in samples:
            say(f"  failed: {sample[:200]}")
    stats = spike["stats"]
    routed = spike["routed"]
    summary = {
        "tickets": args.tickets,
        "api_calls_per_ticket": round(stats["api_calls"] / routed, 4) if routed else None,
        "naive_api_calls_per_ticket": naive["api_calls_per_ticket"] if naive else None,
        "seconds_to_route_all": round(spike["finished_at"], 1) if spike["finished_at"] is not None else None,
        "unrouted": args.tickets - routed,
        "unhandled_429": limited,
    }
    print(f"tickets created in        {spike['created_seconds']:.1f} s")
    print(f"routed                    {routed}/{args.tickets} (in another tier group: {spike['wrong']})")
    print(f"seconds to route all      {summary['seconds_to_route_all']}")
    print(f"helpdesk calls            {stats['api_calls']} ({summary['api_calls_per_ticket']} per routed "
          f"ticket); answered 429: {stats['responses_429']}")
    by_endpoint = ", ".join(f"{name} {count}" for name, count in stats["by_endpoint"].items())
    print(f"calls by endpoint         {by_endpoint}")
    print(f"failed work/events        {total_failed} (caused by 429s: {limited})")
    if naive:
        # The naive way is bound by the rate limit: past the first minute's allowance, limit calls a minute.
        calls = args.tickets * naive["api_calls_per_ticket"]
        projected = max(args.tickets * naive["seconds"] / naive["tickets"],
                        (calls - args.rate_limit) / args.rate_limit * 60)
        print(f"naive strategy            {naive['api_calls_per_ticket']} calls per ticket, "
              f"{naive['tickets']} tickets in {naive['seconds']} s ({naive['responses_429']} answered 429); "
              f"{args.tickets} tickets would take about {projected:.0f} s")
    print(json.dumps(summary))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=5000, help="tickets in the spike (default 5000)")
    parser.add_argument("--naive-tickets", type=int, default=None,
                        help="tickets routed the naive way (default: 300, fewer for a small spike; 0 skips)")
    parser.add_argument("--subscriptions", choices=("routing", "install"), default="install",
                        help="webhook events: all that `flask zendesk install` subscribes (default), or only "
                             "what routing needs (fewer events: the echoes of routing's updates stay away)")
    parser.add_argument("--sidebar-warm-cache", action="store_true",
                        help="leave the core sidebar's per-ticket warm-up fetch on (off by default here)")
    parser.add_argument("--people", type=int, default=3000, help="requesters in the account (default 3000)")
    parser.add_argument("--premium-share", type=float, default=0.2, help="share of premium partners (0.2)")
    parser.add_argument("--rate-limit", type=int, default=700, help="helpdesk requests a minute (700)")
    parser.add_argument("--job-delay", type=float, default=0.2, help="seconds a bulk update job takes (0.2)")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="flask worker processes (default 2)")
    parser.add_argument("--worker-threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.naive_tickets is None:
        args.naive_tickets = min(300, args.tickets)
    summary = run(args)
    sys.exit(0 if summary["unrouted"] == 0 else 1)


if __name__ == "__main__":
    main()
