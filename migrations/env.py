"""Alembic environment: the engine comes from the Deskmate app (``app.migrate.alembic_config``)."""

from typing import Any

import sqlalchemy as sa
from alembic import context

import app.models  # noqa: F401  (the core's tables)
from app.crypto import EncryptedString
from app.db import Base, UTCDateTime

config = context.config
engine = config.attributes["engine"]


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Write Deskmate's column types as plain SQLAlchemy types, so migrations never import app code."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if isinstance(obj, EncryptedString):
        return "sa.Text()"
    if isinstance(obj, sa.JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        # app.migrate.upgrade counts what it applied, to say it in one line.
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
