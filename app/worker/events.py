"""Event dispatch: claim due inbound events from the inbox and hand each to every plugin's ``handle_event``.

Every plugin first runs in the event's one plain transaction; only when one raises is all of it rolled back
and the event handled again at once with each plugin in a savepoint of its own (``docs/plugins.md``,
*handle_event*). One event never stops the others of its batch: a row that cannot be read is marked failed with
the reason, and an unexpected error is logged and the event left to its lease.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from flask import Flask

from app import inbox, metrics
from app.accounts import active_accounts, get_account
from app.clock import get_clock
from app.db import storage
from app.events import EventError
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

    def now(self) -> datetime:
        return get_clock(self.app).now()

    def handle_events(self, limit: int | None = None) -> int:
        """Claim due inbound events and hand each to the plugins; returns how many were claimed."""
        ids = inbox.claim(storage.engine(self.app), worker_id=self.worker_id, now=self.now(),
                          lease_seconds=self.settings.worker_lease_seconds,
                          limit=limit or self.settings.worker_batch_size)
        for event_id in ids:
            try:
                self.handle_event(event_id)
            except Exception:
                # Not a plugin's failure (those are isolated) but the core's: the rest of the batch goes on, and
                # this event is claimed again when its lease lapses.
                log.exception("event %s could not be handled; it is tried again when its lease lapses", event_id)
                metrics.EVENTS.labels("error").inc()
        return len(ids)

    def handle_event(self, event_id: int) -> None:
        """Hand one claimed event to the plugins and record the outcome on its row."""
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
