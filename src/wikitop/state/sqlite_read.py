"""Read hours' states from a SQLite state database with the standard library alone.

`wikitop status` and `wikitop top` only read a few rows, and importing SQLAlchemy took longer than
the rest of the command together. This reader answers when the database is a plain SQLite file
already at the newest schema revision; in every other case (PostgreSQL, a URL with options, a
missing file, an older schema) it answers None and the caller opens the SQLAlchemy store, which
creates or upgrades the database. Rows become TaskStates through the store's own `state_from_row`,
and tests/test_state_contract.py checks that both readers return equal states.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from wikitop.state import TaskState, state_from_row
from wikitop.state.migrations import HEAD_REVISION, VERSION_TABLE

# A connection waits this long for another process's write lock; a state write holds it for
# milliseconds. (The SQLAlchemy store's connections wait as long.)
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Hour lists are cut into chunks this long: both databases cap the bound parameters of one statement.
CHUNK_HOURS = 500
_PLAIN_SCHEMES = ("sqlite:///", "sqlite+pysqlite:///")
# SQLAlchemy stores an aware timestamp on SQLite as naive UTC text (see sql.UTCDateTime).
_TIMESTAMPS = tuple(f.name for f in dataclasses.fields(TaskState) if "datetime" in str(f.type))


def read_sqlite_states(url: str, hours: list[str]) -> dict[str, TaskState] | None:
    """The states of the hours that exist among `hours`, or None when this reader cannot answer."""
    path = _plain_sqlite_path(url)
    if path is None:
        return None
    if not path.exists():
        return {}  # no database yet, so no state: a read creates nothing (not even its directory)
    if not path.is_file():
        return None
    try:
        # mode=rw: never create a database here (the SQLAlchemy store creates and upgrades it).
        uri = f"{path.resolve().as_uri()}?mode=rw"
        connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error:
        return None
    try:
        connection.row_factory = sqlite3.Row
        if _revision(connection) != HEAD_REVISION:
            return None
        return _select(connection, sorted(set(hours)))
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _plain_sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL without options or escapes; None for any other URL."""
    scheme = next((prefix for prefix in _PLAIN_SCHEMES if url.startswith(prefix)), None)
    path = url.removeprefix(scheme) if scheme else ""
    # Percent escapes and query options are SQLAlchemy's to interpret: leave those URLs to it.
    if not path or any(char in path for char in "%?#") or path == ":memory:":
        return None
    return Path(path)


def _revision(connection: sqlite3.Connection) -> str | None:
    row = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
    return None if row is None else str(row[0])


def _select(connection: sqlite3.Connection, hours: list[str]) -> dict[str, TaskState]:
    states: dict[str, TaskState] = {}
    for start in range(0, len(hours), CHUNK_HOURS):
        chunk = hours[start : start + CHUNK_HOURS]
        marks = ", ".join("?" * len(chunk))
        for row in connection.execute(f"SELECT * FROM tasks WHERE hour IN ({marks})", chunk):
            values = dict(row)
            for name in _TIMESTAMPS:
                if values[name] is not None:
                    values[name] = datetime.fromisoformat(values[name]).replace(tzinfo=UTC)
            states[values["hour"]] = state_from_row(values)
    return states
