"""Event dispatch: claim due inbound events from the inbox and hand each to every plugin's ``handle_event``.

Every plugin first runs in the event's one plain transaction; only when one raises (or its writes cannot be
committed) is all of it rolled back and the event handled again at once with each plugin in a savepoint of its
own (``docs/plugins.md``, *handle_event*): the plugins that failed are retried with backoff, alone, until the
attempts run out. One event never stops the others of its batch, nor the loop: a row that cannot be read is
failed with the reason, and any other exception while handling it is recorded on that event alone, which is
tried again with backoff and failed for good after ``work_max_attempts`` (listed in the admin's Failed work,
with a retry button). Claimed events keep their lease while the worker lives (``renew_leases``, run by the
worker's lease keeper), however long the batch takes.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app import inbox, metrics
from app.accounts import active_accounts, get_account
from app.clock import get_clock
from app.db import storage
from app.events import EventError
from app.logs import bind, log_context
from app.models import InboundEvent
from app.plugins import plugin_manager
from app.workqueue import Backoff
from app.zendesk import zendesk_clients

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


class EventDispatcher:
    """Claims inbound events for one worker and hands each to the plugins."""

    def __init__(self, app: Flask, worker_id: str, backoff: Backoff) -> None:
        self.app = app
        self.settings = app.config["DESKMATE"]
        self.worker_id = worker_id
        self.backoff = backoff
        # Events any thread of this worker has claimed and not finished; the lease keeper renews them.
        self.held: set[int] = set()
        self._held_lock = threading.Lock()
        self.leases_renewed_at = time.monotonic()

    def now(self) -> datetime:
        return get_clock(self.app).now()

    def handle_events(self, limit: int | None = None) -> int:
        """Claim due inbound events and hand each to the plugins; returns how many were claimed."""
        ids = inbox.claim(storage.engine(self.app), worker_id=self.worker_id, now=self.now(),
                          lease_seconds=self.settings.worker_lease_seconds,
                          limit=limit or self.settings.worker_batch_size,
                          max_attempts=self.settings.work_max_attempts)
        with self._held_lock:
            self.held.update(ids)
        for event_id in ids:
            if not self._still_mine(event_id):
                continue
            with log_context(event_id=event_id):  # the account and ticket are bound once the row is read
                try:
                    self.handle_event(event_id)
                except Exception as exc:
                    # Not a plugin's failure (those are isolated) but the core's, on this event: it alone is set
                    # aside, tried again later and failed for good after its attempts; the batch goes on.
                    self._core_failed(event_id, exc)
                finally:
                    with self._held_lock:
                        self.held.discard(event_id)
        return len(ids)

    def renew_leases(self) -> None:
        """Push the lease of every event this worker holds a full lease ahead; forget the ones it lost."""
        with self._held_lock:
            ids = set(self.held)
        self.leases_renewed_at = time.monotonic()
        if not ids:
            return
        held = inbox.extend_lease(storage.engine(self.app), ids, worker_id=self.worker_id,
                                  until=self.now() + timedelta(seconds=self.settings.worker_lease_seconds))
        lost = ids - held
        if lost:
            log.warning("worker %s lost the lease of %d events; another worker has them", self.worker_id, len(lost))
            with self._held_lock:
                self.held -= lost

    def _still_mine(self, event_id: int) -> bool:
        if time.monotonic() - self.leases_renewed_at >= self.settings.worker_lease_seconds / 3:
            self.renew_leases()  # no keeper (tests drive the worker by hand), or the keeper is behind
        with self._held_lock:
            return event_id in self.held

    def _core_failed(self, event_id: int, exc: Exception) -> None:
        # The type and message only: a formatted SQL error would carry its parameters, that is ticket data.
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        log.error("event %s could not be handled: %s", event_id, reason)
        metrics.EVENTS.labels("error").inc()
        try:
            state = inbox.record_failure(storage.engine(self.app), event_id, worker_id=self.worker_id,
                                         error=reason, now=self.now(), backoff=self.backoff,
                                         max_attempts=self.settings.work_max_attempts)
        except Exception:  # the database itself failing: the lease lapses and the event is claimed again
            log.exception("event %s: its failure could not be recorded; it is tried again when its lease lapses",
                          event_id)
            return
        if state == "failed":
            log.error("event %s failed for good: %s", event_id, reason)
            metrics.EVENTS.labels("failed").inc()

    def handle_event(self, event_id: int) -> None:
        """Hand one claimed event to the plugins and record the outcome on its row."""
        started = time.perf_counter()
        # Refresh the account cache before the transaction: on SQLite a transaction holds the write lock, and a
        # refresh inside it (get_account, ctx.has_slack) would wait for the lock its own process holds. The
        # helpdesk user Deskmate acts as is looked up here too (once), never inside a transaction.
        own_users = self._own_users()
        # First every plugin in one plain transaction: a savepoint per plugin costs two round trips each, a
        # sixth of a worker's time in a spike, and is only needed when a plugin fails. If one does (or the
        # database refuses what they wrote), all of it is rolled back and the event is handled again with each
        # plugin in a savepoint of its own, so that the others' work is kept and only the failed plugin is
        # retried. What still raises then is the core's failure on this event (``handle_events`` records it).
        try:
            with storage.session(self.app) as session:
                self._dispatch(session, event_id, own_users, isolated=False)
        except Exception as failure:
            log.debug("event %s: %s; handled again with each plugin isolated", event_id,
                      f"plugin {failure.plugin} failed" if isinstance(failure, _PluginFailed)
                      else f"its transaction failed ({type(failure).__name__})")
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
        bind(account=account.subdomain if account else None, ticket_id=row.ticket_id)
        if account is None:
            row.state, row.last_error, row.processed_at = "failed", "the account is gone or inactive", self.now()
            row.locked_by, row.locked_until = None, None
            return
        try:
            event = inbox.event_of(row)
        except EventError as exc:  # stored before ingest refused such bodies
            row.state, row.last_error, row.processed_at = "failed", f"unreadable event: {exc}", self.now()
            row.locked_by, row.locked_until = None, None
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
                ok = self._release(savepoint, name, event_id)
            else:
                savepoint.rollback()
            if not ok:
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

    @staticmethod
    def _release(savepoint: Any, plugin: str, event_id: int) -> bool:
        """Commit one plugin's savepoint; False (and its writes undone) when the database refuses them, so that
        a plugin writing what the database cannot store fails alone, like one that raised."""
        try:
            savepoint.commit()
        except Exception as exc:
            savepoint.rollback()
            metrics.PLUGIN_ERRORS.labels(plugin, "handle_event").inc()
            log.error("plugin %s failed in handle_event: event %s: its writes were refused: %s", plugin, event_id,
                      type(exc).__name__)
            return False
        return True

    def _own_users(self) -> dict[int, int | None]:
        """Each active account's own helpdesk user id, where known (see ``Zendesk.own_user_id``)."""
        users: dict[int, int | None] = {}
        for account in active_accounts(self.app):
            try:
                with log_context(account=account.subdomain):  # each account's look-up, whichever the event's
                    users[account.id] = zendesk_clients.for_account(account, self.app).own_user_id()
            except RuntimeError:  # an account without helpdesk credentials: nothing of its own comes back
                users[account.id] = None
        return users
