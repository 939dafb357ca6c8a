"""The customer plugin's tables as its migration makes them are its models, on SQLite and PostgreSQL."""

from __future__ import annotations

from app.api import Base
from app.db import storage

TABLES = ("customer_actions", "customer_agents", "customer_totals")


def test_the_models_match_the_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(name, kind, *_):
        return kind != "table" or name in TABLES

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": lambda name, kind, parent: ours(name, kind),
            "include_object": lambda obj, name, kind, reflected, compare_to: ours(name, kind)})
        assert compare_metadata(context, Base.metadata) == []
