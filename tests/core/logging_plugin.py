"""A plugin for the log-context tests: it logs while handling an event, doing its work items and on a timer."""

from __future__ import annotations

import logging

from app.hookspecs import hookimpl
from app.workqueue import BatchHandler, Done

log = logging.getLogger("tests.logging_plugin")


@hookimpl
def handle_event(event, ctx):
    log.info("heard %s", event.type)
    if event.type == "ticket.created":
        ctx.enqueue("logging_plugin.say", f"logging_plugin:say:{event.ticket_id}", {"ticket_id": event.ticket_id})
        ctx.enqueue("logging_plugin.batch", f"logging_plugin:batch:{event.ticket_id}",
                    {"ticket_id": event.ticket_id})


def say(item, ctx):
    log.info("saying hello")
    return {}


def run_batch(items, ctx):
    log.info("a batch of %d", len(items))
    return {item.id: Done({}) for item in items}


def tidy(ctx):
    log.info("tidying up")


@hookimpl
def register_timers():
    from app.plugins import Timer

    return [Timer("tidy", 60, tidy)]


@hookimpl
def register_work_handlers():
    return {"logging_plugin.say": say, "logging_plugin.batch": BatchHandler(run_batch, max_batch=10)}
