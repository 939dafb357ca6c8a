"""Live-event load: thousands of end-user tickets in a few minutes, some answered by agents.

Tickets and replies go through the helpdesk's unmetered `/__sandbox` endpoints (they model end users and
agents, not API clients), so every API call the emulator counts meanwhile was made by Deskmate.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .seed_content import AGENT_REPLIES, AMOUNTS, CODES, DEVICES, EVENTS, TOPICS

Progress = Callable[[dict[str, Any]], None]


@dataclass
class _Counters:
    created: int = 0
    premium: int = 0
    replies: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **amounts: int) -> None:
        with self.lock:
            for key, amount in amounts.items():
                setattr(self, key, getattr(self, key) + amount)


def run_spike(
    url: str,
    *,
    total: int = 5000,
    minutes: float = 3.0,
    premium_share: float = 0.2,
    reply_share: float = 0.3,
    workers: int = 16,
    seed: int = 7,
    progress: Progress | None = None,
    progress_every: float = 5.0,
    reply_delay: tuple[float, float] = (5.0, 60.0),
) -> dict[str, Any]:
    """Create `total` tickets evenly over `minutes` against the helpdesk at `url`; returns a summary.

    A `premium_share` of requesters write from premium-partner domains; a `reply_share` of tickets get a
    public agent reply `reply_delay` (5-60 s) after creation. `progress` gets a snapshot every
    `progress_every` seconds and the final summary.
    """
    rng = random.Random(seed)
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=2, pool_maxsize=workers * 2))
    facts = session.get(f"{url}/__sandbox/facts", timeout=30).json()
    premium = [d for o in facts["organizations"] if o["partner_tier"] == "premium" for d in o["domain_names"]]
    standard = [
        d for o in facts["organizations"] if o["partner_tier"] != "premium" for d in o["domain_names"]
    ]
    agents = [a["email"] for a in facts["agents"]]
    if not premium or not agents:
        raise RuntimeError(
            "seed the helpdesk first (python -m sandbox serve --seed, or POST /__sandbox/seed)"
        )
    counters = _Counters()
    interval = minutes * 60 / max(1, total)
    started = time.monotonic()
    replies: list[tuple[float, int, str, str]] = []  # (due, ticket id, agent, lang)
    replies_lock = threading.Lock()

    def create(n: int) -> None:
        lang = rng.choice(list(DEVICES))
        topic = rng.choice([t for t in TOPICS if t != "partner_ingest"])
        is_premium = rng.random() < premium_share
        domain = rng.choice(premium) if is_premium else rng.choice(standard + ["mail.example"] * 3)
        fill = {
            "event": rng.choice(EVENTS),
            "device": rng.choice(DEVICES[lang]),
            "code": rng.choice(CODES),
            "amount": AMOUNTS[lang],
        }
        subject, body = TOPICS[topic][lang]
        try:
            answer = session.post(
                f"{url}/__sandbox/tickets",
                timeout=30,
                json={
                    "requester_email": f"spike{seed}.{n}@{domain}",
                    "subject": subject.format(**fill),
                    "body": body.format(**fill),
                    "via": rng.choice(["web", "web", "email"]),
                    "tags": ["live_event"],
                },
            )
            answer.raise_for_status()
        except requests.RequestException:
            counters.add(errors=1)
            return
        counters.add(created=1, premium=int(is_premium))
        if rng.random() < reply_share:
            with replies_lock:
                heapq.heappush(
                    replies,
                    (
                        time.monotonic() + rng.uniform(*reply_delay),
                        answer.json()["ticket"]["id"],
                        rng.choice(agents),
                        lang,
                    ),
                )

    def reply(ticket_id: int, agent: str, lang: str) -> None:
        try:
            session.post(
                f"{url}/__sandbox/tickets/{ticket_id}/comments",
                timeout=30,
                json={"author_email": agent, "body": AGENT_REPLIES[lang], "public": True},
            ).raise_for_status()
            counters.add(replies=1)
        except requests.RequestException:
            counters.add(errors=1)

    next_report = started + progress_every
    with ThreadPoolExecutor(workers, thread_name_prefix="spike") as pool:
        n = 0
        while n < total or replies:
            now = time.monotonic()
            if n < total and now >= started + n * interval:
                pool.submit(create, n)
                n += 1
                continue
            with replies_lock:
                due = replies[0] if replies and replies[0][0] <= now else None
                if due:
                    heapq.heappop(replies)
            if due:
                pool.submit(reply, due[1], due[2], due[3])
                continue
            if progress and now >= next_report:
                progress(_snapshot(counters, total, started, session, url))
                next_report = now + progress_every
            next_due = started + n * interval if n < total else float("inf")
            with replies_lock:
                if replies:
                    next_due = min(next_due, replies[0][0])
            # Pacing the generator itself: sleep until the next scheduled ticket or reply.
            time.sleep(max(0.0, min(next_due - time.monotonic(), 0.25)))
    summary = _snapshot(counters, total, started, session, url)
    summary["target_rate_per_s"] = round(total / (minutes * 60), 2)
    if progress:
        progress(summary)
    return summary


def _snapshot(
    counters: _Counters, total: int, started: float, session: requests.Session, url: str
) -> dict[str, Any]:
    elapsed = time.monotonic() - started
    try:
        stats = session.get(f"{url}/__sandbox/stats", timeout=10).json()
    except requests.RequestException:
        stats = {}
    return {
        "elapsed_seconds": round(elapsed, 1),
        "tickets_created": counters.created,
        "target": total,
        "premium_tickets": counters.premium,
        "agent_replies": counters.replies,
        "errors": counters.errors,
        "achieved_rate_per_s": round(counters.created / elapsed, 2) if elapsed else 0.0,
        "deskmate_api_calls": stats.get("api_calls"),
        "api_calls_per_ticket": stats.get("api_calls_per_ticket"),
        "responses_429": stats.get("responses_429"),
    }
