"""Targets kept per account, and read from the helpdesk's own SLA policies so they match what agents see.

An account's targets live in ``accounts.settings["sla"]`` (the core merges them over the config file's
``[plugins.sla]``). Importing the helpdesk's policies maps each policy to a segment by its title
(``policy_segments``) and turns its first-reply metrics into targets, keeping the segment's Slack choices.
"""

from __future__ import annotations

from typing import Any

from app.api import ClaimedItem, PluginContext
from plugins.sla.settings import SlaSettings, Target, settings_of

IMPORT_KIND = "sla.import_policies"
OVERRIDABLE = ("targets", "business_hours")


def save_overrides(ctx: PluginContext, values: dict[str, Any]) -> None:
    """Store the account's own targets and business hours (validated by the caller)."""
    ctx.save_settings({key: value for key, value in values.items() if key in OVERRIDABLE})


def targets_from_policies(policies: list[dict[str, Any]],
                          settings: SlaSettings) -> tuple[list[Target], list[str]]:
    """Targets for every policy mapped to a segment; returns them and notes on what was skipped."""
    imported: list[Target] = []
    notes: list[str] = []
    seen: set[tuple[str, str | None]] = set()
    for policy in policies:
        title = str(policy.get("title") or "")
        segment = settings.policy_segments.get(title)
        if segment is None:
            notes.append(f"policy {title!r} is not mapped to a segment (policy_segments); skipped")
            continue
        template = settings.target_for(segment, None)
        for metric in policy.get("policy_metrics") or []:
            if metric.get("metric") != "first_reply_time":
                continue
            priority = str(metric.get("priority") or "").lower() or None
            if (segment, priority) in seen:
                continue  # policies apply in order, the first match wins: so does the first import
            seen.add((segment, priority))
            reminders = [m for m in (template.reminders if template else []) if m < int(metric["target"])]
            imported.append(Target(segment=segment, priority=priority, minutes=int(metric["target"]),
                                   business_hours=bool(metric.get("business_hours")),
                                   notify=template.notify if template else False, reminders=reminders,
                                   mention=template.mention if template else None))
    return imported, notes


def import_policies(ctx: PluginContext) -> dict[str, Any]:
    """Read the helpdesk's SLA policies and make the imported segments' targets the account's own."""
    answer = ctx.zendesk.call("GET", "/slas/policies.json", what="SLA policies")
    settings = settings_of(ctx)
    imported, notes = targets_from_policies(answer.get("sla_policies") or [], settings)
    segments = {target.segment for target in imported}
    kept = [target for target in settings.targets if target.segment not in segments]
    targets = [target.model_dump() for target in [*imported, *kept]]
    SlaSettings.model_validate({**settings.model_dump(), "targets": targets})
    save_overrides(ctx, {"targets": targets})
    return {"imported": [t.model_dump() for t in imported], "notes": notes}


def perform_import(item: ClaimedItem, ctx: PluginContext) -> dict[str, Any]:
    return import_policies(ctx)
