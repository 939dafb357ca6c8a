"""A plugin with admin home cards, for tests/core/test_admin_home.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.api import PluginContext, hookimpl, ngettext
from app.models import WorkItem


@hookimpl
def admin_summary(ctx: PluginContext) -> list[dict[str, Any]]:
    pending = ctx.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)
                                 .where(WorkItem.account_id == ctx.account.id, WorkItem.state == "pending"))
    return [{"title": "Tickets waiting", "value": pending,
             "detail": ngettext("%(num)d ticket past its target", "%(num)d tickets past their target", 2),
             "href": "/admin/sla", "tone": "warn"}]
