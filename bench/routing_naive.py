"""The naive routing strategy, for comparison with Deskmate's: three helpdesk calls per ticket.

For each ticket: read the requester, read the organization, update the ticket (group, priority, tags). A 429
is waited out as its ``Retry-After`` says, then the call is made again. This is what a straightforward
webhook-to-API integration does; ``bench/routing_burst.py`` runs it against the same emulator.

Usage: routing_naive.py BASE_URL EMAIL TOKEN TICKETS.json  (a list of ``{"id", "requester_id",
"organization_id"}``, plus ``{"tier_1": id, "tier_2": id}`` as "groups"), prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

PREMIUM_TAG = "premium_partner"
PARTNER_DOMAIN = "partner.example"


class NaiveRouter:
    """Routes tickets one by one with plain API calls, counting calls and 429s."""

    def __init__(self, base_url: str, email: str, token: str, groups: dict[str, int]) -> None:
        self.base = base_url.rstrip("/") + "/api/v2"
        self.auth = (f"{email}/token", token)
        self.groups = groups
        self.calls = 0
        self.rate_limited = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
            self._local.session.auth = self.auth
        return self._local.session  # type: ignore[no-any-return]

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        while True:
            response = self._session().request(method, self.base + path, timeout=30, **kwargs)
            with self._lock:
                self.calls += 1
            if response.status_code == 429:
                with self._lock:
                    self.rate_limited += 1
                time.sleep(float(response.headers.get("Retry-After", "1")))
                continue
            response.raise_for_status()
            return response.json()

    def route(self, ticket: dict[str, Any]) -> None:
        try:
            requester = self.call("GET", f"/users/{ticket['requester_id']}.json")["user"]
            organization: dict[str, Any] = {}
            if ticket.get("organization_id"):
                path = f"/organizations/{ticket['organization_id']}.json"
                organization = self.call("GET", path)["organization"]
            premium = PREMIUM_TAG in (organization.get("tags") or []) or str(
                requester.get("email") or "").lower().endswith("@" + PARTNER_DOMAIN)
            fields: dict[str, Any] = {"group_id": self.groups["tier_2" if premium else "tier_1"],
                                      "additional_tags": ["tier_2" if premium else "tier_1"]}
            if premium:
                fields["priority"] = "high"
            self.call("PUT", f"/tickets/{ticket['id']}.json", json={"ticket": fields})
        except requests.RequestException:
            with self._lock:
                self.failed += 1


def run(base_url: str, email: str, token: str, tickets: list[dict[str, Any]], groups: dict[str, int],
        threads: int = 4) -> dict[str, Any]:
    """Route ``tickets`` the naive way; returns calls, 429s, failures and seconds."""
    router = NaiveRouter(base_url, email, token, groups)
    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(router.route, tickets))
    seconds = time.monotonic() - started
    return {"tickets": len(tickets), "api_calls": router.calls, "responses_429": router.rate_limited,
            "failed": router.failed, "seconds": round(seconds, 2),
            "api_calls_per_ticket": round(router.calls / len(tickets), 3) if tickets else None}


def main(argv: list[str]) -> None:
    base_url, email, token, path = argv
    with open(path, encoding="utf-8") as file:
        spec = json.load(file)
    print(json.dumps(run(base_url, email, token, spec["tickets"], spec["groups"])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
