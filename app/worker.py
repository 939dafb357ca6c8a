"""The worker: hands inbound events to plugins, performs due work items, runs the plugins' timed passes.

Everything it does is decided from the database, so any number of workers can run (on PostgreSQL) and a
worker that dies loses nothing: its leases run out and another worker picks its rows up. Tests drive it step
by step (``handle_events``, ``perform_work``, ``run_timers``, ``run_until_idle``); production runs
``run_forever`` (``flask worker``), where APScheduler 3 triggers the timed passes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from slack_sdk.errors import SlackApiError

from app import metrics, workqueue
from app.accounts import active_accounts, get_account
from app.clock import get_clock
from app.db import storage, table_of
from app.effects import core_handlers
from app.events import EventError, event_from_row
from app.models import InboundEvent, WorkerHeartbeat
from app.plugins import plugin_manager
from app.ratelimit import BudgetExhausted
from app.workqueue import Backoff, BatchHandler, ClaimedItem, Done, Fail, Outcome, PermanentFailure, Retry, RetryLater
from app.zendesk import HelpdeskError, zendesk_clients

log = logging.getLogger("deskmate.worker")

# Helpdesk events that Deskmate's own updates cause (routing sets the group, the priority and the tags) come
# back as webhooks: about half of all events in a spike. Made by Deskmate's own helpdesk user, they tell no
# plugin anything it does not know (a plugin that changes a ticket tells the others through a core event, as
# routing does with routing.ticket_routed), so plugins are not handed them; only the core's own parts (the
# sidebar's ticket index) are. Comments, status changes and new tickets are always handed out, whoever made them.
ECHO_TYPES = frozenset({"ticket.group_assignment_changed", "ticket.priority_changed", "ticket.tags_changed"})


class _PluginFailed(Exception):
    """A plugin raised while handling an event outside a savepoint: the transaction is to be rolled back."""

    def __init__(self, plugin: str) -> None:
        super().__init__(plugin)
        self.plugin = plugin


class Worker:
    """One worker process (or the embedded worker thread of ``make run``)."""

    def __init__(self, app: Flask, worker_id: str | None = None) -> None:
        self.app = app
        self.settings = app.config["DESKMATE"]
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.backoff = Backoff(self.settings.work_backoff_base_seconds, self.settings.work_backoff_cap_seconds)
        self.handlers = {**core_handlers(), **plugin_manager.work_handlers(app)}
        self.timers = plugin_manager.timers(app)
        self.items_done = 0
        # Work items this worker has claimed and not finished, across all its threads. A lease keeper renews
        # their leases while the worker lives, however long a handler takes; when the worker dies, they lapse.
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._leases_renewed_at = time.monotonic()
        self._stop = threading.Event()

    def now(self) -> datetime:
        return get_clock(self.app).now()

    # --- inbound events -------------------------------------------------------------------------------------

    def handle_events(self, limit: int | None = None) -> int:
        """Claim due inbound events and hand each to the plugins; returns how many were claimed."""
        ids = self._claim_events(limit or self.settings.worker_batch_size)
        for event_id in ids:
            self._handle_event(event_id)
        return len(ids)

    def _claim_events(self, limit: int) -> list[int]:
        table = table_of(InboundEvent)
        now = self.now()
        due = (
            sa.select(table.c.id)
            .where(sa.or_(sa.and_(table.c.state == "pending", table.c.next_attempt_at <= now),
                          sa.and_(table.c.state == "processing", table.c.locked_until < now)))
            .order_by(table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            sa.update(table)
            .where(table.c.id.in_(due.scalar_subquery()))
            .values(state="processing", attempts=table.c.attempts + 1, locked_by=self.worker_id,
                    locked_until=now + timedelta(seconds=self.settings.worker_lease_seconds))
            .returning(table.c.id)
        )
        with storage.engine(self.app).begin() as connection:
            return sorted(row.id for row in connection.execute(statement))

    def _handle_event(self, event_id: int) -> None:
        started = time.perf_counter()
        # Refresh the account cache before the transaction: on SQLite a transaction holds the write lock, and a
        # refresh inside it (get_account, ctx.has_slack) would wait for the lock its own process holds. The
        # helpdesk user Deskmate acts as is looked up here too (once), never inside a transaction.
        own_users = self._own_users()
        # First every plugin in one plain transaction: a savepoint per plugin costs two round trips each, a
        # sixth of a worker's time in a spike, and is only needed when a plugin fails. If one does, all of it
        # is rolled back and the event is handled again with each plugin in a savepoint of its own, so that
        # the others' work is kept and only the failed plugin is retried.
        try:
            with storage.session(self.app) as session:
                self._dispatch(session, event_id, own_users, isolated=False)
        except _PluginFailed as failure:
            log.debug("event %s: plugin %s failed; handled again with each plugin isolated", event_id,
                      failure.plugin)
            with storage.session(self.app) as session:
                self._dispatch(session, event_id, own_users, isolated=True)
        log.debug("event %s handled in %.1f ms", event_id, (time.perf_counter() - started) * 1000)

    def _dispatch(self, session: Any, event_id: int, own_users: dict[int, int | None], *, isolated: bool) -> None:
        """Hand one claimed event to the plugins in ``session`` and record the outcome on its row.

        Not ``isolated``: a plugin's exception is raised as ``_PluginFailed`` (the caller rolls back).
        """
        row = session.get(InboundEvent, event_id)
        if row is None or row.state != "processing" or row.locked_by != self.worker_id:
            return  # the lease was lost to another worker meanwhile
        account = get_account(row.account_id, self.app)
        if account is None:
            row.state, row.last_error = "failed", "the account is gone or inactive"
            return
        try:
            event = event_from_row(row_id=row.id, account_id=row.account_id, source=row.source,
                                   event_type=row.event_type, payload=row.payload, received_at=row.received_at)
        except (EventError, KeyError, TypeError) as exc:
            row.state, row.last_error, row.processed_at = "failed", f"unreadable event: {exc}", self.now()
            metrics.EVENTS.labels("unreadable").inc()
            return
        echo = (event.source == "zendesk" and event.type in ECHO_TYPES and event.actor_id is not None
                and event.actor_id == own_users.get(account.id))
        wanted = set(row.pending_plugins) if row.pending_plugins else None
        failed: list[str] = []
        for name, function in plugin_manager.implementations(self.app, "handle_event"):
            if wanted is not None and name not in wanted:
                continue
            if echo and not plugin_manager.is_builtin(self.app, name):
                continue  # the core's own parts (the sidebar's ticket index) still see the ticket's new state
            ctx = plugin_manager.context(self.app, name, account, session)
            if not isolated:
                try:
                    function(event=event, ctx=ctx)
                except Exception as exc:
                    raise _PluginFailed(name) from exc
                continue
            savepoint = session.begin_nested()
            ok, _ = plugin_manager.call_isolated(self.app, "handle_event", name, function, event=event, ctx=ctx)
            if ok:
                savepoint.commit()
            else:
                savepoint.rollback()
                failed.append(name)
        row.locked_by, row.locked_until = None, None
        if not failed:
            row.state, row.processed_at, row.pending_plugins, row.last_error = "done", self.now(), None, None
            metrics.EVENTS.labels("echo" if echo else "done").inc()
        elif row.attempts >= self.settings.work_max_attempts:
            row.state, row.pending_plugins = "failed", failed
            row.last_error = f"plugins failed on every attempt: {', '.join(failed)}"
            metrics.EVENTS.labels("failed").inc()
        else:
            row.state, row.pending_plugins = "pending", failed
            row.next_attempt_at = self.now() + self.backoff.delay(row.attempts)
            row.last_error = f"plugins failed: {', '.join(failed)} (see the log)"
            metrics.EVENTS.labels("retry").inc()

    def _own_users(self) -> dict[int, int | None]:
        """Each active account's own helpdesk user id, where known (see ``Zendesk.own_user_id``)."""
        users: dict[int, int | None] = {}
        for account in active_accounts(self.app):
            try:
                users[account.id] = zendesk_clients.for_account(account, self.app).own_user_id()
            except RuntimeError:  # an account without helpdesk credentials: nothing of its own comes back
                users[account.id] = None
        return users

    # --- work items -------------------------------------------------------------------------------------------

    def perform_work(self, limit: int | None = None) -> int:
        """Claim due work items and perform them (batch kinds together); returns how many were claimed."""
        items = workqueue.claim(storage.engine(self.app), worker_id=self.worker_id, now=self.now(),
                                lease_seconds=self.settings.worker_lease_seconds,
                                limit=limit or self.settings.worker_batch_size)
        groups: dict[tuple[int, str], list[ClaimedItem]] = defaultdict(list)
        for item in items:
            groups[(item.account_id, item.kind)].append(item)
        with self._held_lock:
            self._held.update(item.id for item in items)
        for (account_id, kind), group in groups.items():
            self._perform_group(account_id, kind, group)
        return len(items)

    def renew_leases(self) -> None:
        """Push the leases of every item this worker holds a full lease ahead; forget the ones it lost."""
        with self._held_lock:
            ids = set(self._held)
        self._leases_renewed_at = time.monotonic()
        if not ids:
            return
        held = workqueue.extend_lease(storage.engine(self.app), ids, worker_id=self.worker_id,
                                      until=self.now() + timedelta(seconds=self.settings.worker_lease_seconds))
        lost = ids - held
        if lost:
            log.warning("worker %s lost the lease of %d work items; another worker has them", self.worker_id,
                        len(lost))
            with self._held_lock:
                self._held -= lost

    def _still_mine(self, items: list[ClaimedItem]) -> list[ClaimedItem]:
        """The items of a claimed batch this worker still holds (renewing leases if the keeper is late)."""
        if time.monotonic() - self._leases_renewed_at >= self.settings.worker_lease_seconds / 3:
            self.renew_leases()  # no keeper (tests drive the worker by hand), or the keeper is behind
        with self._held_lock:
            return [item for item in items if item.id in self._held]

    def _perform_group(self, account_id: int, kind: str, items: list[ClaimedItem]) -> None:
        handler = self.handlers.get(kind)
        account = get_account(account_id, self.app)
        if handler is None or account is None:
            reason = f"no handler for work kind {kind!r} (is its plugin enabled?)" if account else "account is gone"
            for item in items:
                self._finish(item, Fail(reason))
            return
        owner = kind.split(".", 1)[0]
        if isinstance(handler, BatchHandler):
            for start in range(0, len(items), handler.max_batch):
                chunk = self._still_mine(items[start:start + handler.max_batch])
                outcomes = self._run(kind, account, owner, lambda ctx, chunk=chunk: handler.run(chunk, ctx), chunk)
                for item in chunk:
                    self._finish(item, outcomes.get(item.id, Retry("the batch handler said nothing of it")))
        else:
            for item in items:
                if not self._still_mine([item]):
                    continue
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
            self._held.discard(item.id)
        state = workqueue.finish(storage.engine(self.app), item.id, outcome, worker_id=self.worker_id,
                                 now=self.now(), attempts=item.attempts, backoff=self.backoff,
                                 max_attempts=item.max_attempts)
        metrics.WORK.labels(item.kind, state).inc()
        if state == "done":
            self.items_done += 1
        elif state == "failed":
            log.error("work item %s (%s) failed for good: %s", item.id, item.kind, getattr(outcome, "error", ""))

    # --- timed passes -----------------------------------------------------------------------------------------

    def run_timers(self, names: set[str] | None = None) -> int:
        """Run every plugin timer once for every active account (each in its own transaction)."""
        ran = 0
        for plugin, timer in self.timers:
            if names is not None and timer.name not in names:
                continue
            for account in active_accounts(self.app):
                ran += self.run_timer(plugin, timer, account)
        return ran

    def run_timer(self, plugin: str, timer: Any, account: Any) -> int:
        try:
            with storage.session(self.app) as session:
                ctx = plugin_manager.context(self.app, plugin, account, session)
                ok, _ = plugin_manager.call_isolated(self.app, f"timer:{timer.name}", plugin, timer.run, ctx=ctx)
                if not ok:
                    session.rollback()
        except Exception:
            log.exception("timer %s of %s could not commit", timer.name, plugin)
            return 0
        return 1

    # --- loops ------------------------------------------------------------------------------------------------

    def run_until_idle(self, max_rounds: int = 50, timers: bool = False) -> int:
        """Handle events and perform work until nothing is due (for tests and the embedded worker)."""
        total = 0
        for _ in range(max_rounds):
            if timers:
                self.run_timers()
            busy = self.handle_events() + self.perform_work()
            total += busy
            if not busy:
                break
        return total

    def heartbeat(self) -> None:
        now = self.now()
        with storage.session(self.app) as session:
            beat = session.get(WorkerHeartbeat, self.worker_id)
            if beat is None:
                session.add(WorkerHeartbeat(worker_id=self.worker_id, hostname=socket.gethostname(),
                                            pid=os.getpid(), started_at=now, last_seen_at=now,
                                            items_done=self.items_done))
            else:
                beat.last_seen_at, beat.items_done = now, self.items_done

    def stop(self) -> None:
        self._stop.set()

    def run_forever(self, threads: int | None = None) -> None:
        """Run until ``stop()``: drain loops on ``threads`` threads, timers and heartbeats on APScheduler."""
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(timezone="UTC")
        # Passes read what is due from the database, so a late or skipped run only delays, never loses.
        job_defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        for plugin, timer in self.timers:
            scheduler.add_job(self._timer_job, "interval", seconds=timer.every_seconds, args=[plugin, timer],
                              id=f"{plugin}:{timer.name}", **job_defaults)
        scheduler.add_job(self._safe_heartbeat, "interval", seconds=5, id="heartbeat", **job_defaults)
        scheduler.add_job(self._safe_renew, "interval", seconds=max(1.0, self.settings.worker_lease_seconds / 4),
                          id="lease-keeper", **job_defaults)
        scheduler.start()
        self._safe_heartbeat()
        # Half the threads (at least one) put events first, the others work: each side goes on when the other
        # is slow, and helps when its own queue is empty.
        count = threads or self.settings.worker_threads
        loops = [threading.Thread(target=self._loop, args=(n % 2 == 0,), name=f"deskmate-worker-{n}", daemon=True)
                 for n in range(count)]
        for loop in loops:
            loop.start()
        log.info("worker %s started: %d threads, %d timers", self.worker_id, len(loops), len(self.timers))
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            scheduler.shutdown(wait=False)
            for loop in loops:
                loop.join(timeout=10)

    def _timer_job(self, plugin: str, timer: Any) -> None:
        with self.app.app_context():
            for account in active_accounts(self.app):
                self.run_timer(plugin, timer, account)

    def _safe_renew(self) -> None:
        try:
            self.renew_leases()
        except Exception:
            log.exception("renewing work item leases failed")

    def _safe_heartbeat(self) -> None:
        try:
            self.heartbeat()
        except Exception:
            log.exception("heartbeat failed")

    def _loop(self, events_first: bool = True) -> None:
        """Drain events and work. An events-first loop touches work only when no event is waiting, so that
        slow work (side effects waiting on the helpdesk's rate budget) can never starve event handling."""
        with self.app.app_context():
            while not self._stop.is_set():
                try:
                    if events_first:
                        busy = self.handle_events() or self.perform_work()
                    else:
                        busy = self.perform_work() or self.handle_events()
                except Exception:
                    log.exception("worker loop failed; retrying shortly")
                    busy = 0
                if not busy:
                    self._stop.wait(self.settings.worker_poll_seconds)


def _core_context(app: Flask, account: Any, session: Any) -> Any:
    """The context the core's own handlers get: like a plugin's, named ``core``."""
    from app.plugins import PluginContext

    return PluginContext(app, "core", account, session, None)
