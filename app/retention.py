"""Retention: the queue tables stay bounded, and nothing exactly-once depends on is ever deleted.

Done inbound events and done work items are deleted ``retention_days`` after they finished,
in batches of ``retention_batch_size`` rows, each batch its own short transaction (it never holds SQLite's
write lock or a PostgreSQL snapshot for long); plugins delete their own old rows through the ``purge`` hook
(routing: decisions of tickets closed long ago). What is kept, and why that is safe, per table: see
docs/operations.md, *Retention*. In short:

- An inbound event's key is what makes a repeated delivery a duplicate: a done event is kept for the whole
  window, which is far longer than the helpdesk's retries of a delivery (minutes to hours). Pending,
  processing and failed events are never deleted (failed ones wait for an operator's retry).
- A work item's idempotency key is what makes a repeated enqueue harmless: a done item is kept for the window,
  longer than any timer or redelivery can repeat its key (a timer's keys carry their time slot, the SLA digest
  repeats its key for one day; every other repeat is guarded by the plugin's own state). Slack messages
  (``slack.post_message``, ``slack.update_message``) are never deleted: a later thread reply or update of the
  message reads its result (the message's ``ts``) and waits for it (``after``) for as long as its ticket,
  incident or approval lives. Failed items are never deleted (Failed work), nor cancelled ones (a cancelled
  notice's state is read from its item). Requester notices
  (``requester_notices``) are not touched: each row is the once-only record of a notice.

Registered as the core's built-in plugin ``retention``: its timer ``purge`` runs once per account per
interval like every timer, and is harmless when two workers run it together (``SKIP LOCKED``, deletes by id).
``flask purge`` runs the same for every account at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app.accounts import AccountView
from app.db import rowcount, storage
from app.effects import SLACK_POST, SLACK_UPDATE
from app.hookspecs import hookimpl
from app.models import DONE_ROWS, InboundEvent, WorkItem
from app.plugins import PluginContext, Timer, plugin_manager

NAME = "retention"
TIMER = "purge"
# Work item kinds whose done rows are kept: later items read their result and wait for them (see above).
KEPT_KINDS = (SLACK_POST, SLACK_UPDATE)


@dataclass
class Purged:
    """What one purge deleted (or, in a dry run, would delete) for one account."""

    events: int = 0
    work_items: int = 0
    plugins: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.events + self.work_items + sum(self.plugins.values())


def cutoff(now: datetime, days: float) -> datetime:
    """Rows that finished before this moment may go."""
    return now - timedelta(days=days)


def _old_events(account_id: int, before: datetime) -> Any:
    # DONE_ROWS as literal SQL: the partial index ix_inbound_events_done serves this, oldest first.
    return sa.and_(DONE_ROWS, InboundEvent.account_id == account_id, InboundEvent.processed_at < before)


def _old_work(account_id: int, before: datetime, since: datetime | None = None) -> Any:
    condition = sa.and_(DONE_ROWS, WorkItem.account_id == account_id, WorkItem.finished_at < before,
                        WorkItem.kind.not_in(KEPT_KINDS))
    if since is not None:  # the previous batch's oldest survivor: kept rows are not read again in this run
        condition = sa.and_(condition, WorkItem.finished_at >= since)
    return condition


def _delete_events(session: Session, account_id: int, before: datetime, limit: int) -> int:
    ids = list(session.scalars(
        sa.select(InboundEvent.id).where(_old_events(account_id, before))
        .order_by(InboundEvent.processed_at).limit(limit)
        .with_for_update(skip_locked=True)  # a second purge at the same time takes other rows, never waits
    ))
    if not ids:
        return 0
    return rowcount(session.execute(sa.delete(InboundEvent).where(InboundEvent.id.in_(ids))
                                    .execution_options(synchronize_session=False)))


def _delete_work(session: Session, account_id: int, before: datetime, limit: int,
                 since: datetime | None) -> tuple[int, datetime | None]:
    rows = session.execute(
        sa.select(WorkItem.id, WorkItem.finished_at).where(_old_work(account_id, before, since))
        .order_by(WorkItem.finished_at).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0, since
    deleted = rowcount(session.execute(sa.delete(WorkItem).where(WorkItem.id.in_([row.id for row in rows]))
                                       .execution_options(synchronize_session=False)))
    return deleted, rows[-1].finished_at


def purge_account(app: Flask, account: AccountView, *, before: datetime, batch_size: int,
                  dry_run: bool = False) -> Purged:
    """Delete one account's rows that finished before ``before``, each batch in a transaction of its own.

    With ``dry_run`` nothing is deleted and the counts say what would be.
    """
    purged = Purged()
    if dry_run:
        with storage.session(app) as session:
            purged.events = session.scalar(sa.select(sa.func.count()).select_from(InboundEvent)
                                           .where(_old_events(account.id, before))) or 0
            purged.work_items = session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                                               .where(_old_work(account.id, before))) or 0
    else:
        while True:
            with storage.session(app) as session:
                deleted = _delete_events(session, account.id, before, batch_size)
            purged.events += deleted
            if deleted < batch_size:
                break
        since: datetime | None = None
        while True:
            with storage.session(app) as session:
                deleted, since = _delete_work(session, account.id, before, batch_size, since)
            purged.work_items += deleted
            if deleted < batch_size:
                break
    for plugin, function in plugin_manager.implementations(app, "purge"):
        purged.plugins[plugin] = _purge_plugin(app, plugin, function, account, before=before,
                                               batch_size=batch_size, dry_run=dry_run)
    return purged


def _purge_plugin(app: Flask, plugin: str, function: Any, account: AccountView, *, before: datetime,
                  batch_size: int, dry_run: bool) -> int:
    """Call one plugin's ``purge`` until it deletes less than a batch; a failure is logged and stops only it."""
    total = 0
    while True:
        with storage.session(app) as session:
            ctx = plugin_manager.context(app, plugin, account, session)
            ok, deleted = plugin_manager.call_isolated(app, "purge", plugin, function, ctx=ctx, before=before,
                                                       limit=batch_size, dry_run=dry_run)
            if not ok:
                session.rollback()
                return total
        total += int(deleted or 0)
        if dry_run or int(deleted or 0) < batch_size:
            return total


class RetentionHooks:
    """The built-in plugin ``retention``: one timer, ``purge``, every ``retention_interval_seconds``."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    @hookimpl
    def register_timers(self) -> list[Timer]:
        interval = self.app.config["DESKMATE"].retention_interval_seconds
        return [Timer(TIMER, interval, self.run)]

    def run(self, ctx: PluginContext) -> None:
        # Each batch commits in a session of its own; the pass's own transaction (ctx.session) is never begun,
        # so on SQLite no write lock is held across the batches.
        settings = ctx.config
        window = settings.retention_days if settings.retention_window_seconds is None \
            else settings.retention_window_seconds / 86400
        purged = purge_account(self.app, ctx.account, before=cutoff(ctx.now(), window),
                               batch_size=settings.retention_batch_size)
        if purged.total:
            ctx.log.info("purged %d events, %d work items, %s", purged.events, purged.work_items,
                         ", ".join(f"{count} rows of {name}" for name, count in purged.plugins.items()) or
                         "nothing of plugins")


def init_app(app: Flask) -> None:
    """Register the retention timer (after the plugin manager)."""
    plugin_manager.register_builtin(app, RetentionHooks(app), NAME)
