"""Sidebar opens: helpdesk calls per open, and latency with 150 ms added to every helpdesk call.

Deskmate runs as in production: gunicorn serving the sidebar and the webhooks, a ``flask worker`` process,
PostgreSQL (``--database sqlite`` for the embedded default). The helpdesk emulator runs in this process with
``latency_ms=150`` on every API call. Deskmate is installed with ``flask zendesk install --with-app``; agents
get their sidebar sessions through the signed load (the emulator's RS256 token), then open tickets over HTTP.

Three phases, every open a real ``GET /sidebar/api/tickets/<id>``:

* **cold**: tickets Deskmate has never heard of (created in the emulator without webhooks): the worst case,
  one helpdesk call per first open, then none on a second open (cached);
* **live**: tickets arriving the normal way (the helpdesk's ``ticket.created`` webhook, which makes the worker
  fetch the requester and organization into the cache), picked up by agents ``--pickup-seconds`` after they
  arrive, and reopened at random while agents work: the p95 that agents feel.

    .venv/bin/python bench/sidebar.py                      # 200 live tickets, 8 agents, PostgreSQL
    .venv/bin/python bench/sidebar.py --tickets 100 --database sqlite

Progress goes to stderr; the summary to stdout, its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import env_for, free_port, gunicorn, percentile, progress, scratch_postgres  # noqa: E402
from sandbox.server import ServerThread  # noqa: E402
from sandbox.zendesk import HelpdeskState, create_app  # noqa: E402

SUBDOMAIN, ACCOUNT_ID = "bench", 424242
EMAIL, TOKEN = "deskmate@bench.example", "bench-api-token"
SHOW_TICKET = "GET /api/v2/tickets/<int:ticket_id>"
PARTNER_DOMAINS = ("studio-aurora.example", "kinonord.example", "cinesol.example", "lumiere-live.example")


def start_helpdesk(rate_limit: int) -> tuple[HelpdeskState, ServerThread]:
    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=EMAIL,
                          admin_name="Deskmate", api_token=TOKEN, rate_limit=rate_limit, job_delay=0.05,
                          delivery_backoff=0.2)
    for domain in PARTNER_DOMAINS:
        state.create_organization({"name": domain.split(".")[0].title(), "domain_names": [domain],
                                   "tags": ["premium_partner"],
                                   "organization_fields": {"partner_tier": "premium"}})
    state.create_user({"name": "Agent", "email": "agent@deskmate.example", "role": "agent",
                       "locale": "en-US"})
    return state, ServerThread(create_app(state)).start()


def flask(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=180)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Agent:
    """One agent's browser: a sidebar session from the signed load, then ticket opens."""

    def __init__(self, helpdesk: HelpdeskState, deskmate_url: str) -> None:
        self.http = requests.Session()
        _app, installation = helpdesk.sidebar_installation()  # type: ignore[misc]
        user = helpdesk.user_by_email("agent@deskmate.example")
        token = helpdesk.sidebar_token(installation, ticket_id=1, user_id=user["id"])
        page = self.http.post(f"{deskmate_url}/sidebar/", data={"token": token}, timeout=10)
        page.raise_for_status()
        marker = '<meta name="deskmate-session" content="'
        self.session = page.text.split(marker, 1)[1].split('"', 1)[0]
        self.url = deskmate_url

    def open(self, ticket_id: int) -> tuple[float, int, float]:
        """Open a ticket's sidebar: (milliseconds here, helpdesk calls Deskmate made, milliseconds in Deskmate)."""
        started = time.perf_counter()
        response = self.http.get(f"{self.url}/sidebar/api/tickets/{ticket_id}?locale=en",
                                 headers={"Authorization": f"Bearer {self.session}"}, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        response.raise_for_status()
        timing = dict(part.strip().split(";dur=") for part in response.headers["Server-Timing"].split(","))
        return elapsed, int(response.json()["meta"]["helpdesk_calls"]), float(timing["total"])


def summary(name: str, samples: list[tuple[float, int, float]]) -> dict[str, Any]:
    times = [ms for ms, _, _ in samples]
    server = [ms for _, _, ms in samples]
    calls = sum(count for _, count, _ in samples)
    return {"phase": name, "opens": len(samples), "helpdesk_calls": calls,
            "calls_per_open": round(calls / len(samples), 3) if samples else None,
            "p50_ms": round(percentile(times, 0.50), 1), "p95_ms": round(percentile(times, 0.95), 1),
            "p99_ms": round(percentile(times, 0.99), 1), "max_ms": round(max(times), 1) if times else None,
            "server_p50_ms": round(percentile(server, 0.50), 1), "server_p95_ms": round(percentile(server, 0.95), 1)}


def cold_phase(helpdesk: HelpdeskState, agents: list[Agent], count: int,
               think_seconds: float) -> tuple[dict, dict, int]:
    """Tickets Deskmate never heard of: first opens (one call each), then second opens (none)."""
    ids = []
    for n in range(count):
        requester = {"email": f"cold{n}@viewers.example", "name": f"Cold {n}"}
        ticket = helpdesk.create_ticket({"subject": f"Cold ticket {n}", "comment": {"body": "Buffering"},
                                         "requester": requester}, channel="web", fire=False)
        ids.append(int(ticket["id"]))
    before = helpdesk.stats.snapshot()["api_calls"]

    def opens(index: int) -> list[tuple[float, int, float]]:
        """One agent's share of the tickets, opened one after the other as a person would."""
        pause = random.Random(index)
        results = []
        for ticket_id in ids[index::len(agents)]:
            results.append(agents[index].open(ticket_id))
            time.sleep(pause.uniform(0.5, 1.5) * think_seconds)
        return results

    with ThreadPoolExecutor(len(agents)) as pool:
        first = [sample for samples in pool.map(opens, range(len(agents))) for sample in samples]
        again = [sample for samples in pool.map(opens, range(len(agents))) for sample in samples]
    counted = helpdesk.stats.snapshot()["api_calls"] - before
    return summary("cold: first open", first), summary("cold: second open", again), counted


def live_phase(helpdesk: HelpdeskState, agents: list[Agent], count: int, rate: float, pickup: float,
               repeats: float, think_seconds: float, seed: int) -> tuple[dict, dict, dict]:
    """Tickets arriving by webhook; agents pick each up after ``pickup`` s and reopen earlier ones."""
    rng = random.Random(seed)
    arrived: list[tuple[float, int]] = []
    lock = threading.Lock()
    done = threading.Event()

    def produce() -> None:
        for n in range(count):
            domain = rng.choice(PARTNER_DOMAINS) if rng.random() < 0.2 else "viewers.example"
            email = f"viewer{rng.randrange(count // 2 + 1)}@{domain}"  # some requesters write more than once
            requester = {"email": email, "name": email.split("@")[0]}
            ticket = helpdesk.create_ticket({"subject": f"Live ticket {n}", "requester": requester,
                                             "comment": {"body": "Stream froze"}}, channel="web")
            with lock:
                arrived.append((time.monotonic(), int(ticket["id"])))
            time.sleep(1 / rate)  # the arrival rate of a busy evening, not waiting for work
        done.set()

    first: list[tuple[float, int, float]] = []
    again: list[tuple[float, int, float]] = []
    queue_position = [0]

    def work(agent: Agent) -> None:
        think = random.Random(id(agent))
        while True:
            with lock:
                now = time.monotonic()
                ready = [ticket for at, ticket in arrived[queue_position[0]:] if now - at >= pickup]
                ticket = ready[0] if ready else None
                if ticket is not None:
                    queue_position[0] += 1
                opened = [ticket_id for _, ticket_id in arrived[:queue_position[0] - (ticket is not None)]]
            if ticket is not None:
                result = agent.open(ticket)
                with lock:
                    first.append(result)
            elif opened and think.random() < repeats / (1 + repeats):
                result = agent.open(think.choice(opened[-50:]))
                with lock:
                    again.append(result)
            elif done.is_set() and queue_position[0] >= len(arrived):
                return
            else:
                time.sleep(0.05)  # nothing to pick up yet
                continue
            time.sleep(think.uniform(0.5, 1.5) * think_seconds)  # a human reads the sidebar before the next

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    with ThreadPoolExecutor(len(agents)) as pool:
        list(pool.map(work, agents))
    producer.join()
    return (summary("live: first open", first), summary("live: reopen", again),
            summary("live: all", first + again))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=200, help="live tickets")
    parser.add_argument("--cold", type=int, default=40, help="tickets Deskmate never heard of")
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--rate", type=float, default=2.0, help="live tickets per second")
    parser.add_argument("--pickup-seconds", type=float, default=3.0,
                        help="an agent opens a ticket this long after it arrived")
    parser.add_argument("--repeats", type=float, default=2.0, help="reopens per first open, on average")
    parser.add_argument("--think-seconds", type=float, default=1.0, help="an agent's pause between opens")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--rate-limit", type=int, default=2500, help="helpdesk requests per minute")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()

    with ExitStack() as stack:
        helpdesk, desk_server = start_helpdesk(args.rate_limit)
        stack.callback(helpdesk.close)
        stack.callback(desk_server.stop)
        if args.database == "postgresql":
            database_url = stack.enter_context(scratch_postgres("deskmate_bench_sidebar"))
        else:
            database_url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/deskmate.sqlite3"
        port = free_port()
        deskmate_url = f"http://127.0.0.1:{port}"
        env = env_for({
            # No DESKMATE_ZENDESK_WEBHOOK_SECRET: `flask zendesk install` stores the webhook's own secret, and
            # an environment value would overwrite it whenever a process starts (sync_default_account).
            "env": "development", "secret_key": "bench-secret-key-" + "x" * 32, "database_url": database_url,
            "log_level": "WARNING", "public_url": deskmate_url, "zendesk_subdomain": SUBDOMAIN,
            "zendesk_account_id": ACCOUNT_ID, "zendesk_base_url": desk_server.url, "zendesk_email": EMAIL,
            "zendesk_api_token": TOKEN,
            "zendesk_rate_limit_per_minute": args.rate_limit, "worker_threads": 4,
        })
        flask(env, "db", "upgrade")
        progress(flask(env, "zendesk", "install", "--with-app").strip())
        stack.enter_context(gunicorn("wsgi:app", env=env, workers=args.web_workers, port=port, threads=2))
        worker = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env)
        stack.callback(lambda: (worker.terminate(), worker.wait(timeout=20)))
        agents = [Agent(helpdesk, deskmate_url) for _ in range(args.agents)]
        helpdesk.faults.set(latency_ms=args.latency_ms)
        progress(f"helpdesk latency {args.latency_ms} ms; {args.agents} agents; database {args.database}")

        cold_first, cold_again, cold_calls = cold_phase(helpdesk, agents, args.cold, args.think_seconds)
        progress(json.dumps(cold_first))
        progress(json.dumps(cold_again))
        before = helpdesk.stats.snapshot()["by_endpoint"].get(SHOW_TICKET, 0)
        live_first, live_again, live_all = live_phase(helpdesk, agents, args.tickets, args.rate,
                                                      args.pickup_seconds, args.repeats, args.think_seconds,
                                                      seed=7)
        fetches = helpdesk.stats.snapshot()["by_endpoint"].get(SHOW_TICKET, 0) - before
        for row in (live_first, live_again, live_all):
            progress(json.dumps(row))

    result = {
        # The worst case: a ticket the cache never saw costs one call; once cached, none.
        "api_calls_per_open": round(cold_calls / max(1, cold_first["opens"]), 3),
        "api_calls_per_open_cached": cold_again["calls_per_open"],
        # What agents feel: tickets arriving by webhook, opened and reopened while the helpdesk is slow.
        "p95_ms": live_all["p95_ms"],
        "p95_ms_first_open_live": live_first["p95_ms"],
        "p95_ms_cold_first_open": cold_first["p95_ms"],
        "server_p95_ms": live_all["server_p95_ms"],
        "api_calls_per_open_live": live_all["calls_per_open"],
        "background_fetches_per_live_ticket": round(fetches / max(1, args.tickets), 3),
        "helpdesk_latency_ms": args.latency_ms, "opens": live_all["opens"] + 2 * cold_first["opens"],
        "database": args.database,
    }
    for row in (cold_first, cold_again, live_first, live_again, live_all):
        print(f"{row['phase']:<20} opens {row['opens']:>5}  calls/open {row['calls_per_open']}  "
              f"p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  p99 {row['p99_ms']} ms  "
              f"(in Deskmate: p50 {row['server_p50_ms']} ms, p95 {row['server_p95_ms']} ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
