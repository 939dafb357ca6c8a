"""Merging a duplicate into its target, and undoing it while nobody has been told about either.

The duplicate's links move to the target, except links of tickets the target already has (those stay behind,
unused, so that no ticket is counted twice); requesters are derived from links, one per person, so a person
who asked through both requests counts once. The duplicate keeps a pointer to its target and the ids of the
links that moved, which is what an undo moves back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.api import summarise_notices
from plugins.feature_requests.models import FeatureRequest, Link, Merge
from plugins.feature_requests.records import (
    MAX_REQUEST_ID,
    FeatureRequestError,
    canonical,
    get,
    record_status,
    subject_key,
)


def merge(session: Session, duplicate: FeatureRequest, target: FeatureRequest, *, by: str,
          now: datetime) -> Merge:
    """Merge ``duplicate`` into ``target`` (or into what ``target`` was itself merged into).

    Raises:
        FeatureRequestError: 409 when the duplicate is already merged or the merge would make a cycle.
    """
    target = canonical(session, target)
    if duplicate.status == "duplicate":
        raise FeatureRequestError(f"feature request {duplicate.id} is already a duplicate of "
                                  f"{duplicate.duplicate_of_id}", 409)
    if target.id == duplicate.id:
        raise FeatureRequestError("a feature request cannot be merged into itself", 409)
    taken = set(session.scalars(sa.select(Link.ticket_id).where(
        Link.account_id == target.account_id, Link.feature_request_id == target.id)))
    theirs = session.scalars(sa.select(Link).where(Link.account_id == duplicate.account_id,
                                                   Link.feature_request_id == duplicate.id))
    moving = [link for link in theirs if link.ticket_id not in taken]
    for link in moving:
        link.feature_request_id = target.id
        link.merged_from_id = duplicate.id
    previous = duplicate.status
    record_status(session, duplicate, "duplicate", by=by, now=now, note=f"merged into #{target.id}")
    duplicate.duplicate_of_id = target.id
    target.updated_at = now
    row = Merge(account_id=duplicate.account_id, duplicate_id=duplicate.id, target_id=target.id,
                previous_status=previous, moved_link_ids=[link.id for link in moving], merged_by=by,
                merged_at=now)
    session.add(row)
    session.flush()
    return row


def notices_recorded(session: Session, account_id: int, feature_request_ids: list[int]) -> int:
    """How many requester notices exist (in any state) about these requests."""
    counts = summarise_notices(session, account_id, subject_keys=[subject_key(i) for i in feature_request_ids])
    return int(counts["total"])


def undo(session: Session, account_id: int, merge_id: int, *, by: str, now: datetime) -> Merge:
    """Move the merged links back to the duplicate and give it its status back.

    Raises:
        FeatureRequestError: 404 for an unknown merge; 409 when it was undone already or a requester notice
            about either request exists (someone may have been told).
    """
    # Merge ids are INTEGERs like request ids: a larger one is refused before PostgreSQL sees it.
    row = session.scalar(sa.select(Merge).where(Merge.account_id == account_id, Merge.id == merge_id)) \
        if 0 < merge_id <= MAX_REQUEST_ID else None
    if row is None:
        raise FeatureRequestError(f"merge {merge_id} does not exist", 404)
    if row.undone_at is not None:
        raise FeatureRequestError(f"merge {merge_id} was already undone", 409)
    duplicate = get(session, account_id, row.duplicate_id)
    target = get(session, account_id, row.target_id)
    affected = [duplicate.id, target.id, canonical(session, target).id]
    if notices_recorded(session, account_id, affected):
        raise FeatureRequestError("requesters of these requests have been (or are being) told; the merge "
                                  "can no longer be undone", 409)
    if duplicate.duplicate_of_id != target.id:
        raise FeatureRequestError(f"feature request {duplicate.id} is no longer a duplicate of {target.id}",
                                  409)
    still_there = set(session.scalars(sa.select(Link.ticket_id).where(
        Link.account_id == account_id, Link.feature_request_id == duplicate.id)))
    for link in session.scalars(sa.select(Link).where(Link.account_id == account_id,
                                                      Link.id.in_(list(row.moved_link_ids or [])))):
        if link.ticket_id in still_there:
            session.delete(link)  # the duplicate already has this ticket again; one link is enough
            continue
        link.feature_request_id = duplicate.id
        link.merged_from_id = None
    duplicate.duplicate_of_id = None
    record_status(session, duplicate, row.previous_status, by=by, now=now,
                  note=f"merge into #{target.id} undone")
    target.updated_at = now
    row.undone_at, row.undone_by = now, by
    return row


def merge_json(row: Merge) -> dict[str, Any]:
    return {"id": row.id, "duplicate_id": row.duplicate_id, "target_id": row.target_id,
            "previous_status": row.previous_status, "moved_links": len(row.moved_link_ids or []),
            "merged_by": row.merged_by, "merged_at": row.merged_at.isoformat(),
            "undone_at": row.undone_at.isoformat() if row.undone_at else None, "undone_by": row.undone_by}


def merges_of(session: Session, account_id: int, feature_request_id: int) -> list[Merge]:
    return list(session.scalars(sa.select(Merge).where(
        Merge.account_id == account_id,
        sa.or_(Merge.duplicate_id == feature_request_id, Merge.target_id == feature_request_id),
    ).order_by(Merge.id)))


def merged_into(session: Session, account_id: int, feature_request_id: int) -> list[int]:
    """Every request merged (directly or through others) into this one, still merged."""
    found: list[int] = []
    frontier = [feature_request_id]
    while frontier:
        children = list(session.scalars(sa.select(FeatureRequest.id).where(
            FeatureRequest.account_id == account_id, FeatureRequest.duplicate_of_id.in_(frontier))))
        children = [child for child in children if child not in found and child != feature_request_id]
        found.extend(children)
        frontier = children
    return found
