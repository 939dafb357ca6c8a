"""``/healthz`` (for load balancers and ``make run``) and ``/metrics`` (Prometheus text).

Both read the queue tables through their partial indexes only (``app.models``: open, failed and done rows
indexed apart), so they answer in the same time whether the tables hold a thousand rows or millions: the
counts cost what the backlog and the failures cost, never what the history costs.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from sqlalchemy.orm import Session

from app import metrics
from app.clock import get_clock
from app.db import storage
from app.models import EVENTS_OPEN, FAILED_ROWS, WORK_OPEN, Account, InboundEvent, WorkerHeartbeat, WorkItem
from app.ratelimit import current_limit
from app.web import json_error

bp = Blueprint("health", __name__)
HEARTBEAT_FRESH = timedelta(seconds=30)


def _queue(session: Session, model: Any, open_rows: Any, running: str, *, now: datetime, since: datetime,
           failed_at: Any) -> dict[str, int]:
    """One queue table's pending, running, stuck (running past its lease), failed and recently failed rows.

    Every statement carries its partial index's predicate as literal SQL, which is what lets SQLite and
    PostgreSQL's generic plans use the index (see ``app.models``).
    """
    rows = session.execute(sa.select(model.state, sa.func.count()).select_from(model).where(open_rows)
                           .group_by(model.state)).all()
    counts = {row[0]: int(row[1]) for row in rows}
    stuck = session.scalar(sa.select(sa.func.count()).select_from(model)
                           .where(open_rows, model.state == running, model.locked_until < now)) or 0
    failed, recent = session.execute(
        sa.select(sa.func.count(), sa.func.count(sa.case((failed_at >= since, 1)))).select_from(model)
        .where(FAILED_ROWS)).one()
    return {"pending": counts.get("pending", 0), running: counts.get(running, 0), "stuck": stuck,
            "failed": failed or 0, "failed_recently": recent or 0}


def queue_counts(session: Session, now: datetime, since: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """``(work items, inbound events)`` counts by state, as ``/healthz`` and ``/metrics`` show them.

    A failed event's time is its ``processed_at``, else (failed before that was recorded) its last due time.
    """
    work = _queue(session, WorkItem, WORK_OPEN, "running", now=now, since=since, failed_at=WorkItem.finished_at)
    events = _queue(session, InboundEvent, EVENTS_OPEN, "processing", now=now, since=since,
                    failed_at=sa.func.coalesce(InboundEvent.processed_at, InboundEvent.next_attempt_at))
    return work, events


def _window(now: datetime) -> datetime:
    return now - timedelta(seconds=current_app.config["DESKMATE"].health_failed_window_seconds)


@bp.get("/healthz")
def healthz() -> Any:
    """Deliberately public: it says whether things work, never how they are configured.

    ``degraded`` (still 200: the web answers) when no worker was seen for 30 s, when an event or a work item
    is stuck past its lease, or when one failed for good within the failure window.
    """
    now = get_clock().now()
    try:
        with storage.session() as session:
            work, events = queue_counts(session, now, _window(now))
            last_beat = session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_seen_at)))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return {"status": "error", "database": "unreachable"}, 503
    worker_ok = last_beat is not None and now - last_beat < HEARTBEAT_FRESH
    reasons = [] if worker_ok else ["no worker seen for 30 s"]
    for name, counts in (("work items", work), ("inbound events", events)):
        if counts["stuck"]:
            reasons.append(f"{counts['stuck']} {name} stuck past their lease")
        if counts["failed_recently"]:
            reasons.append(f"{counts['failed_recently']} {name} failed in the last "
                           f"{current_app.config['DESKMATE'].health_failed_window_seconds} s")
    return {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "database": "ok",
        "worker": {"alive": worker_ok, "last_seen_at": last_beat.isoformat() if last_beat else None},
        "work_items": work,
        "inbound_events": events,
        "inbound_events_pending": events["pending"],
    }


@bp.get("/metrics")
def prometheus() -> Any:
    """Public unless ``DESKMATE_METRICS_TOKEN`` is set, in which case it needs that bearer token."""
    token = current_app.config["DESKMATE"].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return json_error(401, "the metrics token is required")
    now = get_clock().now()
    with storage.session() as session:
        work, events = queue_counts(session, now, _window(now))
        # The accounts' columns read here, not their views: a scrape never decrypts a secret.
        accounts = session.execute(sa.select(Account.id, Account.subdomain, Account.rate_limit_per_minute)
                                   .where(Account.active.is_(True))).all()
    engine = storage.engine()
    limits = {subdomain: current_limit(engine, account_id, configured)
              for account_id, subdomain, configured in accounts}
    rate_limits = {name: (per_minute, learnt_at is not None) for name, (per_minute, learnt_at) in limits.items()}
    return Response(metrics.render(work, events, rate_limits), mimetype="text/plain; version=0.0.4")
