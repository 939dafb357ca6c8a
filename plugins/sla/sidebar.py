"""The first-reply clock in the agent's sidebar, as blocks (the shape is in docs/plugins.md, sidebar_panels).

A running clock is a ``countdown`` block the page ticks every second: green, amber in the last 30 minutes, red
when overdue; an answered one says in how long and whether the target was met.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugins.sla.clocks import sidebar_panel
from plugins.sla.models import SlaClock

WARN_SECONDS = 30 * 60


def panel(clock: SlaClock, now: datetime) -> dict[str, Any]:
    data = sidebar_panel(clock, now)
    target = ({"t": "sla.target", "args": {"time": {"duration_seconds": data["target_minutes"] * 60}}}
              if data["target_minutes"] else None)
    shape: dict[str, Any] = {"title": {"t": "sla.title"}, "empty": {"t": "sla.empty"}, "data": data}
    if data["state"] == "answered" or data["replied_at"]:
        met = data["met_target"] is not False and not data["breached"]
        answered = {"duration_seconds": (data["reply_minutes"] or 0) * 60}
        return {**shape, "blocks": [
            {"type": "text", "large": True, "tone": "green" if met else "red",
             "text": {"t": "sla.answered_in", "args": {"time": answered}}},
            {"type": "badges", "items": [{"text": {"t": "sla.met" if met else "sla.missed"},
                                          "tone": "green" if met else "red"}], "note": target},
        ]}
    if data["state"] == "closed" or not data["due_at"]:
        return {**shape, "blocks": [], "empty": {"t": "sla.closed"}}
    blocks: list[dict[str, Any]] = [
        {"type": "countdown", "due_at": data["due_at"], "warn_seconds": WARN_SECONDS,
         "left": {"t": "sla.left"}, "overdue": {"t": "sla.overdue"}},
        {"type": "text", "small": True, "muted": True,
         "text": [target, {"t": "sla.due", "args": {"time": {"date": data["due_at"]}}}]},
    ]
    if data["business_hours"]:
        blocks.append({"type": "text", "small": True, "muted": True, "text": {"t": "sla.business_hours"}})
    return {**shape, "blocks": blocks}
