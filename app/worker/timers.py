"""Timers: the scheduler pass that runs every plugin's timed passes for each active account.

A pass reads only what is due (an indexed due time) and turns it into work items whose keys make a second run,
or a second worker, harmless; a restart finds what came due meanwhile. APScheduler 3 triggers the passes in
``flask worker`` (``Worker.run_forever``); tests call ``run_timers`` (every pass, now) or ``scheduled_pass``.

Every worker's scheduler fires every timer, but a pass runs once per account per interval across all of them:
before a scheduled pass the worker takes the lease of each account's pass (a ``timer_leases`` row per timer and
account) for the current interval, in one statement for all accounts, and runs only the passes it got. The
intervals are aligned to the epoch (a 60-second timer's lease ends on the minute), so whichever worker fires
first in an interval runs it and the others find it taken, without a clock of their own deciding. A worker that
dies mid-pass holds the lease only to the end of the interval; the next interval's pass is anyone's again.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.accounts import active_accounts
from app.clock import get_clock
from app.db import insert_for, storage, table_of
from app.logs import log_context
from app.models import TimerLease
from app.plugins import Timer, plugin_manager

log = logging.getLogger("deskmate.worker")


def interval_end(now: datetime, every_seconds: float) -> datetime:
    """The end of the interval ``now`` falls in, intervals of ``every_seconds`` counted from the epoch."""
    start = datetime(1970, 1, 1, tzinfo=UTC)
    elapsed = (now - start).total_seconds()
    return start + timedelta(seconds=(math.floor(elapsed / every_seconds) + 1) * every_seconds)


def take_leases(engine: sa.Engine, name: str, account_ids: list[int], *, owner: str, now: datetime,
                until: datetime) -> set[int]:
    """Take the lease of timer ``name`` for each of ``account_ids`` whose lease has ended (or never existed),
    up to ``until``; returns the accounts whose pass is this owner's to run.

    One INSERT ... ON CONFLICT DO UPDATE ... WHERE the lease has ended: a row is returned only when it was
    inserted or taken over. On PostgreSQL a second worker's statement waits on the row lock and then finds the
    lease taken; SQLite serialises writers.
    """
    if not account_ids:
        return set()
    table = table_of(TimerLease)
    statement = insert_for(engine, TimerLease).values(
        [{"name": name, "account_id": account_id, "leased_until": until, "owner": owner}
         for account_id in sorted(account_ids)])  # one lock order for every worker: no deadlock
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name, table.c.account_id],
        set_={"leased_until": statement.excluded.leased_until, "owner": statement.excluded.owner},
        where=table.c.leased_until <= now,
    ).returning(table.c.account_id)
    with engine.begin() as connection:
        return {row.account_id for row in connection.execute(statement)}


class TimerRunner:
    """Runs the enabled plugins' timers, each pass for each account in a transaction of its own."""

    def __init__(self, app: Flask, worker_id: str = "timers") -> None:
        self.app = app
        self.worker_id = worker_id
        self.timers: list[tuple[str, Timer]] = plugin_manager.timers(app)

    def run_timers(self, names: set[str] | None = None) -> int:
        """Run every plugin timer once for every active account (each in its own transaction), leases aside."""
        ran = 0
        for plugin, timer in self.timers:
            if names is not None and timer.name not in names:
                continue
            for account in active_accounts(self.app):
                ran += self.run_timer(plugin, timer, account)
        return ran

    def run_timer(self, plugin: str, timer: Timer, account: Any) -> int:
        """One pass of one timer for one account; 1 if it committed, 0 if it failed (logged)."""
        with log_context(account=account.subdomain, timer=f"{plugin}:{timer.name}"):
            try:
                with storage.session(self.app) as session:
                    ctx = plugin_manager.context(self.app, plugin, account, session)
                    ok, _ = plugin_manager.call_isolated(self.app, f"timer:{timer.name}", plugin, timer.run,
                                                         ctx=ctx)
                    if not ok:
                        session.rollback()
            except Exception:
                log.exception("timer %s of %s could not commit", timer.name, plugin)
                return 0
        return 1

    def scheduled_pass(self, plugin: str, timer: Timer) -> int:
        """The scheduler's job for one timer: a pass for every active account whose lease for this interval
        this worker takes, in the app's context; returns how many passes it ran.

        A failed pass keeps its lease: the next interval tries again, rather than every worker at once.
        """
        with self.app.app_context():
            accounts = {account.id: account for account in active_accounts(self.app)}
            now = get_clock(self.app).now()
            try:
                mine = take_leases(storage.engine(self.app), f"{plugin}:{timer.name}", list(accounts),
                                   owner=self.worker_id, now=now, until=interval_end(now, timer.every_seconds))
            except Exception:
                log.exception("timer %s of %s: its leases could not be taken; the next interval tries again",
                              timer.name, plugin)
                return 0
            return sum(self.run_timer(plugin, timer, accounts[account_id]) for account_id in sorted(mine))
