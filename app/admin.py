"""The core's admin API: work items (failed ones above all), inbound events and the account itself."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, request

from app import inbox, workqueue
from app.clock import get_clock
from app.models import InboundEvent, WorkItem
from app.web import current_account, db_session, json_body, json_error, require_admin

bp = Blueprint("admin_api", __name__, url_prefix="/admin/api")


def work_item_json(item: WorkItem) -> dict[str, Any]:
    return {
        "id": item.id, "kind": item.kind, "key": item.idempotency_key, "state": item.state,
        "attempts": item.attempts, "max_attempts": item.max_attempts, "last_error": item.last_error,
        "next_attempt_at": item.next_attempt_at.isoformat(), "created_at": item.created_at.isoformat(),
        "finished_at": item.finished_at.isoformat() if item.finished_at else None, "created_by": item.created_by,
        "payload": item.payload, "result": item.result,
    }


def _limit() -> int:
    try:
        return max(1, min(500, int(request.args.get("limit", 100))))
    except ValueError:
        return 100


@bp.get("/account")
@require_admin
def account() -> Any:
    view = current_account()
    return {"id": view.id, "subdomain": view.subdomain, "zendesk_account_id": view.zendesk_account_id,
            "rate_limit_per_minute": view.rate_limit_per_minute}


@bp.get("/work-items")
@require_admin
def list_work_items() -> Any:
    state = request.args.get("state")
    if state is not None and state not in workqueue.STATES:
        return json_error(400, f"state must be one of {', '.join(workqueue.STATES)}")
    query = sa.select(WorkItem).where(WorkItem.account_id == current_account().id)
    if state:
        query = query.where(WorkItem.state == state)
    if request.args.get("kind"):
        query = query.where(WorkItem.kind == request.args["kind"])
    items = db_session().scalars(query.order_by(WorkItem.id.desc()).limit(_limit())).all()
    return {"work_items": [work_item_json(item) for item in items],
            "counts": workqueue.counts_by_state(db_session(), current_account().id)}


@bp.post("/work-items/retry")
@require_admin
def retry_work_items() -> Any:
    body = json_body()
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
        return json_error(400, "ids must be a list of work item ids (or absent for every failed item)")
    count = workqueue.retry_failed(db_session(), account_id=current_account().id, item_ids=ids,
                                   now=get_clock().now())
    return {"retried": count}


@bp.get("/events")
@require_admin
def list_events() -> Any:
    query = sa.select(InboundEvent).where(InboundEvent.account_id == current_account().id)
    if request.args.get("state"):
        query = query.where(InboundEvent.state == request.args["state"])
    events = db_session().scalars(query.order_by(InboundEvent.id.desc()).limit(_limit())).all()
    return {"events": [
        {"id": e.id, "source": e.source, "type": e.event_type, "ticket_id": e.ticket_id, "state": e.state,
         "attempts": e.attempts, "last_error": e.last_error, "pending_plugins": e.pending_plugins,
         "received_at": e.received_at.isoformat()} for e in events]}


@bp.post("/events/retry")
@require_admin
def retry_events() -> Any:
    """Queue failed events (the listed ``ids``, or every failed one) again for the plugins that failed on them."""
    ids = json_body().get("ids")
    if ids is not None and (not isinstance(ids, list)
                            or not all(type(i) is int and 0 < i < 2**63 for i in ids)):
        return json_error(400, "ids must be a list of event ids (or absent for every failed event)")
    count = inbox.retry_failed(db_session(), account_id=current_account().id, event_ids=ids, now=get_clock().now())
    return {"retried": count}


@bp.get("/requester-notices")
@require_admin
def list_requester_notices() -> Any:
    """Requester notices with their delivery state; filters: ``subject_key``, ``kind``, ``state``."""
    from app import notices

    state = request.args.get("state")
    if state is not None and state not in notices.NOTICE_STATES:
        return json_error(400, f"state must be one of {', '.join(notices.NOTICE_STATES)}")
    subject = request.args.get("subject_key")
    subjects = [subject] if subject else None
    kind = request.args.get("kind") or None
    account_id = current_account().id
    return {"notices": notices.list_notices(db_session(), account_id, subject_keys=subjects, kind=kind,
                                            state=state, limit=_limit()),
            "summary": notices.summarise(db_session(), account_id, subject_keys=subjects, kind=kind)}


@bp.post("/requester-notices/retry")
@require_admin
def retry_requester_notices() -> Any:
    """Give failed notices (of ``subject_key``, or all) a fresh set of delivery attempts."""
    from app import notices

    subject = json_body().get("subject_key")
    if subject is not None and not isinstance(subject, str):
        return json_error(400, "subject_key must be a string")
    count = notices.retry_failed_notices(db_session(), current_account().id,
                                         subject_keys=[subject] if subject else None, now=get_clock().now())
    return {"retried": count}
