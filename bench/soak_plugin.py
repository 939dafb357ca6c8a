"""The plugin ``bench/soak.py`` runs: it handles every event cheaply and says which events it was handed.

Routing and the SLA bot call the helpdesk for every ticket, within its rate limit (700 a minute): 200,000
events would take hours of the emulator's time, not minutes of Deskmate's. This plugin measures what the soak
is about (ingest, claims, retention, health) and nothing else: each event handed to it is appended, as its
ticket id, to a file of this process in ``SOAK_HANDLED_DIR`` (the soak counts the distinct ids), and every
tenth event enqueues a work item that its handler finishes at once, so the work queue and its purge run too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TextIO

from app.api import ClaimedItem, Event, PluginContext, hookimpl

TICK = "soak_plugin.tick"
_out: dict[int, TextIO] = {}


def _file() -> TextIO:
    pid = os.getpid()
    if pid not in _out:
        folder = Path(os.environ.get("SOAK_HANDLED_DIR", "."))
        _out[pid] = (folder / f"handled-{pid}.txt").open("a", buffering=1)  # kept for the process's life
    return _out[pid]


@hookimpl
def handle_event(event: Event, ctx: PluginContext) -> None:
    if event.ticket_id is None:
        return
    if event.ticket_id % 10 == 0:
        ctx.enqueue(TICK, f"soak_plugin:tick:{event.ticket_id}", {"ticket": event.ticket_id})
    _file().write(f"{event.ticket_id}\n")


def _tick(item: ClaimedItem, ctx: Any) -> dict[str, Any]:
    return {"ticket": item.payload["ticket"]}


@hookimpl
def register_work_handlers() -> dict[str, Any]:
    return {TICK: _tick}
