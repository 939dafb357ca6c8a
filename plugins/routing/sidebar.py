"""The routing panel in the agent's sidebar, as blocks (the shape is in docs/plugins.md, sidebar_panels)."""

from __future__ import annotations

from typing import Any

from plugins.routing.models import RoutingDecision

PREMIUM = "premium_partner"


def _segment(segment: str) -> dict[str, Any]:
    return {"t": f"routing.segment.{segment}", "default": segment.replace("_", " ")}


def panel(row: RoutingDecision) -> dict[str, Any]:
    """Segment and tier tags (and the update's state unless applied), why, and the group it was sent to."""
    data = {
        "segment": row.segment, "tier": row.tier, "reason": row.reason, "group": row.group_name,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
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
    if row.reason:
        blocks.append({"type": "text", "text": {"t": "routing.reason", "args": {"reason": row.reason}}})
    if row.group_name:
        blocks.append({"type": "text", "text": {"t": "routing.group", "args": {"group": row.group_name}},
                       "small": True, "muted": True})
    header = {"badges": [{"text": _segment(PREMIUM), "tone": "premium"}]} if row.segment == PREMIUM else None
    return {"title": {"t": "routing.title"}, "empty": {"t": "routing.empty"}, "blocks": blocks,
            **({"header": header} if header else {}), "data": data}
