"""The live-event spike, end to end: Deskmate under gunicorn with worker processes on PostgreSQL.

The sandbox helpdesk (700 requests/minute) and Slack run as their own process. Before the spike, requesters ask
for one feature (tickets tagged ``fr_<id>``); then the spike arrives (a share from premium partners, agents
replying to some); half-way an incident is published and the feature is released. With ``--faults``, three
worker processes and two web processes are killed with SIGKILL at random moments (``--seed``) and restarted, the
helpdesk answers 429 for a minute and later 503 for a minute (``--fault-seconds``), Slack rate-limits for 20 s,
and every webhook is delivered twice. With ``--outage SECONDS``, all of Deskmate (gunicorn and every worker) is
killed in the middle of the spike and started again that many seconds later: the helpdesk's deliveries fail,
its retries give up and its circuit breaker trips, and what was lost comes back through the catch-up pass
(``app/catch_up.py``). At the end every invariant is checked from the
emulators' own records (which cost no API quota):

- every ticket routed once, to the right tier group;
- every premium ticket announced once in Slack; no SLA reminder or breach message posted twice; every premium
  ticket unanswered at its deadline got its breach message;
- every requester of the released feature told once.

    python bench/spike.py                      # 10,000 tickets over 3 minutes
    python bench/spike.py --faults
    python bench/spike.py --outage 120         # all of Deskmate down for two minutes mid-spike
    python bench/spike.py --tickets 300 --minutes 0.5 --requesters 60 --sla-minutes 2 --faults --fault-seconds 15
                                               # the CI-sized run (tests/bench/test_spike_reduced.py)

The last line is one JSON object with the figures and ``"invariants_ok"``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import ROOT, env_for, free_port, gunicorn, percentile, progress, scratch_postgres

TIER_1, TIER_2 = 3000001, 3000002  # the seeded groups
ADMIN_ID = 1000001  # the seeded admin, whose API token Deskmate uses
PREMIUM_CHANNEL = "C02PREMIUM"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deskmate's live-event spike, end to end.")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--premium-share", type=float, default=0.2)
    parser.add_argument("--reply-share", type=float, default=0.3)
    parser.add_argument("--requesters", type=int, default=1000, help="people who asked for the released feature")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="flask worker processes")
    parser.add_argument("--sla-minutes", type=int, default=4,
                        help="premium first-reply target for the run (short, so that reminders and breaches happen)")
    parser.add_argument("--slack-rate", type=float, default=50.0,
                        help="Slack messages per second per channel the emulator allows (Slack's own: about 1)")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--fault-seconds", type=float, default=60,
                        help="how long the helpdesk answers 429, and then 503, with --faults")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the fault moments and victims (default: a new one, printed in the report)")
    parser.add_argument("--outage", type=float, default=0,
                        help="seconds all of Deskmate (web and workers) is down in the middle of the spike")
    parser.add_argument("--timeout", type=float, default=1800, help="give up waiting for the work after this")
    return parser.parse_args()


class Processes:
    """The Deskmate processes of the run: gunicorn (web) and the workers, with kill -9 and restart."""

    def __init__(self, env: dict[str, str], workers: int, log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.workers: list[subprocess.Popen[bytes]] = []
        self.peak_kb: dict[str, int] = defaultdict(int)
        self.cpu_ticks: dict[tuple[str, int], int] = {}  # (role, pid) -> user + system clock ticks, last seen
        self.kills: list[str] = []
        for n in range(workers):
            self.workers.append(self._spawn_worker(n))

    def _spawn_worker(self, n: int) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"worker{n}.log", "ab")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen([sys.executable, "-m", "flask", "worker", "--threads", "2"], cwd=ROOT, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill_worker(self, rng: random.Random) -> None:
        n = rng.randrange(len(self.workers))
        self._sample(f"worker{n}", self.workers[n].pid)
        os.killpg(self.workers[n].pid, signal.SIGKILL)
        self.workers[n].wait()
        self.kills.append(f"worker{n}")
        self.workers[n] = self._spawn_worker(n)

    def kill_web_worker(self, master_pid: int, rng: random.Random) -> None:
        children = _children(master_pid)
        if children:
            victim = rng.choice(children)
            os.kill(victim, signal.SIGKILL)  # gunicorn's master starts a new one
            self.kills.append(f"web:{victim}")

    def sample(self, master_pid: int | None) -> None:
        for n, process in enumerate(self.workers):
            self._sample(f"worker{n}", process.pid)
        if master_pid is not None:
            self._sample("web-master", master_pid)
            for child in _children(master_pid):
                self._sample("web-worker", child)

    def _sample(self, role: str, pid: int) -> None:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        fields = stat.rsplit(")", 1)[1].split()
        self.cpu_ticks[(role, pid)] = int(fields[11]) + int(fields[12])  # utime + stime
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_kb[role] = max(self.peak_kb[role], int(line.split()[1]))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used per role (every process seen in it, killed ones up to their last sample)."""
        ticks: dict[str, int] = defaultdict(int)
        for (role, _), used in self.cpu_ticks.items():
            ticks[role] += used
        return {role: round(used / os.sysconf("SC_CLK_TCK"), 1) for role, used in sorted(ticks.items())}

    def kill_all(self) -> None:
        """The outage: every worker killed at once (SIGKILL), none restarted until ``restart_all``."""
        for n, process in enumerate(self.workers):
            self._sample(f"worker{n}", process.pid)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.kills.append("all workers")

    def restart_all(self) -> None:
        self.workers = [self._spawn_worker(n) for n in range(len(self.workers))]

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def main() -> None:
    args = parse_args()
    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    rng = random.Random(seed)
    helpdesk_port, slack_port, web_port = free_port(), free_port(), free_port()
    helpdesk, slack, web = (f"http://127.0.0.1:{port}" for port in (helpdesk_port, slack_port, web_port))
    webhook_secret = secrets.token_urlsafe(24)
    log_dir = Path(os.environ.get("DESKMATE_BENCH_LOGS", "/tmp/deskmate-spike"))
    log_dir.mkdir(parents=True, exist_ok=True)

    with ExitStack() as stack:
        failures: list[str] = []  # the report's; a run with any keeps its database to be read
        database_url = stack.enter_context(scratch_postgres("deskmate_spike", keep=lambda: bool(failures)))
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--seed", "--zendesk-port", str(helpdesk_port),
             "--slack-port", str(slack_port), "--webhook-url", f"{web}/webhooks/zendesk", "--webhook-secret",
             webhook_secret, "--interactivity-url", f"{web}/slack/interactions", "--rate-limit", "700",
             "--slack-post-rate", str(args.slack_rate), "--slack-post-burst", str(max(4, int(args.slack_rate)))],
            cwd=ROOT, stdout=open(log_dir / "sandbox.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True)
        stack.callback(lambda: (os.killpg(sandbox.pid, signal.SIGTERM), sandbox.wait(timeout=10)))
        _wait_up(helpdesk + "/__sandbox/state")
        _wait_up(slack + "/__sandbox/messages?count_only=1")

        settings = {
            # Production's JSON logs, but not DESKMATE_ENV=production: that refuses the loopback http:// URL.
            "env": "development", "log_format": "json",
            "secret_key": "spike-" + secrets.token_urlsafe(32), "database_url": database_url,
            "log_level": "WARNING", "public_url": web,
            "zendesk_subdomain": "sandbox", "zendesk_account_id": 1, "zendesk_base_url": helpdesk,
            "zendesk_email": "admin@deskmate-sandbox.example", "zendesk_api_token": "sandbox-api-token",
            "zendesk_webhook_secret": webhook_secret, "zendesk_rate_limit_per_minute": 700,
            "slack_bot_token": "xoxb-sandbox-token", "slack_signing_secret": "sandbox-signing-secret",
            "slack_base_url": f"{slack}/api/", "worker_lease_seconds": 30, "zendesk_timeout_seconds": 10,
            "plugin_settings": {"sla": {
                "targets": [{"segment": "premium_partner", "minutes": args.sla_minutes, "notify": True,
                             "reminders": [m for m in (2, 1) if m < args.sla_minutes]},
                            {"segment": "user", "minutes": 24 * 60}],
                "channels": {"premium_partner": PREMIUM_CHANNEL}}},
        }
        if args.outage:
            # Catch-up every 20 s (the run's SLA targets are minutes), leaving the last minute to its webhooks:
            # the ticket event export, which brings the replies, leaves out its last minute as Zendesk's does.
            settings.update(catch_up_interval_seconds=20, catch_up_settle_seconds=60)
        env = env_for(settings)
        progress("migrating the scratch database...")
        subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        token = subprocess.run([sys.executable, "-m", "flask", "tokens", "create", "--name", "spike"], cwd=ROOT,
                               env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        admin = {"Authorization": f"Bearer {token}"}

        pidfile = log_dir / "gunicorn.pid"
        base = stack.enter_context(gunicorn("wsgi:app", env=env, workers=args.web_workers, threads=4,
                                            port=web_port, pidfile=pidfile))
        master = int(pidfile.read_text().strip())
        processes = Processes(env, args.workers, log_dir)
        stack.callback(processes.stop)
        engine = sa.create_engine(database_url)
        stack.callback(engine.dispose)

        # Before the spike: people ask for a feature (each with one ticket tagged fr_<id>).
        feature = _post(base, "/admin/api/feature-requests", admin,
                        {"title": "Download live replays", "description": "Save a replay to watch offline"})
        feature_id = feature["id"] if "id" in feature else feature["feature_request"]["id"]
        progress(f"{args.requesters} requesters ask for feature request {feature_id}...")
        asked = _create_tickets(helpdesk, [
            {"requester_email": f"fan{n}@viewers.example", "subject": "Can I download replays?",
             "body": "I'd love to keep the final offline.", "tags": [f"fr_{feature_id}"]}
            for n in range(args.requesters)])
        _wait(lambda: _requesters(base, admin, feature_id) >= args.requesters, args.timeout,
              "the feature's requesters to be linked")
        requests.post(f"{helpdesk}/__sandbox/stats/reset", timeout=10)
        first_spike_id = max(asked)

        # The spike, with the incident and the release half-way and, with --faults, the faults.
        from sandbox.load import run_spike

        started = time.monotonic()
        done = threading.Event()
        summary: dict[str, Any] = {}

        def spike() -> None:
            summary.update(run_spike(helpdesk, total=args.tickets, minutes=args.minutes,
                                     premium_share=args.premium_share, reply_share=args.reply_share,
                                     progress=lambda snapshot: progress(f"  spike: {_short(snapshot)}")))
            done.set()

        threading.Thread(target=spike, daemon=True).start()
        halfway = started + args.minutes * 30
        fault_plan = _fault_plan(args, rng, started) if args.faults else []
        if args.outage:  # in the middle of the spike; nothing else is killed while Deskmate is down
            middle = started + args.minutes * 30
            fault_plan = sorted([*[(at, what) for at, what in fault_plan if not (
                middle - args.outage / 2 - 5 <= at <= middle + args.outage / 2 + 5 and what.startswith("kill"))],
                (middle - args.outage / 2, "outage"), (middle + args.outage / 2, "outage-end")])
        outage: dict[str, Any] = {"down": False}
        planned = [(round(at - started, 1), what) for at, what in fault_plan]
        released = published = False
        if args.faults:
            requests.post(f"{helpdesk}/__sandbox/faults", json={"duplicate_webhooks": 1}, timeout=10)
        while not done.is_set():
            now = time.monotonic()
            if not published and now >= halfway and not outage["down"]:
                _post(base, "/admin/api/news/incidents", admin, {
                    "title": "Live playback degraded", "body": "Some viewers see **buffering**.",
                    "severity": "degraded", "keywords": ["buffering", "playback"]})
                published = True
                progress("  incident published")
            if not released and now >= halfway and not outage["down"]:
                _post(base, f"/admin/api/feature-requests/{feature_id}/release", admin, {})
                released = True
                progress("  feature released")
            while fault_plan and fault_plan[0][0] <= now:
                _, what = fault_plan.pop(0)
                if what.startswith("outage"):
                    master = _outage(what, outage, processes, master, stack, env, args, web_port, pidfile, helpdesk)
                else:
                    _inject(what, processes, master, helpdesk, slack, rng, args)
            if not outage["down"]:
                processes.sample(master)
            done.wait(0.5)
        for at, what in fault_plan:  # faults planned after a short spike still happen
            if what.startswith("outage"):
                time.sleep(max(0.0, at - time.monotonic()))  # the outage lasts as long as asked
                master = _outage(what, outage, processes, master, stack, env, args, web_port, pidfile, helpdesk)
            else:
                _inject(what, processes, master, helpdesk, slack, rng, args)
        if not published:
            _post(base, "/admin/api/news/incidents", admin, {
                "title": "Live playback degraded", "body": "Some viewers see **buffering**.",
                "severity": "degraded", "keywords": ["buffering", "playback"]})
        if not released:
            _post(base, f"/admin/api/feature-requests/{feature_id}/release", admin, {})
        spike_seconds = time.monotonic() - started
        progress(f"spike sent in {spike_seconds:.0f}s; waiting for Deskmate to finish the work...")

        # Wait for the work to end: everything handled, every clock of the run past its deadline.
        # Counted from the spike's real end: the load generator runs late on a busy machine.
        deadline_wait = args.sla_minutes * 60 + 20
        sent = time.monotonic()
        _wait(lambda: time.monotonic() - sent > deadline_wait and _idle(engine),
              args.timeout, "the work queue to drain", every=5, report=lambda: progress(f"  {_queue(engine)}"))
        # An idle queue can come a moment before a breach is due: give the scheduler two minutes to act on every
        # clock whose moment has come. One it never acts on is then reported by the check, not waited on.
        try:
            _wait(lambda: not _overdue_clocks(engine) and _idle(engine), 120, "overdue SLA clocks", every=2)
        except SystemExit:
            progress(f"  {_overdue_clocks(engine)} SLA clocks still overdue; checking anyway")
        processes.sample(master)
        requests.delete(f"{helpdesk}/__sandbox/faults", timeout=10)
        stats = requests.get(f"{helpdesk}/__sandbox/stats", timeout=30).json()
        tickets = requests.get(f"{helpdesk}/__sandbox/tickets", timeout=120).json()["tickets"]
        messages = requests.get(f"{slack}/__sandbox/messages", timeout=120).json()
        report = _check(engine, tickets, messages, first_spike_id, set(asked), stats, args)
        failures.extend(report["failures"])
        report["spike_seconds"] = round(spike_seconds, 1)
        report["peak_rss_mb"] = {role: round(kb / 1024, 1) for role, kb in sorted(processes.peak_kb.items())}
        cpu = processes.cpu_seconds()
        report["cpu_seconds"] = cpu
        report["worker_cpu_ms_per_ticket"] = round(1000 * sum(
            used for role, used in cpu.items() if role.startswith("worker")) / max(1, report["tickets"]), 1)
        report["kills"] = processes.kills
        report["faults"] = args.faults
        if args.faults:
            report["seed"], report["fault_plan_s"] = seed, planned
        if args.outage:
            report["outage"] = outage.get("report", {})
            report["outage"].update(_catch_up_report(engine))
        if failures:  # what explains them: Deskmate's own record of the tickets named (the database is kept)
            report["diagnosis"] = _diagnose(engine, failures)
        for name, value in report.items():
            if name not in ("failures",):
                progress(f"{name:>28}: {value}")
        for failure in report["failures"][:20]:
            progress(f"  INVARIANT BROKEN: {failure}")
        print(json.dumps(report))


def _short(snapshot: dict[str, Any]) -> str:
    keys = ("created", "replies", "errors", "elapsed_seconds")
    return ", ".join(f"{key} {snapshot[key]}" for key in keys if key in snapshot)


def _fault_plan(args: argparse.Namespace, rng: random.Random, started: float) -> list[tuple[float, str]]:
    """When each fault happens: the helpdesk's 429s and then 503s early and mid-spike, Slack's rate limit late,
    and three worker and two web kills at random moments of the spike (from ``--seed``)."""
    span = args.minutes * 60
    plan = [(started + span * share, what) for share, what in (
        (0.1, "storm"), (0.5, "errors"), (0.8, "slack-storm"))]
    plan += [(started + rng.uniform(0.05, 0.95) * span, "kill-worker") for _ in range(3)]
    plan += [(started + rng.uniform(0.05, 0.95) * span, "kill-web") for _ in range(2)]
    return sorted(plan)


def _outage(what: str, outage: dict[str, Any], processes: Processes, master: int, stack: ExitStack,
            env: dict[str, str], args: argparse.Namespace, web_port: int, pidfile: Path, helpdesk: str) -> int:
    """Take all of Deskmate down (gunicorn's master and its workers, every worker process: SIGKILL), or bring
    it back on the same port; returns gunicorn's master pid. The helpdesk's deliveries meanwhile fail."""
    if what == "outage":
        processes.sample(master)
        os.killpg(master, signal.SIGKILL)
        os.waitpid(master, 0)  # reaped, and its pid file removed: the restarted gunicorn must not find either
        pidfile.unlink(missing_ok=True)
        processes.kill_all()
        outage.update(down=True, started=time.monotonic())
        progress(f"  outage: all of Deskmate is down for {args.outage:.0f}s")
        return master
    processes.restart_all()
    stack.enter_context(gunicorn("wsgi:app", env=env, workers=args.web_workers, threads=4, port=web_port,
                                 pidfile=pidfile))
    down = round(time.monotonic() - outage["started"], 1)
    breakers = requests.get(f"{helpdesk}/__sandbox/deliveries?breakers_only=1", timeout=30).json()["breakers"]
    outage.update(down=False, report={"down_seconds": down, "breakers": breakers})
    progress(f"  outage over after {down}s; helpdesk breakers: {breakers}")
    return int(pidfile.read_text().strip())


def _catch_up_report(engine: sa.Engine) -> dict[str, Any]:
    """What the catch-up stored: events by type (their keys say so) and the cursor's own count."""
    with engine.connect() as connection:
        made: dict[str, int] = {row[0]: row[1] for row in connection.execute(sa.text(
            "SELECT event_type, count(*) FROM inbound_events WHERE payload->'event'->>'catch_up' = 'true' "
            "GROUP BY event_type"))}
        cursor = connection.execute(sa.text(
            "SELECT events_made, heard_until, last_error FROM helpdesk_cursors WHERE stream = 'tickets'")).first()
    return {"caught_up_events": made, "cursor_events_made": cursor.events_made if cursor else 0,
            "cursor_last_error": cursor.last_error if cursor else None}


def _inject(what: str, processes: Processes, master: int | None, helpdesk: str, slack: str,
            rng: random.Random, args: argparse.Namespace) -> None:
    if what == "storm":
        requests.post(f"{helpdesk}/__sandbox/faults", json={"storm_seconds": args.fault_seconds}, timeout=10)
    elif what == "errors":
        requests.post(f"{helpdesk}/__sandbox/faults",
                      json={"error_seconds": args.fault_seconds, "error_status": 503}, timeout=10)
    elif what == "slack-storm":
        requests.post(f"{slack}/__sandbox/faults", json={"storm_seconds": 20}, timeout=10)
    elif what == "kill-worker":
        processes.kill_worker(rng)
    elif what == "kill-web" and master is not None:
        processes.kill_web_worker(master, rng)
    progress(f"  fault: {what}")


def _diagnose(engine: sa.Engine, failures: list[str]) -> dict[str, Any]:
    """What Deskmate recorded for the tickets an invariant names: routing's decisions by status and note, and
    the work items of those tickets by kind and state (the database itself is kept, named in the log)."""
    ticket_ids = sorted({int(found) for failure in failures for found in re.findall(r"ticket (\d+)", failure)})
    if not ticket_ids:
        return {}
    with engine.connect() as connection:
        decisions = connection.execute(sa.text(
            "SELECT status, coalesce(note, ''), version, count(*) FROM routing_decisions "
            "WHERE ticket_id = ANY(:ids) GROUP BY 1, 2, 3 ORDER BY 4 DESC"), {"ids": ticket_ids}).all()
        work = connection.execute(sa.text(
            "SELECT kind, state, count(*) FROM work_items WHERE "
            "substring(idempotency_key from '^[a-z_]+:[a-z_]+:([0-9]+)')::bigint = ANY(:ids) "
            "GROUP BY 1, 2 ORDER BY 3 DESC"), {"ids": ticket_ids}).all()
        database = connection.execute(sa.text("SELECT current_database()")).scalar()
    return {"database": database, "tickets": len(ticket_ids), "first": ticket_ids[:10],
            "decisions": [list(row) for row in decisions[:20]], "work": [list(row) for row in work[:20]]}


def _wait_up(url: str) -> None:
    _wait(lambda: _answers(url), 60, url)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def _wait(condition: Any, timeout: float, what: str, every: float = 0.5, report: Any = None) -> None:
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        if report and time.monotonic() - last_report > 15:
            report()
            last_report = time.monotonic()
        time.sleep(every)


def _post(base: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    for _ in range(10):  # a web worker may have just been killed
        try:
            answer = requests.post(base + path, json=body, headers=headers, timeout=30)
        except requests.ConnectionError:
            time.sleep(1)
            continue
        if answer.status_code >= 400:
            raise SystemExit(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json()  # type: ignore[no-any-return]
    raise SystemExit(f"POST {path}: Deskmate did not answer")


def _create_tickets(helpdesk: str, tickets: list[dict[str, Any]]) -> list[int]:
    from concurrent.futures import ThreadPoolExecutor

    session = requests.Session()

    def create(ticket: dict[str, Any]) -> int:
        return int(session.post(f"{helpdesk}/__sandbox/tickets", json=ticket, timeout=30).json()["ticket"]["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(create, tickets))


def _requesters(base: str, headers: dict[str, str], feature_id: int) -> int:
    try:
        detail = requests.get(f"{base}/admin/api/feature-requests/{feature_id}", headers=headers, timeout=30).json()
    except (requests.RequestException, ValueError):
        return 0
    body = detail.get("feature_request", detail)
    return len(body.get("requester_list") or [])


def _queue(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        work = dict(connection.execute(sa.text("SELECT state, count(*) FROM work_items GROUP BY state")).all())
        events = dict(connection.execute(sa.text("SELECT state, count(*) FROM inbound_events GROUP BY state")).all())
    return {**{f"work_{k}": v for k, v in work.items()}, **{f"events_{k}": v for k, v in events.items()}}


def _idle(engine: sa.Engine) -> bool:
    queue = _queue(engine)
    return not any(queue.get(key) for key in ("work_pending", "work_running", "events_pending", "events_processing"))


def _overdue_clocks(engine: sa.Engine) -> int:
    """Running SLA clocks whose next moment (reminder, breach) has come and not been acted on yet."""
    with engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT count(*) FROM sla_clocks WHERE state = 'running' "
            "AND next_due_at <= timezone('utc', now()) - interval '2 seconds'")).scalar() or 0)


def _iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _check(engine: sa.Engine, tickets: list[dict[str, Any]], messages: list[dict[str, Any]] | dict[str, Any],
           first_spike_id: int, asked: set[int], stats: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    failures: list[str] = []
    by_id = {ticket["id"]: ticket for ticket in tickets}
    spike_ids = [t["id"] for t in tickets if t["id"] > first_spike_id and not t.get("followup_of")]
    premium_orgs = {2000001, 2000002, 2000003, 2000004}

    # Every ticket routed once, to the right group.
    for ticket_id in [*asked, *spike_ids]:
        ticket = by_id[ticket_id]
        moves = [c for c in ticket["changes"] if c["field"] == "group_id" and c["author_id"] == ADMIN_ID]
        expected = TIER_2 if ticket["organization_id"] in premium_orgs else TIER_1
        if len(moves) != 1:
            failures.append(f"ticket {ticket_id} was moved by Deskmate {len(moves)} times")
        elif int(moves[0]["value"]) != expected:
            failures.append(f"ticket {ticket_id} went to group {moves[0]['value']}, expected {expected}")

    # Slack: arrival once per premium ticket; reminders and breaches at most once; breaches not missed.
    records = messages.get("messages", messages) if isinstance(messages, dict) else messages
    keys: Counter[str] = Counter()
    arrivals: dict[str, str] = {}
    for message in records:
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("deskmate_key")
        if key:
            keys[key] += 1
            if key.startswith("sla:arrival:"):
                arrivals[key] = json.dumps([message.get("text"), message.get("blocks")])
    premium = [i for i in spike_ids if by_id[i]["organization_id"] in premium_orgs]
    for ticket_id in premium:
        if keys[f"sla:arrival:{ticket_id}"] != 1:
            failures.append(f"premium ticket {ticket_id} announced {keys[f'sla:arrival:{ticket_id}']} times")
    for key, count in keys.items():
        if count > 1:
            failures.append(f"Slack message {key} posted {count} times")
    agent_ids = set(range(1000002, 1000010))
    for ticket_id in premium:
        ticket = by_id[ticket_id]
        replies = [_iso(c["at"]) for c in ticket["comments"] if c["public"] and c["author_id"] in agent_ids]
        deadline = _iso(ticket["created_at"]).timestamp() + args.sla_minutes * 60
        answered_in_time = replies and min(replies).timestamp() < deadline - 5
        late = not replies or min(replies).timestamp() > deadline + 5
        # A breach is told either by its own thread reply, or, when the late reply was already known by the
        # time the deadline was looked at (a backlog), by the arrival message saying the target had passed.
        told_in_arrival = any(words in arrivals.get(f"sla:arrival:{ticket_id}", "")
                              for words in ("target had passed", "Target missed"))
        if late and keys[f"sla:breach:{ticket_id}"] != 1 and not told_in_arrival:
            failures.append(f"premium ticket {ticket_id} unanswered at its deadline: breach never told")
        if answered_in_time and keys[f"sla:breach:{ticket_id}"]:
            failures.append(f"premium ticket {ticket_id} answered in time but a breach was posted")

    # Every requester of the released feature told once (a comment, or a follow-up ticket).
    told: Counter[int] = Counter()
    for ticket in tickets:
        for comment in ticket["comments"]:
            if (comment.get("deskmate_key") or "").startswith("notice:") and comment["author_id"] == ADMIN_ID:
                told[ticket["requester_id"]] += 1
        if ticket.get("followup_of") in asked:
            told[ticket["requester_id"]] += 1 if not any(
                (c.get("deskmate_key") or "").startswith("notice:") for c in ticket["comments"]) else 0
    requesters = {by_id[i]["requester_id"] for i in asked}
    for requester in requesters:
        if told[requester] != 1:
            failures.append(f"requester {requester} told {told[requester]} times")

    # Delays, from Deskmate's own records: stored webhook -> routing applied, -> arrival posted.
    with engine.connect() as connection:
        received = dict(connection.execute(sa.text(
            "SELECT ticket_id, min(received_at) FROM inbound_events WHERE event_type = 'ticket.created' "
            "GROUP BY ticket_id")).all())
        applied = connection.execute(sa.text(
            "SELECT idempotency_key, finished_at FROM work_items WHERE state = 'done' AND "
            "(idempotency_key LIKE 'routing:apply:%' OR idempotency_key LIKE 'sla:arrival:%')")).all()
        failed_work = connection.execute(sa.text(
            "SELECT kind, idempotency_key, last_error FROM work_items WHERE state = 'failed' ORDER BY id")).all()
        failed_events = connection.execute(sa.text(
            "SELECT event_type, ticket_id, last_error FROM inbound_events WHERE state = 'failed' ORDER BY id")).all()
    for kind, key, error in failed_work:
        failures.append(f"work item {key} ({kind}) failed: {(error or '')[:160]}")
    for event_type, ticket_id, error in failed_events:
        failures.append(f"event {event_type} of ticket {ticket_id} failed: {(error or '')[:160]}")
    routing_delays, sla_delays = [], []
    for key, finished in applied:
        ticket_id = int(key.split(":")[2])
        if ticket_id in received and ticket_id > first_spike_id:
            seconds = (finished - received[ticket_id]).total_seconds()
            (routing_delays if key.startswith("routing:") else sla_delays).append(seconds)
    total = len(spike_ids)
    return {
        "tickets": total,
        "premium_tickets": len(premium),
        "routing_delay_p50_s": round(percentile(routing_delays, 0.5), 2),
        "routing_delay_p99_s": round(percentile(routing_delays, 0.99), 2),
        "sla_message_delay_p50_s": round(percentile(sla_delays, 0.5), 2),
        "sla_message_delay_p99_s": round(percentile(sla_delays, 0.99), 2),
        "api_calls_per_ticket": round(stats["api_calls"] / max(1, total), 4),
        "api_429_served": stats.get("responses_429", 0),
        "api_calls_by_endpoint": dict(list((stats.get("by_endpoint") or {}).items())[:8]),
        "slack_messages_per_ticket": round(sum(keys.values()) / max(1, total), 4),
        "requesters_told": sum(1 for r in requesters if told[r] == 1),
        "invariants_ok": not failures,
        "failures": failures,
    }


if __name__ == "__main__":
    main()
