"""``/healthz`` (for load balancers and ``make run``) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request

from app import metrics, workqueue
from app.clock import get_clock
from app.db import storage
from app.models import WorkerHeartbeat
from app.plugins import pending_events
from app.web import json_error

bp = Blueprint("health", __name__)
HEARTBEAT_FRESH = timedelta(seconds=30)


@bp.get("/healthz")
def healthz() -> Any:
    """Deliberately public: it says whether things work, never how they are configured."""
    now = get_clock().now()
    try:
        with storage.session() as session:
            counts = workqueue.counts_by_state(session)
            events = pending_events(session)
            last_beat = session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_seen_at)))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return {"status": "error", "database": "unreachable"}, 503
    worker_ok = last_beat is not None and now - last_beat < HEARTBEAT_FRESH
    return {
        "status": "ok" if worker_ok else "degraded",
        "database": "ok",
        "worker": {"alive": worker_ok, "last_seen_at": last_beat.isoformat() if last_beat else None},
        "work_items": {"pending": counts["pending"] + counts["running"], "failed": counts["failed"]},
        "inbound_events_pending": events,
    }


@bp.get("/metrics")
def prometheus() -> Any:
    """Public unless ``DESKMATE_METRICS_TOKEN`` is set, in which case it needs that bearer token."""
    token = current_app.config["DESKMATE"].metrics_token
    if token is not None:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return json_error(401, "the metrics token is required")
    with storage.session() as session:
        body = metrics.render(workqueue.counts_by_state(session), pending_events(session))
    return Response(body, mimetype="text/plain; version=0.0.4")
