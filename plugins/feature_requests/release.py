"""Releasing a feature request: tell each of its requesters once, through the core's requester notices.

The audience is the request's requesters (one per person, premium partners first) minus those already told
about it, or about a duplicate merged into it. A dry run says who would be told and how, from the ticket
statuses Deskmate last heard of; the real delivery decides again from the helpdesk's current state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api import (
    REQUESTER_PLACEHOLDERS,
    PluginContext,
    RequesterNotice,
    notify_requesters,
    summarise_notices,
    told_requesters,
)
from plugins.feature_requests.handlers import settings_of
from plugins.feature_requests.links import Requester, requesters_of, ticket_statuses
from plugins.feature_requests.merging import merged_into
from plugins.feature_requests.models import FeatureRequest
from plugins.feature_requests.records import FeatureRequestError, record_status, subject_key

NOTICE_KIND = "released"
UNRELEASABLE = ("duplicate", "declined")


@dataclass
class ReleasePlan:
    """Who a release tells, who it skips and why, and what stops it."""

    to_tell: list[Requester] = field(default_factory=list)
    already_told: list[Requester] = field(default_factory=list)
    unknown_requester_tickets: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    statuses: dict[int, str | None] = field(default_factory=dict)


def context_for(request: FeatureRequest) -> dict[str, Any]:
    """The placeholders a release message can use; ``{changelog}`` is empty when there is nothing to say."""
    parts = [part for part in (request.changelog_text, request.changelog_url) if part]
    return {
        "title": request.title, "feature_request_id": request.id,
        "changelog_url": request.changelog_url, "changelog_text": request.changelog_text,
        "changelog": ("\n" + "\n".join(parts) + "\n") if parts else "",
    }


def plan(ctx: PluginContext, request: FeatureRequest) -> ReleasePlan:
    """Work out the audience of a release without changing anything."""
    settings = settings_of(ctx)
    result = ReleasePlan()
    if request.status in UNRELEASABLE:
        target = f" (release #{request.duplicate_of_id} instead)" if request.duplicate_of_id else ""
        result.problems.append(f"a {request.status} request is not released{target}")
    templates = settings.release_templates()
    values = context_for(request)
    missing = sorted(name for name in templates.placeholders() - REQUESTER_PLACEHOLDERS
                     if values.get(name) is None)
    if missing:
        result.problems.append(f"the release message needs {', '.join(missing)}; set it on the request first")
    requesters, unknown = requesters_of(ctx.session, ctx.account.id, request, settings.premium_segments)
    result.unknown_requester_tickets = [link.ticket_id for link in unknown]
    subjects = [subject_key(request.id)] + [subject_key(i) for i in merged_into(ctx.session, ctx.account.id,
                                                                                 request.id)]
    told = told_requesters(ctx.session, ctx.account.id, subjects, NOTICE_KIND)
    for person in requesters:
        (result.already_told if person.requester_id in told else result.to_tell).append(person)
    result.statuses = ticket_statuses(ctx.session, ctx.account.id,
                                      [t for person in requesters for t in person.ticket_ids])
    return result


def expected_channel(person: Requester, statuses: dict[int, str | None]) -> dict[str, Any]:
    """How a requester would be told, judging from the statuses Deskmate last heard of."""
    unknown = [t for t in person.ticket_ids if statuses.get(t) is None]
    open_ids = [t for t in person.ticket_ids if statuses.get(t) not in (None, "closed")]
    if open_ids:
        return {"channel": "comment", "ticket_id": max(open_ids)}
    if unknown:
        return {"channel": "decided at delivery", "ticket_id": None}
    return {"channel": "followup", "source_ticket_id": max(person.ticket_ids)}


def plan_json(request: FeatureRequest, result: ReleasePlan) -> dict[str, Any]:
    def person_json(person: Requester) -> dict[str, Any]:
        return {**person.to_json(result.statuses), **expected_channel(person, result.statuses)}

    return {
        "feature_request_id": request.id, "subject_key": subject_key(request.id),
        "would_tell": [person_json(p) for p in result.to_tell],
        "already_told": [p.requester_id for p in result.already_told],
        "unknown_requester_tickets": result.unknown_requester_tickets,
        "problems": result.problems,
        "counts": {"would_tell": len(result.to_tell), "already_told": len(result.already_told),
                   "unknown_requester_tickets": len(result.unknown_requester_tickets),
                   "by_comment": sum(1 for p in result.to_tell
                                     if expected_channel(p, result.statuses)["channel"] == "comment"),
                   "by_followup": sum(1 for p in result.to_tell
                                      if expected_channel(p, result.statuses)["channel"] == "followup")},
    }


def release(ctx: PluginContext, request: FeatureRequest, *, by: str, dry_run: bool,
            note: str | None = None) -> dict[str, Any]:
    """Release a request: mark it released and record one notice per requester not told yet.

    ``note`` (the admin's words about the release) goes into the request's history with the step.

    Running it again tells nobody twice; it only reaches requesters linked since.

    Raises:
        FeatureRequestError: 409 when the request cannot be released (duplicate, declined, message
            incomplete).
    """
    result = plan(ctx, request)
    answer = plan_json(request, result)
    answer["dry_run"] = dry_run
    if dry_run:
        return answer
    if result.problems:
        raise FeatureRequestError("; ".join(result.problems), 409)
    settings = settings_of(ctx)
    if request.status != "released" or note:
        record_status(ctx.session, request, "released", by=by, now=ctx.now(), note=note)
    templates = settings.release_templates()
    values = context_for(request)
    recorded = notify_requesters(ctx, [
        RequesterNotice(requester_id=person.requester_id, kind=NOTICE_KIND,
                        subject_key=subject_key(request.id), ticket_ids=person.ticket_ids,
                        templates=templates, context=values, tags=settings.release_tags)
        for person in result.to_tell
    ])
    answer["recorded"] = len(recorded.recorded)
    answer["notices"] = summarise_notices(ctx.session, ctx.account.id, subject_keys=[subject_key(request.id)])
    return answer
