"""A plugin used by the core's tests: it records what the worker asks of it, and can be told to fail."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import BaseModel

from app.hookspecs import hookimpl
from app.workqueue import BatchHandler, Done, PermanentFailure

performed: Counter[str] = Counter()
seen_events: list[tuple[str, int | None]] = []
batches: list[list[str]] = []
failures: dict[str, Any] = {}


def reset() -> None:
    performed.clear()
    seen_events.clear()
    batches.clear()
    failures.clear()


class SampleSettings(BaseModel):
    greeting: str = "hello"


@hookimpl
def settings_model() -> type[BaseModel]:
    return SampleSettings


@hookimpl
def handle_event(event, ctx):
    if failures.get("handle_event") == "after_write":
        ctx.enqueue("sample_plugin.record", f"sample_plugin:record:{event.ticket_id}", {"ticket_id": event.ticket_id,
                                                                          "greeting": "lost"})
        raise RuntimeError("sample plugin told to fail after writing")
    if failures.get("handle_event"):
        raise RuntimeError("sample plugin told to fail")
    seen_events.append((event.type, event.ticket_id))
    if event.type == "ticket.created":
        ctx.enqueue("sample_plugin.record", f"sample_plugin:record:{event.ticket_id}", {"ticket_id": event.ticket_id,
                                                                          "greeting": ctx.settings.greeting})
        ctx.enqueue("sample_plugin.batch", f"sample_plugin:batch:{event.ticket_id}", {"ticket_id": event.ticket_id},
                    coalesce=True)
        ctx.emit("sample_plugin.seen", {"ticket_id": event.ticket_id}, key=f"seen:{event.ticket_id}",
                 ticket_id=event.ticket_id)


def record(item, ctx):
    mode = failures.get(item.key)
    if mode == "permanent":
        raise PermanentFailure("told to fail for good")
    if mode == "transient":
        raise ConnectionError("told to fail once")
    performed[item.key] += 1
    return {"greeting": item.payload["greeting"], "attempt": item.attempts}


def run_batch(items, ctx):
    batches.append([item.key for item in items])
    return {item.id: Done({"batched_with": len(items)}) for item in items}


def sweep(ctx):
    """A timed pass in the recommended shape: decide from the clock, enqueue under a key that dedupes."""
    minute = ctx.now().strftime("%Y%m%d%H%M")
    ctx.enqueue("sample_plugin.record", f"sample_plugin:record:sweep:{minute}", {"greeting": "sweep"})


@hookimpl
def register_timers():
    from app.plugins import Timer

    return [Timer("sweep", 60, sweep)]


@hookimpl
def register_work_handlers():
    return {"sample_plugin.record": record, "sample_plugin.batch": BatchHandler(run_batch, max_batch=3)}
