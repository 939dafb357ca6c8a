"""Work items under leases: claim due items, perform them (batch kinds together), keep their leases, finish.

A worker holds the items it claimed until it records their outcome. The lease keeper (``renew_leases``, run
on the worker's scheduler every quarter lease) pushes every held item's lease ahead while the worker lives,
however long a handler takes, across all the worker's threads; when the worker dies, the leases lapse and
another worker takes the items over (a handler sees ``item.is_retry``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from slack_sdk.errors import SlackApiError

from app import metrics, workqueue
from app.accounts import get_account
from app.clock import get_clock
from app.db import storage
from app.effects import core_handlers
from app.logs import log_context
from app.plugins import PluginContext, plugin_manager
from app.ratelimit import BudgetExhausted
from app.workqueue import Backoff, BatchHandler, ClaimedItem, Done, Fail, Outcome, PermanentFailure, Retry, RetryLater
from app.zendesk import HelpdeskError

log = logging.getLogger("deskmate.worker")


class WorkPerformer:
    """Performs due work items for one worker; ``held`` is every item any of its threads has claimed."""

    def __init__(self, app: Flask, worker_id: str, backoff: Backoff) -> None:
        self.app = app
        self.settings = app.config["DESKMATE"]
        self.worker_id = worker_id
        self.backoff = backoff
        self.handlers = {**core_handlers(), **plugin_manager.work_handlers(app)}
        self.items_done = 0
        # Work items this worker has claimed and not finished, across all its threads. A lease keeper renews
        # their leases while the worker lives, however long a handler takes; when the worker dies, they lapse.
        self.held: set[int] = set()
        self._held_lock = threading.Lock()
        self.leases_renewed_at = time.monotonic()

    def now(self) -> datetime:
        return get_clock(self.app).now()

    def perform_work(self, limit: int | None = None) -> int:
        """Claim due work items and perform them (batch kinds together); returns how many were claimed."""
        items = workqueue.claim(storage.engine(self.app), worker_id=self.worker_id, now=self.now(),
                                lease_seconds=self.settings.worker_lease_seconds,
                                limit=limit or self.settings.worker_batch_size)
        groups: dict[tuple[int, str], list[ClaimedItem]] = defaultdict(list)
        for item in items:
            groups[(item.account_id, item.kind)].append(item)
        with self._held_lock:
            self.held.update(item.id for item in items)
        for (account_id, kind), group in groups.items():
            self.perform_group(account_id, kind, group)
        return len(items)

    def renew_leases(self) -> None:
        """Push the leases of every item this worker holds a full lease ahead; forget the ones it lost."""
        with self._held_lock:
            ids = set(self.held)
        self.leases_renewed_at = time.monotonic()
        if not ids:
            return
        held = workqueue.extend_lease(storage.engine(self.app), ids, worker_id=self.worker_id,
                                      until=self.now() + timedelta(seconds=self.settings.worker_lease_seconds))
        lost = ids - held
        if lost:
            log.warning("worker %s lost the lease of %d work items; another worker has them", self.worker_id,
                        len(lost))
            with self._held_lock:
                self.held -= lost

    def still_mine(self, items: list[ClaimedItem]) -> list[ClaimedItem]:
        """The items of a claimed batch this worker still holds (renewing leases if the keeper is late)."""
        if time.monotonic() - self.leases_renewed_at >= self.settings.worker_lease_seconds / 3:
            self.renew_leases()  # no keeper (tests drive the worker by hand), or the keeper is behind
        with self._held_lock:
            return [item for item in items if item.id in self.held]

    def perform_group(self, account_id: int, kind: str, items: list[ClaimedItem]) -> None:
        handler = self.handlers.get(kind)
        account = get_account(account_id, self.app)
        if handler is None or account is None:
            reason = f"no handler for work kind {kind!r} (is its plugin enabled?)" if account else "account is gone"
            for item in items:
                self._finish(item, Fail(reason))
            return
        owner = kind.split(".", 1)[0]
        with log_context(account=account.subdomain, work_kind=kind):
            if isinstance(handler, BatchHandler):
                for start in range(0, len(items), handler.max_batch):
                    chunk = self.still_mine(items[start:start + handler.max_batch])
                    # One call does the whole batch: its lines name every key (one item alone: its own key).
                    with _item_context(chunk[0]) if len(chunk) == 1 else \
                            log_context(work_keys=[item.key for item in chunk]):
                        outcomes = self._run(kind, account, owner,
                                             lambda ctx, chunk=chunk: handler.run(chunk, ctx), chunk)
                    for item in chunk:
                        with _item_context(item):
                            self._finish(item, outcomes.get(item.id, Retry("the batch handler said nothing of it")))
            else:
                for item in items:
                    if not self.still_mine([item]):
                        continue
                    with _item_context(item):
                        outcomes = self._run(kind, account, owner,
                                             lambda ctx, item=item: {item.id: Done(handler(item, ctx))}, [item])
                        self._finish(item, outcomes[item.id])

    def _run(self, kind: str, account: Any, owner: str, call: Any, items: list[ClaimedItem]) -> dict[int, Outcome]:
        """Run a handler in a transaction of its own and turn what it raised into outcomes for its items."""
        started = time.perf_counter()
        try:
            with storage.session(self.app) as session:
                ctx = plugin_manager.context(self.app, owner, account, session) if owner in \
                    plugin_manager.state(self.app).order else _core_context(self.app, account, session)
                outcomes: dict[int, Outcome] = dict(call(ctx))
        except (RetryLater, BudgetExhausted) as exc:
            at = exc.at if isinstance(exc, RetryLater) else exc.retry_at
            outcomes = {item.id: Retry(str(exc), at=at) for item in items}
        except PermanentFailure as exc:
            outcomes = {item.id: Fail(str(exc)) for item in items}
        except HelpdeskError as exc:
            outcomes = {item.id: Retry(str(exc)) if exc.retryable else Fail(str(exc)) for item in items}
        except SlackApiError as exc:
            outcomes = {item.id: Retry(f"slack: {exc.response.get('error')}") for item in items}
        except Exception as exc:
            log.exception("work item kind %s failed", kind)
            outcomes = {item.id: Retry(f"{type(exc).__name__}: {exc}") for item in items}
        metrics.WORK_SECONDS.labels(kind).observe(time.perf_counter() - started)
        return outcomes

    def _finish(self, item: ClaimedItem, outcome: Outcome) -> None:
        with self._held_lock:
            self.held.discard(item.id)
        state = workqueue.finish(storage.engine(self.app), item.id, outcome, worker_id=self.worker_id,
                                 now=self.now(), attempts=item.attempts, backoff=self.backoff,
                                 max_attempts=item.max_attempts)
        metrics.WORK.labels(item.kind, state).inc()
        if state == "done":
            self.items_done += 1
        elif state == "failed":
            log.error("work item %s (%s) failed for good: %s", item.id, item.kind, getattr(outcome, "error", ""))


def _item_context(item: ClaimedItem) -> Any:
    """The log context of one work item: its key and id, and its ticket when its payload names one."""
    ticket_id = item.payload.get("ticket_id") if isinstance(item.payload, dict) else None
    return log_context(work_key=item.key, work_item_id=item.id,
                       ticket_id=ticket_id if isinstance(ticket_id, int) else None)


def _core_context(app: Flask, account: Any, session: Any) -> PluginContext:
    """The context the core's own handlers get: like a plugin's, named ``core``."""
    return PluginContext(app, "core", account, session, None)
