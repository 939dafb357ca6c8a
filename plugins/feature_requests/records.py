"""Feature requests themselves: create, edit, change status (with history), measure demand, list, describe."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from plugins.feature_requests.models import STATUSES, FeatureRequest, Link, RequesterCache, StatusChange

SORTS = ("demand", "newest", "updated", "title")
MAX_REQUEST_ID = 2**31 - 1  # an INTEGER primary key
MAX_HELPDESK_ID = 2**63 - 1  # helpdesk ids are BIGINT


class FeatureRequestError(ValueError):
    """A request that cannot be done as asked; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def subject_key(feature_request_id: int) -> str:
    """How requester notices name a feature request."""
    return f"feature_request:{feature_request_id}"


def get(session: Session, account_id: int, feature_request_id: int) -> FeatureRequest:
    """The account's request with this id.

    Raises:
        FeatureRequestError: 404 when the account has no such request.
    """
    if not 0 < feature_request_id <= MAX_REQUEST_ID:
        raise FeatureRequestError(f"feature request {feature_request_id} does not exist", 404)
    found = session.scalar(sa.select(FeatureRequest).where(FeatureRequest.account_id == account_id,
                                                           FeatureRequest.id == feature_request_id))
    if found is None:
        raise FeatureRequestError(f"feature request {feature_request_id} does not exist", 404)
    return found


def titles(session: Session, account_id: int, ids: Iterable[int]) -> dict[int, str]:
    """The titles of the account's requests with these ids (those that exist)."""
    wanted = [i for i in set(ids) if 0 < i <= MAX_REQUEST_ID]
    if not wanted:
        return {}
    return dict(session.execute(sa.select(FeatureRequest.id, FeatureRequest.title).where(
        FeatureRequest.account_id == account_id, FeatureRequest.id.in_(wanted))).tuples().all())


def canonical(session: Session, request: FeatureRequest) -> FeatureRequest:
    """The request a duplicate was merged into (following chains), or the request itself."""
    seen = {request.id}
    while request.duplicate_of_id is not None:
        target = get(session, request.account_id, request.duplicate_of_id)
        if target.id in seen:
            break  # a cycle would be a bug elsewhere; stop rather than loop
        seen.add(target.id)
        request = target
    return request


def _clean_text(value: Any, name: str, *, limit: int, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise FeatureRequestError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise FeatureRequestError(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise FeatureRequestError(f"{name} must not be empty")
    if len(value) > limit:
        raise FeatureRequestError(f"{name} is longer than {limit} characters")
    return value


def _clean_url(value: Any) -> str | None:
    url = _clean_text(value, "changelog_url", limit=500)
    if url and not url.startswith(("https://", "http://")):
        raise FeatureRequestError("changelog_url must be an http(s) URL")
    return url or None


def create(session: Session, account_id: int, data: dict[str, Any], *, by: str,
           now: datetime) -> FeatureRequest:
    """Create an open request from ``title``, ``description`` and optional changelog fields."""
    request = FeatureRequest(
        account_id=account_id, title=_clean_text(data.get("title"), "title", limit=200, required=True),
        description=_clean_text(data.get("description"), "description", limit=20000) or "", status="open",
        changelog_text=_clean_text(data.get("changelog_text"), "changelog_text", limit=20000) or None,
        changelog_url=_clean_url(data.get("changelog_url")), created_by=by, created_at=now, updated_at=now,
    )
    session.add(request)
    session.flush()
    session.add(StatusChange(account_id=account_id, feature_request_id=request.id, from_status=None,
                             to_status="open", changed_by=by, note="created", changed_at=now))
    return request


def update(request: FeatureRequest, data: dict[str, Any], *, now: datetime) -> None:
    """Change the title, description or changelog (status changes go through ``change_status``)."""
    unknown = set(data) - {"title", "description", "changelog_text", "changelog_url"}
    if unknown:
        raise FeatureRequestError(f"cannot update {', '.join(sorted(unknown))} here"
                                  + (" (use the status endpoint)" if "status" in unknown else ""))
    if "title" in data:
        request.title = _clean_text(data["title"], "title", limit=200, required=True) or request.title
    if "description" in data:
        request.description = _clean_text(data["description"], "description", limit=20000) or ""
    if "changelog_text" in data:
        request.changelog_text = _clean_text(data["changelog_text"], "changelog_text", limit=20000) or None
    if "changelog_url" in data:
        request.changelog_url = _clean_url(data["changelog_url"])
    request.updated_at = now


def record_status(session: Session, request: FeatureRequest, to_status: str, *, by: str, now: datetime,
                  note: str | None = None) -> None:
    """Move a request to ``to_status`` and write the step into its history (a no-op when unchanged)."""
    if to_status not in STATUSES:
        raise FeatureRequestError(f"status must be one of {', '.join(STATUSES)}")
    if request.status == to_status and note is None:
        return
    session.add(StatusChange(account_id=request.account_id, feature_request_id=request.id,
                             from_status=request.status, to_status=to_status, changed_by=by, note=note,
                             changed_at=now))
    request.status = to_status
    request.updated_at = now
    if to_status == "released" and request.released_at is None:
        request.released_at = now


def history(session: Session, request: FeatureRequest) -> list[dict[str, Any]]:
    rows = session.scalars(sa.select(StatusChange).where(
        StatusChange.account_id == request.account_id, StatusChange.feature_request_id == request.id,
    ).order_by(StatusChange.id))
    return [{"from": row.from_status, "to": row.to_status, "by": row.changed_by, "note": row.note,
             "at": row.changed_at.isoformat()} for row in rows]


@dataclass(frozen=True)
class Demand:
    """How many people asked for a request, premium partners apart."""

    requesters: int = 0
    premium_requesters: int = 0
    organizations: int = 0
    tickets: int = 0


def demand(session: Session, account_id: int, ids: Iterable[int] | None,
           premium_segments: Sequence[str]) -> dict[int, Demand]:
    """Per request: distinct requesters (premium partners counted apart), organizations and tickets.

    A requester's segment is the one routing last announced for them, else the one seen on the linked ticket.
    """
    segment = sa.func.coalesce(RequesterCache.segment, Link.segment)
    premium = sa.case((segment.in_(list(premium_segments) or [""]), Link.requester_id), else_=None)
    statement = (
        sa.select(Link.feature_request_id, sa.func.count(sa.distinct(Link.requester_id)),
                  sa.func.count(sa.distinct(premium)), sa.func.count(sa.distinct(Link.organization_id)),
                  sa.func.count(Link.id))
        .outerjoin(RequesterCache, sa.and_(RequesterCache.account_id == Link.account_id,
                                           RequesterCache.requester_id == Link.requester_id))
        .where(Link.account_id == account_id)
        .group_by(Link.feature_request_id)
    )
    if ids is not None:
        statement = statement.where(Link.feature_request_id.in_(list(ids)))
    return {row[0]: Demand(row[1], row[2], row[3], row[4]) for row in session.execute(statement)}


def summary_json(request: FeatureRequest, counts: Demand | None) -> dict[str, Any]:
    counts = counts or Demand()
    return {
        "id": request.id, "title": request.title, "status": request.status,
        "requesters": counts.requesters, "premium_requesters": counts.premium_requesters,
        "organizations": counts.organizations, "tickets": counts.tickets,
        "duplicate_of_id": request.duplicate_of_id, "changelog_url": request.changelog_url,
        "created_at": request.created_at.isoformat(), "updated_at": request.updated_at.isoformat(),
        "released_at": request.released_at.isoformat() if request.released_at else None,
    }


def list_requests(session: Session, account_id: int, *, statuses: Sequence[str] | None, query: str | None,
                  sort: str, premium_segments: Sequence[str], limit: int,
                  offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The account's requests as JSON summaries, filtered and sorted; returns (page, total matching).

    ``demand`` sorts premium partners first: by premium requesters, then all requesters, then tickets.
    """
    if sort not in SORTS:
        raise FeatureRequestError(f"sort must be one of {', '.join(SORTS)}")
    unknown = set(statuses or ()) - set(STATUSES)
    if unknown:
        raise FeatureRequestError(f"unknown status {', '.join(sorted(unknown))}; "
                                  f"one of {', '.join(STATUSES)}")
    statement = sa.select(FeatureRequest).where(FeatureRequest.account_id == account_id)
    if statuses:
        statement = statement.where(FeatureRequest.status.in_(list(statuses)))
    else:
        statement = statement.where(FeatureRequest.status != "duplicate")
    if query:
        # autoescape: the words are words, so % and _ in them match themselves, not anything.
        words = query.lower()
        statement = statement.where(sa.or_(sa.func.lower(FeatureRequest.title).contains(words, autoescape=True),
                                           sa.func.lower(FeatureRequest.description).contains(words,
                                                                                              autoescape=True)))
    requests = list(session.scalars(statement))
    counts = demand(session, account_id, None, premium_segments)
    empty = Demand()

    def key(request: FeatureRequest) -> Any:
        c = counts.get(request.id, empty)
        if sort == "demand":
            return (-c.premium_requesters, -c.requesters, -c.tickets, request.id)
        if sort == "newest":
            return (-request.created_at.timestamp(), -request.id)
        if sort == "updated":
            return (-request.updated_at.timestamp(), -request.id)
        return (request.title.lower(), request.id)

    requests.sort(key=key)
    page = requests[offset:offset + limit]
    return [summary_json(request, counts.get(request.id)) for request in page], len(requests)
