"""A plugin whose panel fails: first with an exception, then with a query that breaks the transaction."""

from __future__ import annotations

import sqlalchemy as sa

from app.hookspecs import hookimpl

mode = {"fail": "raise"}


@hookimpl
def sidebar_panels(ticket, ctx):
    if mode["fail"] == "raise":
        raise RuntimeError("the broken panel always fails")
    if mode["fail"] == "sql":
        ctx.session.execute(sa.text("SELECT * FROM no_such_table"))
    if mode["fail"] == "not_json":
        return {"value": object()}
    return None
