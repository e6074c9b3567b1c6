"""What a state-store outage looks like: the errors that mean "the database is down, retry later"."""

from __future__ import annotations

import sqlalchemy.exc

# A server down or restarting, a dropped connection, a SQLite file locked past its busy timeout:
# conditions that pass. Every user of the store treats them as "retry later", never as a failed
# try or a lost hour. Errors in a statement itself (IntegrityError, ProgrammingError) are bugs.
STATE_OUTAGES: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


def describe_outage(exc: BaseException) -> str:
    """The first line of the driver's reason, for a one-line log message."""
    reason = getattr(exc, "orig", None) or exc
    lines = str(reason).strip().splitlines()
    return lines[0] if lines else type(reason).__name__
