"""The attributes every part of the helpdesk state shares, declared once for the mixins."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ..faults import Faults
from ..ratelimit import RollingWindowLimiter
from ..timeutil import Clock, iso
from .errors import record_not_found
from .store import IdCounters

if TYPE_CHECKING:
    from .delivery import WebhookDispatcher
    from .jobs import JobRunner
    from .stats import ApiStats
    from .ticket_records import Outcome


class StateBase:
    """Storage and settings; the mixins add behaviour. Every read and write holds `lock`."""

    lock: threading.RLock
    clock: Clock
    ids: IdCounters
    subdomain: str
    account_id: int
    admin_email: str
    api_token: str
    oauth_tokens: set[str]
    options: dict[str, Any]
    tickets: dict[int, dict[str, Any]]
    comments: dict[int, list[dict[str, Any]]]
    audits: dict[int, list[dict[str, Any]]]
    users: dict[int, dict[str, Any]]
    organizations: dict[int, dict[str, Any]]
    groups: dict[int, dict[str, Any]]
    triggers: dict[int, dict[str, Any]]
    sla_policies: dict[int, dict[str, Any]]
    webhooks: dict[str, dict[str, Any]]
    job_statuses: dict[str, dict[str, Any]]
    ticket_forms: dict[int, dict[str, Any]]
    brands: dict[int, dict[str, Any]]
    apps: dict[int, dict[str, Any]]
    installations: dict[int, dict[str, Any]]
    uploads: dict[int, dict[str, Any]]
    idempotency: dict[str, dict[str, Any]]
    metric_ids: dict[int, int]  # ticket metric id -> ticket id
    faults: Faults
    limiter: RollingWindowLimiter
    incremental_limiter: RollingWindowLimiter
    stats: ApiStats
    dispatcher: WebhookDispatcher
    jobs: JobRunner
    admin_id: int
    default_brand_id: int
    default_form_id: int

    def now(self) -> float:
        """Current time on the state's clock (epoch seconds)."""
        return self.clock()

    def now_iso(self) -> str:
        """Current time formatted like Zendesk."""
        return iso(self.clock())

    def base_url(self) -> str:
        """Base used for `url` members when no request is at hand."""
        return str(self.options.get("public_url") or f"https://{self.subdomain}.zendesk.com")

    def _get(self, table: dict[int, dict[str, Any]], record_id: Any) -> dict[str, Any]:
        """Fetch a record by id or raise Zendesk's RecordNotFound."""
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise record_not_found() from None
        record = table.get(key)
        if record is None:
            raise record_not_found()
        return record

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        """Find a user by e-mail, case-insensitively."""
        wanted = email.strip().lower()
        with self.lock:
            for user in self.users.values():
                if (user.get("email") or "").lower() == wanted:
                    return user
        return None

    def is_staff(self, user_id: int | None) -> bool:
        """True for agents and admins."""
        user = self.users.get(user_id) if user_id is not None else None
        return bool(user and user["role"] in ("agent", "admin"))

    # Implemented by the mixins; declared here so each mixin can call the others.
    def create_user(self, data: dict[str, Any], *, at: float | None = None) -> dict[str, Any]:
        """Create a user (PeopleMixin)."""
        raise NotImplementedError

    def _emit(self, outcome: Outcome) -> None:
        """Fire the webhooks an outcome causes (AutomationMixin)."""
        raise NotImplementedError
