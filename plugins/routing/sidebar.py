"""The routing panel in the agent's sidebar, as blocks (the shape is in docs/plugins.md, sidebar_panels)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.routing.models import RoutingDecision
from plugins.routing.rules import Why

PREMIUM = "premium_partner"


def _segment(segment: str) -> dict[str, Any]:
    return {"t": f"routing.segment.{segment}", "default": segment.replace("_", " ")}


def why_text(reasons: list[Any], organization_names: Mapping[int, str] | None = None) -> dict[str, Any] | None:
    """The stored reasons (``rules.Why.to_dict()`` each) as one sidebar text in the agent's language.

    Several reasons are joined pairwise with ``routing.why.and``, so each language places its own "and".
    An organization is named when its name is known; a segment is shown by its translated label.
    """
    parts: list[dict[str, Any]] = []
    for reason in reasons:
        if not isinstance(reason, dict) or not reason.get("kind"):
            continue
        kind, value = str(reason["kind"]), str(reason.get("value", ""))
        shown: Any = value
        if kind == "default":
            shown = _segment(value)
        elif kind == "organization" and value.isdigit() and organization_names:
            shown = organization_names.get(int(value), value)
        args: dict[str, Any] = {"value": shown}
        if reason.get("key") is not None:
            args["key"] = str(reason["key"])
        words = Why(kind, value, None if reason.get("key") is None else str(reason["key"])).words()
        parts.append({"t": f"routing.why.{kind}", "args": args, "default": words})
    if not parts:
        return None
    text = parts[0]
    for part in parts[1:]:
        text = {"t": "routing.why.and", "args": {"first": text, "second": part}}
    return text


def panel(row: RoutingDecision, organization_names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """Segment and tier tags (and the update's state unless applied), why, and the group it was sent to."""
    data = {
        "segment": row.segment, "tier": row.tier, "reason": row.reason, "reasons": row.reasons or [],
        "group": row.group_name, "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "status": row.status, "rule": row.rule, "note": row.note,
    }
    badges: list[dict[str, Any]] = []
    if row.segment:
        badges.append({"text": _segment(row.segment), "tone": "premium" if row.segment == PREMIUM else "blue"})
    if row.tier:
        badges.append({"text": row.tier})
    if row.status and row.status != "applied":
        badges.append({"text": {"t": f"routing.status.{row.status}", "default": row.status.replace("_", " ")},
                       "tone": "yellow"})
    blocks: list[dict[str, Any]] = [{"type": "badges", "items": badges}] if badges else []
    # Decisions made before reasons were stored as data have only their English words.
    reason = why_text(row.reasons or [], organization_names) or row.reason
    if reason:
        blocks.append({"type": "text", "text": {"t": "routing.reason", "args": {"reason": reason}}})
    if row.group_name:
        blocks.append({"type": "text", "text": {"t": "routing.group", "args": {"group": row.group_name}},
                       "small": True, "muted": True})
    header = {"badges": [{"text": _segment(PREMIUM), "tone": "premium"}]} if row.segment == PREMIUM else None
    return {"title": {"t": "routing.title"}, "empty": {"t": "routing.empty"}, "blocks": blocks,
            **({"header": header} if header else {}), "data": data}
