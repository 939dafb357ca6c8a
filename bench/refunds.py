"""Billing actions from the sidebar: 500 refund requests from two agents, double clicks, billing timeouts.

Everything runs in this process over real HTTP on loopback: the helpdesk emulator (two agents in the group
"Tier 2"), the billing emulator (``--customers`` customers with 2-3 pay-per-view purchases each, 10 % of its
writes performed and then answered too late: ``timeout_rate=0.1``, ``timeout_ms`` above the plugin's
``billing_write_timeout_seconds``), Deskmate served by ``sandbox.server.ServerThread`` and two ``Worker``
instances on a thread each (``run_forever``), SQLite by default or a throw-away PostgreSQL database.

Two agents (a thread each, each with its own sidebar session from a signed RS256 load) post refund requests
to ``POST /sidebar/api/customer/actions`` one after the other, as the sidebar's form does: full refunds (with
or without the amount), partial ones, some asking more than is left on the purchase, some on a purchase
already refunded, and now and then both agents refunding the same purchase in full at the same moment. A
fifth of the requests are sent twice with the same ``request_id``: half at once (a double click, while the
first POST is in flight), half 0.5-3 s later (a retry after a timeout). The clock of a request runs from its
first POST to its action's final state (``finished_at`` in the database), or to the POST's answer when the
request was refused at the door.

    .venv/bin/python bench/refunds.py                          # SQLite
    .venv/bin/python bench/refunds.py --database postgresql    # PostgreSQL on 127.0.0.1:5432 (trust auth)
    .venv/bin/python -m bench.refunds --requests 100           # a quick run

Progress goes to stderr; the summary to stdout, its last line one JSON object. The exit status is 1 when the
billing ledger disagrees with the actions (a refund made twice, one beyond a purchase's amount, a refund
without a done action or a done action without its refund) or an action never reached a final state.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support import percentile, progress, scratch_postgres  # noqa: E402
from sandbox.server import ServerThread  # noqa: E402

SUBDOMAIN, ACCOUNT_ID = "acme", 9001
ADMIN_EMAIL, API_TOKEN = "deskmate@acme.example", "bench-api-token"
BILLING_SECRET = "bench-billing-secret"
INSTALLATION_ID, APP_ID = 77, 12
REASONS = ("Stream did not play", "Charged twice", "Event cancelled or postponed", "Goodwill gesture")
EVENTS = ("Champions League final", "Tour de France stage 12", "Jazz at the Opera House", "Derby di Milano",
          "World Boxing Night", "Berlin Marathon live", "Festival de Cannes opening", "NBA Paris Game")
PRICES = (499, 999, 1499, 2499, 4999)
FINAL = frozenset({"done", "refused", "declined", "failed"})
OPEN = frozenset({"requested", "approved", "awaiting_approval"})


# --- the plan: who asks what, in which order --------------------------------------------------------------

@dataclass
class Customer:
    email: str
    ticket_id: int
    purchases: dict[str, int]  # id -> amount (minor units)


@dataclass
class Request:
    """One distinct request (one request_id); ``meant`` is what the plan expects of it."""

    index: int
    agent: int
    customer: Customer
    purchase_id: str
    amount: int | None  # None: the whole of what is left
    reason: str
    meant: str  # partial | full | over (more than is left) | again (already refunded) | contest
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    again_after: float | None = None  # a second POST with the same request_id, this long after the first
    barrier: threading.Barrier | None = None  # contests: both agents post at the same moment

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "refund", "ticket_id": self.customer.ticket_id, "locale": "en",
                                "purchase_id": self.purchase_id, "reason": self.reason,
                                "request_id": self.request_id}
        if self.amount is not None:
            body["amount"] = self.amount
        return body


def make_customers(count: int, rng: random.Random) -> list[Customer]:
    customers = []
    for n in range(count):
        purchases = {f"pur_{n:04d}_{k}": rng.choice(PRICES) for k in range(rng.choice((2, 3)))}
        customers.append(Customer(f"viewer{n:04d}@viewers.example", 0, purchases))
    return customers


def make_plan(customers: list[Customer], total: int, contests: int, twice: float,
              rng: random.Random) -> list[list[Request]]:
    """Two agents' lists of requests. Each agent has its own customers (even / odd), so that what is left on a
    purchase is known when the plan is made; contests are purchases kept aside for both agents at once."""
    contests = min(contests, len(customers) // 2, total // 4)
    contested = rng.sample(customers, contests)
    kept_aside = {customer.email: list(customer.purchases)[-1] for customer in contested}
    left = {pid: amount for customer in customers for pid, amount in customer.purchases.items()}
    own = [customers[agent::2] for agent in (0, 1)]
    plans: list[list[Request]] = [[], []]
    per_agent = [(total - 2 * contests + 1 - agent) // 2 for agent in (0, 1)]
    for agent in (0, 1):
        for _ in range(per_agent[agent]):
            customer = rng.choice(own[agent])
            choices = [pid for pid in customer.purchases if pid != kept_aside.get(customer.email)]
            open_ones = [pid for pid in choices if left[pid] > 0]
            spent = [pid for pid in choices if left[pid] == 0]
            if open_ones and (not spent or rng.random() < 0.95):
                purchase_id = rng.choice(open_ones)
            else:
                purchase_id = rng.choice(spent)
            reason = rng.choice(REASONS)
            remaining = left[purchase_id]
            roll = rng.random()
            if remaining == 0:
                meant, amount = "again", None
            elif roll < 0.10:
                meant, amount = "over", remaining + rng.randint(1, 500)
            elif roll < 0.45 or remaining < 200:
                meant, amount = "full", None if rng.random() < 0.5 else remaining
                left[purchase_id] = 0
            else:
                meant, amount = "partial", max(50, min(remaining - 50, round(remaining * rng.uniform(0.2, 0.6))))
                left[purchase_id] -= amount
            plans[agent].append(Request(0, agent, customer, purchase_id, amount, reason, meant))
    # Contests go in at the same places of both lists, so that both agents reach each at about one time.
    for number, customer in enumerate(contested):
        barrier = threading.Barrier(2)
        for agent in (0, 1):
            where = round((number + 1) * len(plans[agent]) / (contests + 1)) + number
            plans[agent].insert(where, Request(0, agent, customer, kept_aside[customer.email], None,
                                               REASONS[0], "contest", barrier=barrier))
    every = [request for plan in plans for request in plan]
    for index, request in enumerate(every):
        request.index = index
    for request in rng.sample(every, round(twice * len(every))):
        # Half a double click (the first POST still in flight), half a retry after a timeout.
        request.again_after = rng.uniform(0.0, 0.05) if rng.random() < 0.5 else rng.uniform(0.5, 3.0)
    return plans


# --- the emulators and Deskmate ---------------------------------------------------------------------------

def start_helpdesk(stack: ExitStack, rate_limit: int) -> tuple[Any, str, list[int]]:
    from sandbox.zendesk import HelpdeskState, create_app

    state = HelpdeskState(subdomain=SUBDOMAIN, account_id=ACCOUNT_ID, admin_email=ADMIN_EMAIL,
                          admin_name="Deskmate", api_token=API_TOKEN, rate_limit=rate_limit, job_delay=0.05)
    server = ServerThread(create_app(state)).start()
    stack.callback(state.close)
    stack.callback(server.stop)
    tier2 = state.create_group({"name": "Tier 2"})["id"]
    agents = [int(state.create_user({"name": name, "email": email, "role": "agent", "locale": "en-US",
                                     "default_group_id": tier2})["id"])
              for name, email in (("James Carter", "james@acme.example"), ("Ana Ruiz", "ana@acme.example"))]
    return state, server.url, agents


def start_billing(stack: ExitStack, customers: list[Customer], timeout_rate: float, timeout_ms: int,
                  seed: int) -> tuple[Any, str]:
    from sandbox.billing import BillingState, create_app

    state = BillingState(secret=BILLING_SECRET)
    for customer in customers:
        state.add({"email": customer.email, "currency": "EUR",
                   "plan": {"name": "Standard", "price": 1299, "currency": "EUR", "interval": "month"},
                   "subscription": None, "refunds": [], "promo_codes": [],
                   "purchases": [{"id": pid, "kind": "ppv", "title": EVENTS[n % len(EVENTS)], "amount": amount,
                                  "currency": "EUR", "date": "2026-11-20", "amount_refunded": 0,
                                  "status": "paid", "duplicate_of": None}
                                 for n, (pid, amount) in enumerate(customer.purchases.items())]})
    server = ServerThread(create_app(state)).start()
    stack.callback(server.stop)
    requests.post(server.url + "/__billing/faults", timeout=5, json={
        "timeout_rate": timeout_rate, "timeout_ms": timeout_ms, "seed": seed}).raise_for_status()
    return state, server.url


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "postgresql":
        with scratch_postgres("deskmate_bench_refunds") as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/deskmate.sqlite3"


def deskmate(stack: ExitStack, database_url: str, helpdesk_url: str, billing_url: str,
             args: argparse.Namespace) -> tuple[Any, str]:
    from app import create_app
    from app.accounts import sync_default_account
    from app.db import storage
    from app.migrate import upgrade
    from plugins.customer.billing import cache

    customer = {
        "source": "billing", "billing_url_template": billing_url + "/customers/{email}",
        "billing_secret": f"Bearer {BILLING_SECRET}", "billing_timeout_seconds": 2,
        "billing_write_timeout_seconds": args.write_timeout, "answer_wait_seconds": args.answer_wait,
        # Limits far above what the bench spends: nothing needs a lead's approval, but the totals are still
        # locked and counted for every allowed action.
        "rules": [{"group": "Tier 2", "per_ticket": 10**8, "per_agent_per_day": 10**10}],
    }
    app = create_app({
        "env": "development", "database_url": database_url, "secret_key": "bench-secret-key-" + "x" * 32,
        "log_level": "ERROR", "log_format": "text", "plugins": ["customer"],
        "zendesk_subdomain": SUBDOMAIN, "zendesk_account_id": ACCOUNT_ID, "zendesk_base_url": helpdesk_url,
        "zendesk_email": ADMIN_EMAIL, "zendesk_api_token": API_TOKEN,
        "zendesk_webhook_secret": "bench-webhook-secret", "zendesk_rate_limit_per_minute": args.rate_limit,
        "worker_poll_seconds": args.poll_seconds, "work_backoff_base_seconds": args.backoff_seconds,
        "plugin_settings": {"customer": customer},
    })
    upgrade(app)
    stack.callback(storage.dispose, app)
    sync_default_account(app, datetime.now(UTC))
    cache.clear()
    server = ServerThread(app).start()
    stack.callback(server.stop)
    return app, server.url


def open_tickets(app: Any, helpdesk: Any, customers: list[Customer], key: rsa.RSAPrivateKey) -> int:
    """Each customer's ticket in the helpdesk and in the sidebar's cache (as opening it there leaves it);
    trust the app installation whose loads the bench signs. Returns the account's id."""
    from app.accounts import active_accounts
    from app.db import storage
    from app.sidebar.context import store_answer
    from app.sidebar.keys import register_installation

    account_id = int(active_accounts(app)[0].id)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    now = datetime.now(UTC)
    register_installation(app, account_id=account_id, installation_id=INSTALLATION_ID, app_id=APP_ID, now=now,
                          public_key_pem=pem)
    base = helpdesk.base_url()
    with storage.session(app) as session:
        for n, customer in enumerate(customers):
            user = helpdesk.create_user({"name": f"Viewer {n}", "email": customer.email, "locale": "en-US"})
            ticket = helpdesk.create_ticket({"subject": "Refund please", "requester_id": user["id"],
                                             "comment": {"body": "The stream froze."}},
                                            actor_id=user["id"], channel="web", fire=False)
            customer.ticket_id = int(ticket["id"])
            with helpdesk.lock:
                requester = helpdesk.user_view(user, base)
            store_answer(session, account_id, {"ticket": ticket, "users": [requester], "organizations": []}, now)
    return account_id


def sidebar_session(deskmate_url: str, key: rsa.RSAPrivateKey, agent_id: int, ticket_id: int) -> str:
    """The session the sidebar page carries, from a load signed as the helpdesk signs it."""
    now = int(time.time())
    claims = {"iss": f"{SUBDOMAIN}.zendesk.com",
              "aud": f"https://{SUBDOMAIN}.zendesk.com/api/v2/apps/installations/{INSTALLATION_ID}.json",
              "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, "sub": str(agent_id),
              "context": {"product": "support", "location": "ticket_sidebar", "ticket_id": ticket_id,
                          "user_id": agent_id, "user_role": "agent"}}
    page = requests.post(f"{deskmate_url}/sidebar/", data={"token": jwt.encode(claims, key, algorithm="RS256")},
                         timeout=10)
    page.raise_for_status()
    marker = '<meta name="deskmate-session" content="'
    return page.text.split(marker, 1)[1].split('"', 1)[0]


class QuietRetries(logging.Filter):
    """Counts, instead of printing, the worker's traceback for each billing write that timed out (the work
    queue retries it: expected here, a tenth of the writes)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if type(error).__name__ == "BillingUnavailable":
            self.dropped[str(error)] += 1
            return False
        return True


class MeasuredWorker:
    """A ``Worker`` on a thread of its own (``run_forever`` with one loop), and the CPU its loop used."""

    def __init__(self, app: Any, name: str) -> None:
        from app.worker import Worker

        outer = self
        self.cpu_seconds = 0.0

        class _Worker(Worker):
            def _loop(self, events_first: bool = True) -> None:
                try:
                    super()._loop(events_first)
                finally:
                    outer.cpu_seconds += time.thread_time()

        self.worker = _Worker(app, worker_id=name)
        self.thread = threading.Thread(target=self._run, name=f"bench-{name}", daemon=True)

    def _run(self) -> None:
        with self.worker.app.app_context():
            self.worker.run_forever(threads=1)

    def start(self) -> MeasuredWorker:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)


# --- the agents -------------------------------------------------------------------------------------------

@dataclass
class Post:
    request: int
    sent: float  # epoch seconds
    answered: float
    status: int
    body: dict[str, Any]
    again: bool


class Desk:
    """The two agents' sidebars: every POST and its answer, counted as they come."""

    def __init__(self, url: str, sessions: list[str]) -> None:
        self.url = url
        self.sessions = sessions
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.firsts = 0
        self.client_cpu = 0.0
        self._local = threading.local()

    def post(self, request: Request, again: bool) -> Post:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = requests.Session()
        started, cpu = time.time(), time.thread_time()
        try:
            answer = http.post(f"{self.url}/sidebar/api/customer/actions", json=request.body(), timeout=60,
                               headers={"Authorization": f"Bearer {self.sessions[request.agent]}"})
            status = answer.status_code
            try:
                body = answer.json()
            except ValueError:
                body = {"raw": answer.text[:200]}
        except requests.RequestException as error:
            status, body = 0, {"error": {"message": f"{type(error).__name__}: {error}"}}
        record = Post(request.index, started, time.time(), status, body if isinstance(body, dict) else {}, again)
        with self.lock:
            self.posts.append(record)
            self.client_cpu += time.thread_time() - cpu
        return record


def action_of(body: dict[str, Any]) -> dict[str, Any] | None:
    action = body.get("action") if "action" in body else (body.get("error") or {}).get("action")
    return action if isinstance(action, dict) else None


def run_agents(desk: Desk, plans: list[list[Request]], total: int, started: float,
               app: Any, account_id: int) -> None:
    again_pool = ThreadPoolExecutor(8, thread_name_prefix="again")
    counted = [0]

    def send_again(request: Request, first_sent: float) -> None:
        assert request.again_after is not None
        time.sleep(max(0.0, first_sent + request.again_after - time.time()))
        desk.post(request, again=True)

    def agent(plan: list[Request]) -> None:
        for request in plan:
            if request.barrier is not None:
                request.barrier.wait(timeout=120)
            first_sent = time.time()
            if request.again_after is not None:
                again_pool.submit(send_again, request, first_sent)
            desk.post(request, again=False)
            with desk.lock:
                counted[0] += 1
                count = counted[0]
            if count % 100 == 0 or count == total:
                progress(f"{time.monotonic() - started:6.1f}s  {count}/{total} requests  "
                         f"{len(desk.posts)} POSTs  actions {states(app, account_id)}")

    threads = [threading.Thread(target=agent, args=(plan,), name=f"agent-{n}") for n, plan in enumerate(plans)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again_pool.shutdown(wait=True)


# --- what came of it ----------------------------------------------------------------------------------------

def states(app: Any, account_id: int) -> dict[str, int]:
    from app.db import storage
    from plugins.customer.models import CustomerAction

    with storage.reader(app).connect() as connection:
        rows = connection.execute(sa.select(CustomerAction.state, sa.func.count()).where(
            CustomerAction.account_id == account_id).group_by(CustomerAction.state)).all()
    return {str(state): int(count) for state, count in rows}


def actions_by_request(app: Any, account_id: int) -> dict[str, Any]:
    from app.db import storage
    from plugins.customer.models import CustomerAction

    with storage.reader(app).connect() as connection:
        rows = connection.execute(sa.select(CustomerAction).where(CustomerAction.account_id == account_id)).all()
    return {row.request_id: row for row in rows}


def work_summary(app: Any) -> dict[str, Any]:
    from app.db import storage

    with storage.reader(app).connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT kind, state, count(*), sum(attempts), max(attempts) FROM work_items GROUP BY kind, state"
        )).all()
    return {f"{kind} {state}": {"items": int(count), "attempts": int(attempts or 0), "max": int(most or 0)}
            for kind, state, count, attempts, most in rows}


def perform_attempts(app: Any) -> dict[int, int]:
    """Attempts of each action's billing write (its ``customer.perform_action`` work item), by action id."""
    from app.db import storage

    with storage.reader(app).connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT idempotency_key, attempts FROM work_items WHERE kind = 'customer.perform_action'")).all()
    return {int(key.rsplit(":", 1)[1]): int(attempts) for key, attempts in rows}


def spread(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5):.0f} / p95 {percentile(values, 0.95):.0f} ms" if values else "none"


def epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=500, help="distinct refund requests")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--contests", type=int, default=15,
                        help="purchases both agents refund in full at the same moment")
    parser.add_argument("--twice", type=float, default=0.2, help="share of requests sent twice")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout-rate", type=float, default=0.1, help="billing writes answered too late")
    parser.add_argument("--timeout-ms", type=int, default=800, help="how late (the write is made at once)")
    parser.add_argument("--write-timeout", type=float, default=0.5,
                        help="the plugin's billing_write_timeout_seconds")
    parser.add_argument("--answer-wait", type=float, default=3.0,
                        help="the plugin's answer_wait_seconds (the POST waits this long for the outcome)")
    parser.add_argument("--poll-seconds", type=float, default=0.2, help="the workers' idle poll interval")
    parser.add_argument("--backoff-seconds", type=float, default=0.2,
                        help="work_backoff_base_seconds: the first retry comes 0.5-1 x this later")
    parser.add_argument("--rate-limit", type=int, default=2500, help="helpdesk requests per minute")
    parser.add_argument("--settle-seconds", type=float, default=90.0,
                        help="how long to wait for the last actions to reach a final state")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    customers = make_customers(args.customers, rng)
    plans = make_plan(customers, args.requests, args.contests, args.twice, rng)
    requests_by_index = {request.index: request for plan in plans for request in plan}
    total = len(requests_by_index)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with ExitStack() as stack:
        helpdesk, helpdesk_url, agent_ids = start_helpdesk(stack, args.rate_limit)
        billing, billing_url = start_billing(stack, customers, args.timeout_rate, args.timeout_ms, args.seed)
        database_url = stack.enter_context(database(args.database))
        app, deskmate_url = deskmate(stack, database_url, helpdesk_url, billing_url, args)
        stack.enter_context(app.app_context())
        account_id = open_tickets(app, helpdesk, customers, key)
        sessions = [sidebar_session(deskmate_url, key, agent, customers[0].ticket_id) for agent in agent_ids]
        quiet = QuietRetries()
        logging.getLogger("deskmate.worker").addFilter(quiet)
        workers = [MeasuredWorker(app, f"bench-worker-{n}").start() for n in range(2)]
        for worker in workers:
            stack.callback(worker.stop)
        mix = Counter(request.meant for request in requests_by_index.values())
        twice = sum(1 for request in requests_by_index.values() if request.again_after is not None)
        progress(f"{args.database}: {len(customers)} customers, {total} requests ({dict(mix)}), {twice} sent "
                 f"twice; billing writes time out at {args.timeout_rate:.0%} ({args.timeout_ms} ms held, "
                 f"plugin waits {args.write_timeout} s); 2 agents, 2 workers")

        desk = Desk(deskmate_url, sessions)
        started, wall, cpu = time.monotonic(), time.time(), time.process_time()
        run_agents(desk, plans, total, started, app, account_id)
        posted = time.monotonic()
        deadline = posted + args.settle_seconds
        while True:
            counts = states(app, account_id)
            still_open = sum(count for state, count in counts.items() if state in OPEN)
            if not still_open or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        wall_s, cpu_s = time.time() - wall, time.process_time() - cpu
        progress(f"{time.monotonic() - started:6.1f}s  all posted after {posted - started:.1f} s; "
                 f"actions {counts}")
        for worker in workers:
            worker.stop()
        worker_cpu = sum(worker.cpu_seconds for worker in workers)

        actions = actions_by_request(app, account_id)
        ledger = requests.get(billing_url + "/__billing/ledger", timeout=10).json()
        stats = requests.get(billing_url + "/__billing/stats", timeout=10).json()
        work = work_summary(app)
        attempts = perform_attempts(app)
        final_purchases = {purchase["id"]: (purchase["amount"], purchase["amount_refunded"])
                           for customer in customers for purchase in billing.customer(customer.email)["purchases"]}

    # Per distinct request: its outcome and the time from its first POST to its final state.
    posts_by_request: dict[int, list[Post]] = defaultdict(list)
    for post in desk.posts:
        posts_by_request[post.request].append(post)
    outcome: dict[int, str] = {}
    to_final: list[float] = []
    surprises: Counter[str] = Counter()
    examples: dict[str, str] = {}
    segments: dict[str, list[float]] = defaultdict(list)
    lateness: dict[str, list[int]] = defaultdict(list)
    door_reasons: Counter[str] = Counter()
    worker_reasons: Counter[str] = Counter()
    for index, request in requests_by_index.items():
        posts = sorted(posts_by_request[index], key=lambda post: post.sent)
        first = next(post for post in posts if not post.again)
        action = actions.get(request.request_id)
        if action is not None:
            outcome[index] = action.state
            if action.state in FINAL and action.finished_at is not None:
                to_final.append((epoch(action.finished_at) - first.sent) * 1000)
            if action.state == "done" and action.decided_at is not None and action.finished_at is not None:
                retried = "written once" if attempts.get(action.id, 1) == 1 else "write retried"
                segments["POST -> action row"].append((epoch(action.requested_at) - first.sent) * 1000)
                segments["row -> a worker decides"].append(
                    (epoch(action.decided_at) - epoch(action.requested_at)) * 1000)
                segments["decided -> done"].append((epoch(action.finished_at) - epoch(action.decided_at)) * 1000)
                segments[f"first POST -> done, {retried}"].append((epoch(action.finished_at) - first.sent) * 1000)
            if action.state == "refused":
                worker_reasons[(action.refusal or "")[:60]] += 1
        elif all(400 <= post.status < 500 for post in posts):
            outcome[index] = "refused at the door"
            to_final.append((first.answered - first.sent) * 1000)
            door_reasons[str((first.body.get("error") or {}).get("message", ""))[:60]] += 1
        else:
            outcome[index] = f"no action (HTTP {sorted({post.status for post in posts})})"
        expected_done = request.meant in ("partial", "full")
        state = outcome[index]
        if expected_done and state != "done":
            surprises["meant to be done, ended " + state] += 1
            examples.setdefault("meant to be done, ended " + state, json.dumps(
                {"request": request.body(), "meant": request.meant,
                 "refusal": getattr(action, "refusal", None) or (first.body.get("error") or {}).get("message")}))
        if request.meant in ("over", "again") and state == "done":
            surprises[f"meant to be refused ({request.meant}), ended done"] += 1
        # Every POST of a request that became an action should answer about that action.
        for post in posts:
            if action is None:
                continue
            seen = action_of(post.body)
            if seen is None or seen.get("id") != action.id:
                label = f"a {'repeated' if post.again else 'first'} POST answered HTTP {post.status} without " \
                        f"the action (which ended {action.state})"
                surprises[label] += 1
                late = round((post.sent - first.sent) * 1000)
                lateness[label].append(late)
                examples.setdefault(label, json.dumps({"request": request.body(), "answer": post.body,
                                                       "after_first_ms": late}))
    for request in requests_by_index.values():
        if request.meant == "contest" and request.agent == 0:
            pair = [r for r in requests_by_index.values() if r.meant == "contest"
                    and r.purchase_id == request.purchase_id]
            done = sum(1 for r in pair if outcome.get(r.index) == "done")
            if done != 1:
                surprises[f"a contested purchase refunded by {done} of its 2 requests"] += 1

    done_ids = {action.id for action in actions.values() if action.state == "done"}
    refunds = ledger["refunds"]
    per_action = Counter(str((refund.get("metadata") or {}).get("deskmate_action")) for refund in refunds)
    per_purchase: Counter[str] = Counter()
    for refund in refunds:
        per_purchase[refund["purchase_id"]] += int(refund["amount"])
    amounts = {pid: amount for customer in customers for pid, amount in customer.purchases.items()}
    beyond = sorted(pid for pid, refunded in per_purchase.items() if refunded > amounts[pid])
    beyond += sorted(pid for pid, (amount, refunded) in final_purchases.items() if refunded > amount
                     and pid not in beyond)
    twice_refunded = sorted(action for action, count in per_action.items() if count > 1)
    without_action = sorted(action for action in per_action if not action.isdigit() or
                            int(action) not in done_ids)
    without_refund = sorted(action_id for action_id in done_ids if per_action[str(action_id)] == 0)
    by_amount = [action for action in actions.values() if action.state == "done" and any(
        str((refund.get("metadata") or {}).get("deskmate_action")) == str(action.id)
        and int(refund["amount"]) != action.amount for refund in refunds)]
    unfinished = sorted(state for state in outcome.values() if state in OPEN)

    distinct_allowed = len(done_ids)
    refused = sum(1 for state in outcome.values() if state in ("refused", "refused at the door", "declined"))
    post_ms = [(post.answered - post.sent) * 1000 for post in desk.posts]
    first_post_ms = [(post.answered - post.sent) * 1000 for post in desk.posts if not post.again]
    statuses = Counter(post.status for post in desk.posts)
    server_cpu = cpu_s - worker_cpu - desk.client_cpu

    print(f"outcomes: {dict(Counter(outcome.values()))}")
    print(f"  refused at the door: {dict(door_reasons.most_common(6))}")
    print(f"  refused by the worker or billing: {dict(worker_reasons.most_common(6))}")
    print(f"POST answers: {dict(sorted(statuses.items()))}; first POSTs p50 {percentile(first_post_ms, 0.5):.0f} "
          f"ms p95 {percentile(first_post_ms, 0.95):.0f} ms; all POSTs p95 {percentile(post_ms, 0.95):.0f} ms")
    print(f"first POST -> final state: p50 {percentile(to_final, 0.5):.0f} ms, p95 {percentile(to_final, 0.95):.0f}"
          f" ms, p99 {percentile(to_final, 0.99):.0f} ms, max {max(to_final, default=0):.0f} ms")
    print("  done actions: " + "; ".join(f"{name} {spread(values)} ({len(values)})"
                                         for name, values in segments.items()))
    print(f"billing: {json.dumps(stats)}")
    print(f"work items: {json.dumps(work)}")
    print(f"worker tracebacks logged (ERROR) for retried billing writes, not shown: {dict(quiet.dropped)}")
    print(f"CPU {cpu_s:.1f} s in {wall_s:.1f} s: workers' loops {worker_cpu:.1f} s, agents' HTTP clients "
          f"{desk.client_cpu:.1f} s, the rest (web server, emulators, scheduler) {server_cpu:.1f} s"
          + ("; PostgreSQL's own processes not counted" if args.database == "postgresql" else ""))
    for label, count in surprises.most_common():
        sent = f" (sent {min(lateness[label])}-{max(lateness[label])} ms after the first)" \
            if lateness[label] else ""
        print(f"unexpected: {count} x {label}{sent}")
        if label in examples:
            print(f"  e.g. {examples[label]}")
    problems = []
    if twice_refunded:
        problems.append(f"actions refunded more than once: {twice_refunded[:10]}")
    if beyond:
        problems.append(f"purchases refunded beyond their amount: {beyond[:10]}")
    if without_action:
        problems.append(f"refunds without a done action: {without_action[:10]}")
    if without_refund:
        problems.append(f"done actions without a refund: {without_refund[:10]}")
    if by_amount:
        problems.append(f"refunds of another amount than their action's: {[a.id for a in by_amount][:10]}")
    if unfinished:
        problems.append(f"{len(unfinished)} actions never reached a final state: {dict(Counter(unfinished))}")
    if len(refunds) != distinct_allowed:
        problems.append(f"{len(refunds)} refunds in the ledger for {distinct_allowed} done actions")
    for problem in problems:
        print(f"FAILED: {problem}")

    result = {
        "requests": total,
        "submitted": len(desk.posts),
        "distinct_allowed": distinct_allowed,
        "refunds_made": len(refunds),
        "refunded_twice": len(twice_refunded) + len(beyond),
        "refused": refused,
        "p95_ms": round(percentile(to_final, 0.95), 1),
        "p50_ms": round(percentile(to_final, 0.5), 1),
        "post_p95_ms": round(percentile(post_ms, 0.95), 1),
        "billing_timeouts": int(stats["injected"]["timeout"]),
        "cpu_ms_per_request": round(cpu_s * 1000 / total, 1),
        "wall_s": round(wall_s, 1),
        "database": args.database,
    }
    print(json.dumps(result), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
