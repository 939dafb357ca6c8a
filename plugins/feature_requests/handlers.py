"""What helpdesk and routing events mean for feature requests: tags link and unlink, caches stay current.

* ``ticket.created`` with ``fr_<id>`` tags links the ticket to those requests.
* ``ticket.tags_changed`` links for each added ``fr_<id>`` tag and unlinks for each removed one. Events can
  arrive late or twice: a change older than the last one applied to the same tag is ignored.
* Any ticket event about a linked ticket refreshes its cached status, requester and organization (the release
  dry run reads them; the delivery itself asks the helpdesk).
* ``routing.ticket_routed`` gives the requester's segment (premium partners sort first).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.api import Event, PluginContext, TicketSnapshot
from plugins.feature_requests.links import (
    existing_request,
    ids_in_tags,
    link_ticket,
    remember_segment,
    remember_ticket,
    tag_for,
    ticket_cache,
    unlink_ticket,
)
from plugins.feature_requests.models import Link, TicketCache
from plugins.feature_requests.settings import FeatureRequestsSettings

ROUTED = "routing.ticket_routed"


def settings_of(ctx: PluginContext) -> FeatureRequestsSettings:
    """The feature-requests settings of a context (the account's overrides merged in), typed."""
    return ctx.settings_as(FeatureRequestsSettings)


def handle(event: Event, ctx: PluginContext) -> None:
    """Dispatch one event."""
    if event.type == ROUTED:
        _on_routed(event, ctx)
        return
    ticket = event.ticket
    if ticket is None or not event.type.startswith("ticket."):
        return
    prefix = settings_of(ctx).tag_prefix
    added: set[int] = set()
    removed: set[int] = set()
    if event.type == "ticket.created":
        added = ids_in_tags(prefix, ticket.tags)
    elif event.type == "ticket.tags_changed":
        added, removed = _tag_change(prefix, event.data) or _full_tags(ctx, prefix, ticket)
    elif event.type == "ticket.updated":
        # Deskmate's trigger payload: the ticket's whole tag list, no diff.
        added, removed = _full_tags(ctx, prefix, ticket)
    if added or removed:
        _apply_tags(ctx, ticket, added, removed, event.occurred_at, prefix)
    _refresh_cache(ctx, ticket)


def _tag_change(prefix: str, data: dict[str, Any]) -> tuple[set[int], set[int]] | None:
    """The requests whose tags were added and removed, from the event's diff; None without one."""
    tags = data.get("tags")
    if isinstance(tags, dict) and ("added" in tags or "removed" in tags):
        added = ids_in_tags(prefix, list(tags.get("added") or []))
        return added, ids_in_tags(prefix, list(tags.get("removed") or []))
    current, previous = data.get("current"), data.get("previous")
    if isinstance(current, list) and isinstance(previous, list):
        now, before = ids_in_tags(prefix, current), ids_in_tags(prefix, previous)
        return now - before, before - now
    return None


def _full_tags(ctx: PluginContext, prefix: str, ticket: TicketSnapshot) -> tuple[set[int], set[int]]:
    """From the ticket's whole tag list: link every fr_ tag; unlink links a tag made whose tag is gone.

    Links made in the sidebar or through the API have no tag to lose, so a tag list never removes them.
    """
    present = ids_in_tags(prefix, ticket.tags)
    tag_made = set(ctx.session.scalars(sa.select(Link.feature_request_id).where(
        Link.account_id == ctx.account.id, Link.ticket_id == ticket.id, Link.linked_via == "tag")))
    return present, tag_made - present


def _apply_tags(ctx: PluginContext, ticket: TicketSnapshot, added: set[int], removed: set[int],
                occurred_at: datetime, prefix: str) -> None:
    cached = ticket_cache(ctx.session, ctx.account.id, ticket.id, ctx.now())
    remember_ticket(ctx.session, ctx.account.id, ticket, ctx.now())
    applied = dict(cached.tag_changes or {})
    stamp = occurred_at.isoformat()
    changes = [(i, True) for i in sorted(added)] + [(i, False) for i in sorted(removed)]
    for feature_request_id, linking in changes:
        tag = tag_for(prefix, feature_request_id)
        if applied.get(tag, "") > stamp:
            ctx.log.info("ignoring a late change of tag %s on ticket %s", tag, ticket.id)
            continue
        applied[tag] = stamp
        request = existing_request(ctx.session, ctx.account.id, feature_request_id)
        if request is None:
            ctx.log.info("ticket %s is tagged %s, but there is no feature request %s", ticket.id, tag,
                         feature_request_id)
            continue
        if linking:
            link_ticket(ctx, request, ticket.id, via="tag", by=f"tag:{tag}", requester_id=ticket.requester_id,
                        organization_id=ticket.organization_id)
        else:
            unlink_ticket(ctx.session, request, ticket.id, ctx.now())
    cached.tag_changes = applied


def _refresh_cache(ctx: PluginContext, ticket: TicketSnapshot) -> None:
    """Keep the cached status of linked tickets current (only tickets with links are cached)."""
    linked = ctx.session.scalar(sa.select(sa.func.count()).select_from(Link).where(
        Link.account_id == ctx.account.id, Link.ticket_id == ticket.id))
    cached = ctx.session.scalar(sa.select(TicketCache).where(TicketCache.account_id == ctx.account.id,
                                                             TicketCache.ticket_id == ticket.id))
    if linked or cached is not None:
        remember_ticket(ctx.session, ctx.account.id, ticket, ctx.now())


def _on_routed(event: Event, ctx: PluginContext) -> None:
    data = event.data or {}
    segment = data.get("segment")
    if not isinstance(segment, str) or not segment:
        return
    requester_id = _int(data.get("requester_id"))
    if requester_id is None and event.ticket is not None:
        requester_id = event.ticket.requester_id
    organization_id = _int(data.get("organization_id"))
    remember_segment(ctx.session, ctx.account.id, ticket_id=event.ticket_id, requester_id=requester_id,
                     organization_id=organization_id, segment=segment[:64], now=ctx.now())


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
