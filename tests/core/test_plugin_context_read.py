"""ctx.read: a work handler's read that does not go through (or open) the handler's own transaction."""

from __future__ import annotations

import sqlalchemy as sa

from app import workqueue
from app.accounts import active_accounts
from app.db import storage
from app.models import WorkItem
from app.plugins import plugin_manager


def test_read_returns_loaded_rows_from_a_transaction_of_its_own(app, clock, account_id):
    with storage.session(app) as session:
        workqueue.enqueue(session, account_id=account_id, kind="x.y", key="k1", payload={"n": 1},
                          now=clock.now())
    with storage.session(app) as session:
        ctx = plugin_manager.context(app, "core", active_accounts(app)[0], session)
        [item] = ctx.read(sa.select(WorkItem).where(WorkItem.account_id == account_id))
        assert sa.inspect(item).detached  # its own session is closed already...
        assert (item.idempotency_key, item.payload) == ("k1", {"n": 1})  # ...and the row is still readable
        assert len(session.identity_map) == 0  # the handler's session was never used
        assert ctx.read(sa.select(WorkItem).where(WorkItem.idempotency_key == "other")) == []
