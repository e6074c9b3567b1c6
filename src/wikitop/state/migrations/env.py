"""Alembic environment: run the task-state migrations on the connection `upgrade_schema` passes in."""

from __future__ import annotations

from alembic import context

from wikitop.state.migrations import VERSION_TABLE
from wikitop.state.sql import METADATA


def run_online() -> None:
    """Run the migrations on the caller's connection, inside the caller's transaction."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run these migrations through wikitop.state.migrations.upgrade_schema")
    context.configure(connection=connection, target_metadata=METADATA, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Print the migrations' SQL for the dialect of the configured `sqlalchemy.url`."""
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
