"""`HelpdeskState`: the whole emulated Zendesk account, in memory, guarded by one re-entrant lock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ..faults import Faults
from ..ratelimit import Decision, RollingWindowLimiter
from ..timeutil import Clock
from .apps import AppsMixin
from .automation import AutomationMixin
from .delivery import WebhookDispatcher
from .events import EventsMixin
from .jobs import JobRunner
from .people import PeopleMixin
from .search import SearchMixin
from .stats import ApiStats
from .store import IdCounters
from .tickets import TicketsMixin

DEFAULTS: dict[str, Any] = {
    "subdomain": "sandbox",
    "account_id": 1,
    "admin_email": "admin@deskmate-sandbox.example",
    "admin_name": "Sandbox Admin",
    "api_token": "sandbox-api-token",
    "oauth_tokens": ("sandbox-oauth-token",),
    "rate_limit": 700,  # Enterprise plan, requests per minute
    "incremental_rate_limit": 10,
    "job_delay": 0.2,
    "delivery_workers": 16,
    "delivery_timeout": 10.0,
    "delivery_retries": 3,
    "delivery_backoff": 0.5,
    "search_lag_seconds": 0.0,
    "ticket_events_delay_seconds": 60.0,  # the ticket event export leaves out the last minute, as Zendesk's does
    "inherit_tags": True,  # new tickets get the requester's and organization's tags
    "public_url": None,
    "sidebar_url": None,
    "sidebar_signed_urls": True,
    "widget_url": "http://127.0.0.1:5000/news/widget.js",
    "slack_url": None,
}


@dataclass(frozen=True)
class ReceivedApiRequest:
    """One API request as the emulator received it (``HelpdeskState.record_requests``)."""

    method: str
    path: str  # as sent, with its `.json` if it had one
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str | None


class HelpdeskState(TicketsMixin, PeopleMixin, SearchMixin, EventsMixin, AutomationMixin, AppsMixin):
    """An emulated Zendesk account. Every option of `DEFAULTS` can be passed as a keyword.

    Options: subdomain, account_id, admin_email, admin_name, api_token, oauth_tokens (bearer tokens),
    rate_limit (per minute), incremental_rate_limit, job_delay (seconds a bulk job takes),
    delivery_workers, delivery_timeout, delivery_retries, delivery_backoff (seconds, doubled per retry),
    search_lag_seconds, ticket_events_delay_seconds (how recent an update the ticket event export leaves out),
    inherit_tags, public_url (base of `url` members outside requests), sidebar_url and
    sidebar_signed_urls (the workspace's sidebar app), widget_url (help-center script), slack_url
    (the Slack emulator's base, linked from the workspace), clock (a callable returning epoch seconds).
    """

    def __init__(self, clock: Clock | None = None, **options: Any) -> None:
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown HelpdeskState options: {sorted(unknown)}")
        self.options = {**DEFAULTS, **options}
        self.clock = clock or time.time
        self.lock = threading.RLock()
        self.stats = ApiStats()
        self.faults = Faults(self.clock)
        self.subdomain = str(self.options["subdomain"])
        self.account_id = int(self.options["account_id"])
        self.admin_email = str(self.options["admin_email"])
        self.api_token = str(self.options["api_token"])
        self.oauth_tokens = set(self.options["oauth_tokens"])
        self.dispatcher = WebhookDispatcher(
            account_id=self.account_id,
            clock=self.clock,
            workers=int(self.options["delivery_workers"]),
            timeout=float(self.options["delivery_timeout"]),
            retries=int(self.options["delivery_retries"]),
            backoff=float(self.options["delivery_backoff"]),
            duplicates=lambda: self.faults.duplicate_webhooks,
        )
        self.job_statuses = {}
        self.jobs = JobRunner(self.lock, self.job_statuses, self.clock, float(self.options["job_delay"]))
        # Every API request as received, while recording (``record_requests``): tests check what a client sent.
        self.requests_received: list[ReceivedApiRequest] | None = None
        self._build_account()

    def record_requests(self) -> list[ReceivedApiRequest]:
        """Start keeping every API request received (kept across ``reset``); returns the growing list."""
        with self.lock:
            if self.requests_received is None:
                self.requests_received = []
            return self.requests_received

    def record_request(self, request: ReceivedApiRequest) -> None:
        with self.lock:
            if self.requests_received is not None:
                self.requests_received.append(request)

    def _build_account(self) -> None:
        """Empty the account and create what every Zendesk account has: an admin, a brand, a form."""
        with self.lock:
            self.ids = IdCounters()
            self.tickets, self.comments, self.audits = {}, {}, {}
            self.users, self.organizations, self.groups = {}, {}, {}
            self.triggers, self.sla_policies, self.webhooks = {}, {}, {}
            self.ticket_forms, self.brands = {}, {}
            self.apps, self.installations, self.uploads, self.app_jobs = {}, {}, {}, {}
            self.idempotency, self.metric_ids = {}, {}
            # Group memberships beyond each agent's default group (api_people derives those).
            self.extra_memberships: list[dict[str, Any]] = []
            self.job_statuses.clear()
            self.limiter = RollingWindowLimiter(int(self.options["rate_limit"]))
            self.incremental_limiter = RollingWindowLimiter(int(self.options["incremental_rate_limit"]))
            admin = self.create_user(
                {"name": self.options["admin_name"], "email": self.admin_email, "role": "admin"}
            )
            self.admin_id = int(admin["id"])
            brand_id = self.ids.next("brands")
            self.brands[brand_id] = {
                "id": brand_id,
                "name": "Deskmate Video",
                "subdomain": self.subdomain,
                "default": True,
                "active": True,
            }
            self.default_brand_id = brand_id
            for name in ("Default Ticket Form", "Partner escalation"):
                form_id = self.ids.next("ticket_forms")
                self.ticket_forms[form_id] = {
                    "id": form_id,
                    "name": name,
                    "display_name": name,
                    "default": not self.ticket_forms,
                    "active": True,
                    "end_user_visible": True,
                    "position": len(self.ticket_forms),
                }
            self.default_form_id = min(self.ticket_forms)
            if self.options["sidebar_url"]:
                self.configure_sidebar_app(
                    str(self.options["sidebar_url"]), signed_urls=bool(self.options["sidebar_signed_urls"])
                )

    # -- control --------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every record, delivery record, fault and counter (settings stay)."""
        self.jobs.wait_idle(timeout=5.0)
        self.dispatcher.flush(timeout=5.0)
        self.faults.clear()
        self.stats.reset()
        self.dispatcher.clear()
        self._build_account()

    def close(self) -> None:
        """Stop background threads (job runner, webhook pool)."""
        self.jobs.stop()
        self.dispatcher.stop()

    def set_rate_limit(self, per_minute: int) -> None:
        """Change the API's requests-per-minute budget (the window restarts)."""
        with self.lock:
            self.options["rate_limit"] = per_minute
            self.limiter = RollingWindowLimiter(per_minute)

    def take_rate_slot(self, incremental: bool = False) -> Decision:
        """Count one API call against the rolling minute; the decision says whether it may proceed."""
        now = self.now()
        with self.lock:
            decision = self.limiter.try_acquire(now)
            if decision.allowed and incremental:
                extra = self.incremental_limiter.try_acquire(now)
                if not extra.allowed:
                    return extra
            return decision

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until the webhook queue (with retries) is empty; False on timeout."""
        return self.dispatcher.flush(timeout)

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Block until every bulk job has completed; False on timeout."""
        return self.jobs.wait_idle(timeout)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt so far."""
        return self.dispatcher.records()

    def summary(self) -> dict[str, Any]:
        """Counts of records, as `GET /__sandbox/state` answers."""
        with self.lock:
            by_status: dict[str, int] = {}
            for ticket in self.tickets.values():
                by_status[ticket["status"]] = by_status.get(ticket["status"], 0) + 1
            return {
                "subdomain": self.subdomain,
                "account_id": self.account_id,
                "tickets": len(self.tickets),
                "tickets_by_status": by_status,
                "users": len(self.users),
                "agents": sum(1 for u in self.users.values() if u["role"] != "end-user"),
                "organizations": len(self.organizations),
                "groups": len(self.groups),
                "triggers": len(self.triggers),
                "webhooks": len(self.webhooks),
                "sla_policies": len(self.sla_policies),
                "jobs_active": sum(
                    1 for j in self.job_statuses.values() if j["status"] in ("queued", "working")
                ),
                "deliveries_pending": self.dispatcher.pending,
                "deliveries_recorded": len(self.dispatcher.records()),
                "rate_limit": self.options["rate_limit"],
                "rate_limit_remaining": self.limiter.peek(self.now()),
                "faults": self.faults.snapshot(),
            }
