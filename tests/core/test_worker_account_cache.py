"""The worker never refreshes the account cache inside an event's transaction (SQLite waits on itself)."""

from __future__ import annotations

import time

from app.accounts import _cache
from app.db import storage
from app.models import InboundEvent
from tests.conftest import ticket_event


def test_event_is_handled_promptly_when_the_account_cache_has_gone_stale(app, post_webhook, worker):
    assert post_webhook(ticket_event(31)).status_code == 202
    _cache(app).loaded_at = 0.0  # as after more than five quiet seconds in a long-running worker
    started = time.monotonic()
    assert worker.handle_events() == 1
    # Refreshed inside the event's transaction, SQLite waited out its 30-second busy timeout here.
    assert time.monotonic() - started < 5
    with storage.session(app) as session:
        assert session.get(InboundEvent, 1).state == "done"
