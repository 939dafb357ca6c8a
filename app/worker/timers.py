"""Timers: the scheduler pass that runs every plugin's timed passes for each active account.

A pass reads only what is due (an indexed due time) and turns it into work items whose keys make a second run,
or a second worker, harmless; a restart finds what came due meanwhile. APScheduler 3 triggers the passes in
``flask worker`` (``Worker.run_forever``); tests call ``run_timers``.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from app.accounts import active_accounts
from app.db import storage
from app.plugins import Timer, plugin_manager

log = logging.getLogger("deskmate.worker")


class TimerRunner:
    """Runs the enabled plugins' timers, each pass for each account in a transaction of its own."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.timers: list[tuple[str, Timer]] = plugin_manager.timers(app)

    def run_timers(self, names: set[str] | None = None) -> int:
        """Run every plugin timer once for every active account (each in its own transaction)."""
        ran = 0
        for plugin, timer in self.timers:
            if names is not None and timer.name not in names:
                continue
            for account in active_accounts(self.app):
                ran += self.run_timer(plugin, timer, account)
        return ran

    def run_timer(self, plugin: str, timer: Timer, account: Any) -> int:
        """One pass of one timer for one account; 1 if it committed, 0 if it failed (logged)."""
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

    def scheduled_pass(self, plugin: str, timer: Timer) -> None:
        """The scheduler's job for one timer: a pass for every active account, in the app's context."""
        with self.app.app_context():
            for account in active_accounts(self.app):
                self.run_timer(plugin, timer, account)
