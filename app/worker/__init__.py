"""The worker: hands inbound events to plugins, performs due work items, runs the plugins' timed passes.

One job per module: ``events`` (claim events from the inbox, hand each to every plugin), ``work`` (work items
under leases: claim, perform, lease keeper, finish) and ``timers`` (the scheduler pass). ``Worker`` composes
them into one worker process (``flask worker``) or the embedded worker thread of ``make run``.

Everything it does is decided from the database, so any number of workers can run (on PostgreSQL) and a
worker that dies loses nothing: its leases run out and another worker picks its rows up. Tests drive it step
by step (``handle_events``, ``perform_work``, ``run_timers``, ``run_until_idle``); production runs
``run_forever``, where APScheduler 3 triggers the timed passes and the lease keeper.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from app.clock import get_clock
from app.db import storage
from app.models import WorkerHeartbeat
from app.worker.events import ECHO_TYPES, EventDispatcher
from app.worker.timers import TimerRunner
from app.worker.work import WorkPerformer
from app.workqueue import Backoff

log = logging.getLogger("deskmate.worker")

__all__ = ["ECHO_TYPES", "EventDispatcher", "TimerRunner", "WorkPerformer", "Worker"]


class Worker:
    """One worker process (or the embedded worker thread of ``make run``): its three jobs, its loops."""

    def __init__(self, app: Flask, worker_id: str | None = None) -> None:
        self.app = app
        self.settings = app.config["DESKMATE"]
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        backoff = Backoff(self.settings.work_backoff_base_seconds, self.settings.work_backoff_cap_seconds)
        self.events = EventDispatcher(app, self.worker_id, backoff)
        self.work = WorkPerformer(app, self.worker_id, backoff)
        self.timers = TimerRunner(app, self.worker_id)
        self._stop = threading.Event()

    def now(self) -> datetime:
        return get_clock(self.app).now()

    @property
    def items_done(self) -> int:
        return self.work.items_done

    # --- one step of each job (tests, the embedded worker, perform_work_once) ---------------------------------

    def handle_events(self, limit: int | None = None) -> int:
        """Claim due inbound events and hand each to the plugins; returns how many were claimed."""
        return self.events.handle_events(limit)

    def perform_work(self, limit: int | None = None) -> int:
        """Claim due work items and perform them (batch kinds together); returns how many were claimed."""
        return self.work.perform_work(limit)

    def renew_leases(self) -> None:
        """The lease keeper's pass: push the leases of every work item and inbound event this worker holds a
        full lease ahead."""
        self.work.renew_leases()
        self.events.renew_leases()

    def run_timers(self, names: set[str] | None = None) -> int:
        """Run every plugin timer once now for every active account (each in its own transaction), without
        asking for leases: a step for tests and commands. The scheduler runs ``timers.scheduled_pass``."""
        return self.timers.run_timers(names)

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

    # --- the process ------------------------------------------------------------------------------------------

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
        for plugin, timer in self.timers.timers:
            # A pass about what happened while no worker ran (catch-up) runs at start too, not an interval later.
            at_start: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if timer.run_at_start else {}
            scheduler.add_job(self.timers.scheduled_pass, "interval", seconds=timer.every_seconds,
                              args=[plugin, timer], id=f"{plugin}:{timer.name}", **job_defaults, **at_start)
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
        log.info("worker %s started: %d threads, %d timers", self.worker_id, len(loops), len(self.timers.timers))
        try:
            while not self._stop.wait(0.5):
                pass
        finally:
            scheduler.shutdown(wait=False)
            for loop in loops:
                loop.join(timeout=10)

    def _safe_renew(self) -> None:
        try:
            self.renew_leases()
        except Exception:
            log.exception("renewing the leases of work items and events failed")

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
