"""Migration 0005_sessions and the models of its tables agree (admin sessions, sidebar load tokens)."""

from __future__ import annotations

from app.db import Base, storage

TABLES = ("admin_sessions", "sidebar_load_tokens")


def test_the_models_match_the_migration(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def ours(name, kind):
        return kind != "table" or name in TABLES

    with storage.engine(app).connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": lambda name, kind, parent: ours(name, kind),
            "include_object": lambda obj, name, kind, reflected, compare_to: ours(name, kind)})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_drops_both_tables_and_upgrade_restores_them(app):
    import sqlalchemy as sa
    from alembic import command

    from app.migrate import alembic_config

    config = alembic_config(app)
    try:
        command.downgrade(config, "0004_helpdesk_mirror")
        names = set(sa.inspect(storage.engine(app)).get_table_names())
        assert not set(TABLES) & names
    finally:
        command.upgrade(config, "heads")
    assert set(TABLES) <= set(sa.inspect(storage.engine(app)).get_table_names())
