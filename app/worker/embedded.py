"""The embedded worker: one worker thread inside a serving process (``make run``, or one gunicorn process on
SQLite with ``DESKMATE_EMBEDDED_WORKER=true``).

It belongs to a process that serves requests, never to a command: ``flask tokens create`` or ``flask db
upgrade`` load the same app (``wsgi:app``) and must neither start a worker nor wait for one. It starts only
once the database has every migration, so a first start (the web process up before ``flask db upgrade``, or
``make run`` migrating right after building the app) waits instead of failing on missing tables.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click
from flask import Flask

if TYPE_CHECKING:
    from app.worker import Worker

log = logging.getLogger("deskmate.worker")

EXTENSION = "deskmate.embedded_worker"
THREAD_NAME = "deskmate-embedded-worker"
POLL_SECONDS = 2.0  # how often a waiting worker looks at the schema again


@dataclass
class EmbeddedWorker:
    """``app.extensions["deskmate.embedded_worker"]``: the thread, its stop signal, the worker once running."""

    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    worker: Worker | None = None


def running_a_command() -> bool:
    """Whether this process is a ``flask`` command other than ``flask run`` (the one that serves requests).

    Flask's CLI loads the app inside the command's click context; gunicorn and ``make run`` load it outside any.
    """
    context = click.get_current_context(silent=True)
    return context is not None and context.command.name != "run"


def start(app: Flask) -> threading.Thread | None:
    """Start the embedded worker thread, unless this process is a command; it runs once the schema is at head.

    Returns the thread, or None when none was started.
    """
    if running_a_command():
        return None
    state = EmbeddedWorker()
    state.thread = threading.Thread(target=_run, args=(app, state), name=THREAD_NAME, daemon=True)
    app.extensions[EXTENSION] = state
    state.thread.start()
    return state.thread


def stop(app: Flask, wait_seconds: float = 0.0) -> None:
    """Stop the embedded worker, waiting up to ``wait_seconds`` for its thread to end.

    A serving process that ends (``make run`` on Ctrl-C) waits, so the worker's scheduler is shut down before the
    interpreter's thread pools are: otherwise a timer due at that moment logs "cannot schedule new futures after
    shutdown".
    """
    state: EmbeddedWorker | None = app.extensions.get(EXTENSION)
    if state is None:
        return
    state.stop.set()
    if state.worker is not None:
        state.worker.stop()
    if wait_seconds and state.thread is not None:
        state.thread.join(timeout=wait_seconds)


def _run(app: Flask, state: EmbeddedWorker) -> None:
    from app.migrate import at_head
    from app.worker import Worker

    stop = state.stop
    told = False
    while not stop.is_set():
        try:
            ready = at_head(app)
        except Exception:  # the database not reachable yet: the same wait, said once
            log.debug("embedded worker: cannot read the schema version yet", exc_info=True)
            ready = False
        if ready:
            break
        if not told:
            log.info("embedded worker waiting for the database migrations (flask db upgrade)")
            told = True
        stop.wait(POLL_SECONDS)
    if stop.is_set():
        return
    with app.app_context():
        worker = Worker(app)
        state.worker = worker
        if stop.is_set():
            return
        worker.run_forever(threads=1)
