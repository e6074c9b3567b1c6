"""Alembic migrations of the task-state schema, applied programmatically whenever a store opens.

To write the next revision (no alembic.ini needed)::

    from alembic import command
    from wikitop.state.migrations import alembic_config
    command.revision(alembic_config(), message="add tasks.priority")

To print the DDL for a DBA instead of running it::

    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://")
    command.upgrade(config, "head", sql=True)
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from wikitop.errors import WikitopError

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config

# Not Alembic's default `alembic_version`: the state may share a PostgreSQL database with another
# Alembic user (Airflow's metadata database, for one), whose version row we must never touch.
VERSION_TABLE = "wikitop_state_version"
# Any constant bigint would do; deriving it from a name keeps it recognisable in pg_locks.
_PG_LOCK_KEY = zlib.crc32(b"wikitop.state.migrations")
# The newest revision in versions/ (a test checks it): a store already there opens without
# importing Alembic, which keeps a CLI run's start-up short.
HEAD_REVISION = "0002"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Return an Alembic config for these migrations, bound to `connection` when given."""
    from alembic.config import Config

    config = Config()
    # Config values go through ConfigParser interpolation, where a bare % in a path is an error.
    config.set_main_option("script_location", str(Path(__file__).parent).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision inside one transaction, one process at a time."""
    if _current_revision(engine) == HEAD_REVISION:
        return
    import sqlalchemy as sa
    from alembic import command
    from alembic.util import CommandError

    # Two processes opening a fresh database would both try to CREATE TABLE. On PostgreSQL the
    # advisory lock makes the second wait and then find the schema at head; on SQLite the store's
    # write engine begins with BEGIN IMMEDIATE, which serialises the same way.
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            command.upgrade(alembic_config(connection), "head")
        except CommandError as exc:
            # Typically "Can't locate revision": a newer wikitop has already upgraded this database.
            raise WikitopError(
                f"the task-state schema cannot be brought up to date ({exc}); if a newer wikitop "
                f"already uses this database, upgrade this installation too"
            ) from None


def _current_revision(engine: sa.Engine) -> str | None:
    """Return the revision recorded in the version table, or None when there is none yet."""
    # Imported here: wikitop.state.sqlite_read reads VERSION_TABLE and HEAD_REVISION without SQLAlchemy.
    import sqlalchemy as sa

    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    except sa.exc.DBAPIError:
        return None
