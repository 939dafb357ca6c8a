"""A plugin whose admin home hook fails (a query on a table that does not exist), for test_admin_home.py."""

from __future__ import annotations

import sqlalchemy as sa

from app.api import PluginContext, hookimpl


@hookimpl
def admin_summary(ctx: PluginContext) -> None:
    ctx.session.execute(sa.text("SELECT count(*) FROM no_such_table"))
