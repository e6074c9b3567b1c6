"""The task-state store on SQL: one `tasks` table behind SQLAlchemy Core, on SQLite or PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql

from wikitop.errors import BackendMissingError, ConfigError, UsageError
from wikitop.hours import format_hour, parse_hour
from wikitop.state import (
    Clock,
    Provenance,
    TaskState,
    TaskStatus,
    state_from_row,
    status_after_failed_try,
)
from wikitop.state.migrations import upgrade_schema
from wikitop.state.sqlite_read import CHUNK_HOURS, SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

POSTGRES_INSTALL_HINT = 'pip install "wikitop[postgres]"'
EXPECTED_URL_FORM = "sqlite:///path/to/state.sqlite3 or postgresql://user:password@host/database"
# Execution option that makes a SQLite transaction start with BEGIN IMMEDIATE (see _on_sqlite_begin).
_WRITE = "wikitop_write"
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_RELEASE_STATUSES = {TaskStatus.QUEUED, TaskStatus.FAILED, TaskStatus.UNAVAILABLE}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back as an aware UTC datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Convert an aware datetime to UTC (naive UTC wall time on SQLite, which has no zones)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: task-state timestamps must be timezone-aware")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Return the stored timestamp as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The live table; the migrations in migrations/versions create exactly this (a test compares them).
METADATA = sa.MetaData()
TASKS = sa.Table(
    "tasks",
    METADATA,
    sa.Column("hour", sa.String(10), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("try_count", sa.Integer(), nullable=False),
    sa.Column("max_tries", sa.Integer(), nullable=False),
    sa.Column("data_path", sa.Text()),
    sa.Column("error", sa.Text()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("worker", sa.Text()),
    sa.Column("lease_expires_at", UTCDateTime()),
    sa.Column("blacklist_sha256", sa.String(64)),
    sa.Column("top_n", sa.Integer()),
    sa.Column("dump_bytes", sa.BigInteger()),
    sa.Column("lines_read", sa.BigInteger()),
    sa.Column("lines_skipped", sa.BigInteger()),
    sa.Column("rows", sa.BigInteger()),
    sa.Column("duration_s", sa.Double()),
    sa.Index("ix_tasks_status_hour", "status", "hour"),
)
# One row per upstream download started: the deployment-wide budget counts those of the last hour.
DOWNLOADS = sa.Table(
    "downloads",
    METADATA,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("hour", sa.String(10), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Index("ix_downloads_started_at", "started_at"),
)
BUDGET_WINDOW = timedelta(hours=1)
# Any constant bigint would do; it serialises the budget's count-then-insert on PostgreSQL.
_PG_BUDGET_LOCK_KEY = zlib.crc32(b"wikitop.state.downloads")
_SELECT_HOUR = sa.select(TASKS).where(TASKS.c.hour == sa.bindparam("hour"))


def open_sql_store(url: str, *, clock: Clock | None = None) -> SqlStateStore:
    """Open the store at a sqlite:/// or postgresql:// URL and upgrade its schema to the newest revision."""
    engine = create_state_engine(url)
    try:
        return SqlStateStore(engine, clock=clock)
    except BaseException:
        engine.dispose()
        raise


def create_state_engine(url: str) -> sa.Engine:
    """Create the engine for a state URL: SQLite in WAL mode, or PostgreSQL through psycopg 3."""
    parsed = _parse_state_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed)
    return _create_postgres_engine(parsed)


def _parse_state_url(url: str) -> sa.URL:
    """Parse and validate a state URL, naming psycopg 3 as the PostgreSQL driver."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"state URL {url!r} is not a URL: expected {EXPECTED_URL_FORM}") from None
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in _SQLITE_DRIVERS:
        raise ConfigError(f"state URL {shown!r} is not supported: expected {EXPECTED_URL_FORM}")
    if parsed.database in (None, "", ":memory:"):
        raise ConfigError(
            f"state URL {shown!r} names an in-memory SQLite database, which the API and workers "
            f"could not share: expected {EXPECTED_URL_FORM}"
        )
    return parsed


def _create_sqlite_engine(url: sa.URL) -> sa.Engine:
    """Create a SQLite engine whose connections use WAL, a busy timeout and explicit BEGINs."""
    if sqlite3.sqlite_version_info < (3, 35):
        raise BackendMissingError(
            f"the SQLite state store needs SQLite 3.35 or newer (for RETURNING), this Python has "
            f"{sqlite3.sqlite_version}: use a newer Python build, or PostgreSQL ({POSTGRES_INSTALL_HINT})"
        )
    directory = Path(str(url.database)).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"WIKITOP_STATE_URL: cannot create the directory {directory} of its SQLite file: "
            f"{exc.strerror} ({exc.filename}); expected {EXPECTED_URL_FORM}"
        ) from None
    engine = sa.create_engine(
        url, pool_pre_ping=False, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    sa.event.listen(engine, "connect", _on_sqlite_connect)
    sa.event.listen(engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set the PRAGMAs of a new SQLite connection and take transaction control from sqlite3."""
    # With isolation_level None the sqlite3 module emits no BEGIN of its own; _on_sqlite_begin does.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL lets the API read while a worker writes; NORMAL sync may lose the last commits on
        # power loss (never on a crash), which only means an hour is computed again.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _on_sqlite_begin(connection: sa.Connection) -> None:
    """Start a write transaction with BEGIN IMMEDIATE; let reads run without one."""
    # A deferred transaction that must upgrade to a write lock fails at once with "database is
    # locked" when another writer got in first, whatever the busy timeout; BEGIN IMMEDIATE takes the
    # write lock up front and waits for it. A read needs no BEGIN: each statement is its own snapshot.
    if connection.get_execution_options().get(_WRITE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_postgres_engine(url: sa.URL) -> sa.Engine:
    """Create a PostgreSQL engine on psycopg 3, or say how to install it."""
    # libpq waits for an unreachable host for minutes by default; a health check must not.
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as exc:
        raise BackendMissingError(
            f"the PostgreSQL state store needs psycopg 3 ({exc}): {POSTGRES_INSTALL_HINT}"
        ) from None


class SqlStateStore:
    """The StateStore on one SQL database; every write is a single short transaction."""

    def __init__(self, engine: sa.Engine, *, clock: Clock | None = None) -> None:
        """Wrap `engine` and upgrade its schema; `clock` gives every timestamp (default: UTC now)."""
        self._engine = engine
        self._clock = clock or _utcnow
        self._postgres = engine.dialect.name == "postgresql"
        self._writer = engine.execution_options(**{_WRITE: True})
        # Reads on PostgreSQL skip BEGIN and ROLLBACK, two round trips fewer on the API's hot path;
        # SQLite reads already run without BEGIN (see _on_sqlite_begin).
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT") if self._postgres else engine
        upgrade_schema(self._writer)

    def get(self, hour: str) -> TaskState | None:
        """Return the state of `hour`, or None if it was never asked for."""
        with self._reader.connect() as connection:
            row = connection.execute(_SELECT_HOUR, {"hour": hour}).first()
        return None if row is None else _to_state(row)

    def get_many(self, hours: list[str]) -> dict[str, TaskState]:
        """Return the states of the hours that exist among `hours`."""
        states: dict[str, TaskState] = {}
        if not hours:
            return states
        with self._reader.connect() as connection:
            for chunk in _chunks(sorted(set(hours))):
                rows = connection.execute(sa.select(TASKS).where(TASKS.c.hour.in_(chunk)))
                states.update((row.hour, _to_state(row)) for row in rows)
        return states

    def find(
        self,
        status: TaskStatus | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskState]:
        """Return states ordered by hour, filtered by status and inclusive hour bounds."""
        query = (
            sa.select(TASKS)
            .where(*_filters(status, start, end))
            .order_by(TASKS.c.hour)
            .limit(limit)
            .offset(offset)
        )
        with self._reader.connect() as connection:
            return [_to_state(row) for row in connection.execute(query)]

    def count(
        self, status: TaskStatus | None = None, start: str | None = None, end: str | None = None
    ) -> int:
        """Return how many states match the same filters as `find`."""
        query = sa.select(sa.func.count()).select_from(TASKS).where(*_filters(status, start, end))
        with self._reader.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def count_by_status(self) -> dict[TaskStatus, int]:
        """Return how many hours have each status, every status included (0 for none)."""
        query = sa.select(TASKS.c.status, sa.func.count()).group_by(TASKS.c.status)
        with self._reader.connect() as connection:
            counted = {status: int(n) for status, n in connection.execute(query)}
        return {status: counted.get(status.value, 0) for status in TaskStatus}

    def newest_result(self) -> str | None:
        """Return the newest hour that has a result (`data_path` set, whatever its status), or None."""
        # A recompute in progress (queued, running) keeps its last good result, which still counts;
        # both databases walk the primary key backwards and stop at the first row with a result.
        query = (
            sa.select(TASKS.c.hour)
            .where(TASKS.c.data_path.is_not(None))
            .order_by(TASKS.c.hour.desc())
            .limit(1)
        )
        with self._reader.connect() as connection:
            hour = connection.execute(query).scalar_one_or_none()
        return None if hour is None else str(hour)

    def enqueue(
        self,
        hours: list[str],
        max_tries: int,
        *,
        force: bool = False,
        recheck_at: Callable[[TaskState], datetime] | None = None,
    ) -> list[str]:
        """Create missing hours and re-arm failed/unavailable ones (success too if `force`); return those."""
        wanted = list(dict.fromkeys(_checked_hour(hour) for hour in hours))
        if not wanted:
            return []
        now = self._now()
        needing_work: set[str] = set()
        with self._writer.begin() as connection:
            # Sorted, so that concurrent enqueues lock rows in the same order on PostgreSQL.
            for chunk in _chunks(sorted(wanted)):
                rearmed = self._rearmable(connection, chunk, force, recheck_at, now)
                if rearmed:
                    needing_work.update(connection.scalars(_rearm(rearmed, max_tries, now)))
                needing_work.update(connection.scalars(self._insert_missing(chunk, max_tries, now)))
        return [hour for hour in wanted if hour in needing_work]

    def _rearmable(
        self,
        connection: sa.Connection,
        hours: Sequence[str],
        force: bool,
        recheck_at: Callable[[TaskState], datetime] | None,
        now: datetime,
    ) -> list[str]:
        """Return the hours of `hours` to put back in the queue, their rows locked until the commit."""
        # Queued and running hours are never re-armed, forced or not: their work is already on the
        # way, and publishing it again would only download the same dump twice.
        statuses = [TaskStatus.FAILED, TaskStatus.UNAVAILABLE] + ([TaskStatus.SUCCESS] if force else [])
        query = (
            sa.select(TASKS)
            .where(TASKS.c.hour.in_(hours), TASKS.c.status.in_([status.value for status in statuses]))
            .with_for_update()
        )
        return [
            state.hour
            for state in (_to_state(row) for row in connection.execute(query))
            # Asking again never shortens the backoff of a dump not published yet: the reconciler
            # checks it when it is due.
            if state.status is not TaskStatus.UNAVAILABLE or recheck_at is None or recheck_at(state) <= now
        ]

    def reserve_download(self, hour: str, per_hour: int, note: str) -> float:
        """Count one upstream download of `hour` if fewer than `per_hour` started in the last hour.

        Returns 0 when counted; otherwise the seconds until the oldest counted download leaves the
        hour, having set `note` as the error of the hour if it is queued.
        """
        now = self._now()
        with self._writer.begin() as connection:
            if self._postgres:
                # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs the lock so
                # that two workers never both see the last free slot.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_BUDGET_LOCK_KEY}
                )
            connection.execute(sa.delete(DOWNLOADS).where(DOWNLOADS.c.started_at <= now - BUDGET_WINDOW))
            count, oldest = connection.execute(
                sa.select(sa.func.count(), sa.func.min(DOWNLOADS.c.started_at))
            ).one()
            if count < per_hour:
                connection.execute(sa.insert(DOWNLOADS).values(hour=hour, started_at=now))
                return 0.0
            waiting = sa.update(TASKS).where(TASKS.c.hour == hour, TASKS.c.status == TaskStatus.QUEUED.value)
            connection.execute(waiting.values(error=note, updated_at=now))
        oldest = UTCDateTime().process_result_value(oldest, self._engine.dialect) or now
        return max((oldest + BUDGET_WINDOW - now).total_seconds(), 0.001)

    def release_download(self, hour: str) -> None:
        """Uncount the newest download counted for `hour` (it did not happen after all)."""
        with self._writer.begin() as connection:
            newest = sa.select(sa.func.max(DOWNLOADS.c.id)).where(DOWNLOADS.c.hour == hour).scalar_subquery()
            connection.execute(sa.delete(DOWNLOADS).where(DOWNLOADS.c.id == newest))

    def claim(
        self, hour: str, worker: str, lease_s: float, max_tries: int, reclaim_success: bool = False
    ) -> TaskState | None:
        """Atomically take `hour` for `worker` unless it is held, or success without `reclaim_success`."""
        now = self._now()
        with self._writer.begin() as connection:
            connection.execute(self._insert_missing([_checked_hour(hour)], max_tries, now))
            claim = _claim(hour, worker, lease_s, max_tries, now, reclaim_success)
            row = connection.execute(claim).first()
        return None if row is None else _to_state(row)

    def heartbeat(self, hour: str, worker: str, lease_s: float) -> bool:
        """Extend the lease of a running hour held by `worker`; False if it is no longer held."""
        now = self._now()
        values = {"lease_expires_at": now + timedelta(seconds=lease_s), "updated_at": now}
        return self._update_held(hour, worker, values)

    def finish_success(self, hour: str, worker: str, data_path: str, provenance: Provenance) -> bool:
        """Mark the hour success with its result path and provenance; False if `worker` no longer holds it."""
        values: dict[str, Any] = {"status": TaskStatus.SUCCESS.value, "data_path": data_path, "error": None}
        values.update(dataclasses.asdict(provenance))
        applied = self._update_held(hour, worker, self._released(values))
        if not applied:
            log.warning("hour %s is no longer held by %s: its success was not recorded", hour, worker)
        return applied

    def finish_failure(self, hour: str, worker: str, status: TaskStatus, error: str) -> bool:
        """Release the hour as queued, failed or unavailable (success again if it keeps a good result)."""
        if status not in _RELEASE_STATUSES:
            raise ValueError(
                f"finish_failure status must be queued, failed or unavailable, not {status.value}"
            )
        values = self._released({"status": _release_status(status), "error": error})
        applied = self._update_held(hour, worker, values)
        if not applied:
            log.warning(
                "hour %s is no longer held by %s: its %s was not recorded", hour, worker, status.value
            )
        return applied

    def release_expired(self, hour: str, now: datetime | None = None) -> TaskState | None:
        """Release `hour` if it is running with a lease expired at `now`; return it, or None if not."""
        now = _aware("release_expired", now or self._now())
        with self._writer.begin() as connection:
            # FOR UPDATE (a no-op on SQLite, whose BEGIN IMMEDIATE already holds the write lock)
            # keeps the row as read until the UPDATE, whose WHERE repeats the lease condition.
            expired = sa.select(TASKS).where(TASKS.c.hour == hour, _abandoned(now)).with_for_update()
            row = connection.execute(expired).first()
            if row is None:
                return None
            held = _to_state(row)
            status = status_after_failed_try(held)
            values = self._released({"status": _release_status(status), "error": _lapsed_reason(held)})
            release = sa.update(TASKS).where(TASKS.c.hour == hour, _abandoned(now)).values(values)
            released = connection.execute(release.returning(*TASKS.c)).first()
        return None if released is None else _to_state(released)

    def stale(self, older_than_s: float, now: datetime | None = None) -> list[TaskState]:
        """Return queued hours untouched for `older_than_s` and running hours past their lease."""
        now = _aware("stale", now or self._now())
        untouched = sa.and_(
            TASKS.c.status == TaskStatus.QUEUED.value,
            TASKS.c.updated_at < now - timedelta(seconds=older_than_s),
        )
        query = sa.select(TASKS).where(sa.or_(untouched, _abandoned(now))).order_by(TASKS.c.hour)
        with self._reader.connect() as connection:
            return [_to_state(row) for row in connection.execute(query)]

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        with self._reader.connect() as connection:
            connection.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Release connections."""
        self._engine.dispose()

    def _insert_missing(self, hours: Sequence[str], max_tries: int, now: datetime) -> sa.Insert:
        """Build an INSERT of new queued rows for `hours` that skips existing ones and returns the new."""
        insert: postgresql.Insert | sqlite.Insert
        if self._postgres:
            from sqlalchemy.dialects import postgresql  # 30 ms of start-up: imported where it is used

            insert = postgresql.insert(TASKS)
        else:
            insert = sqlite.insert(TASKS)
        rows = [
            {
                "hour": hour,
                "status": TaskStatus.QUEUED.value,
                "try_count": 0,
                "max_tries": max_tries,
                "created_at": now,
                "updated_at": now,
            }
            for hour in hours
        ]
        return insert.values(rows).on_conflict_do_nothing(index_elements=["hour"]).returning(TASKS.c.hour)

    def _now(self) -> datetime:
        """Return the store clock's time, which must be timezone-aware."""
        return _aware("clock", self._clock())

    def _released(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add the columns that every release of a running hour sets to `values`."""
        now = self._now()
        return {**values, "finished_at": now, "updated_at": now, "lease_expires_at": None}

    def _update_held(self, hour: str, worker: str, values: dict[str, Any]) -> bool:
        """Update the hour only while `worker` holds it; return whether it did."""
        held = sa.and_(
            TASKS.c.hour == hour,
            TASKS.c.status == TaskStatus.RUNNING.value,
            TASKS.c.worker == worker,
        )
        with self._writer.begin() as connection:
            result = connection.execute(sa.update(TASKS).where(held).values(values))
        return result.rowcount == 1


def _claim(
    hour: str, worker: str, lease_s: float, max_tries: int, now: datetime, reclaim_success: bool
) -> sa.Update:
    """Build the conditional UPDATE that takes `hour` for `worker` and returns the row it took."""
    # This one statement is the whole claim: of two racing workers, the second one's WHERE is
    # evaluated after the first commits (row lock on PostgreSQL, write lock on SQLite) and then
    # matches nothing.
    free = [TaskStatus.QUEUED, TaskStatus.FAILED, TaskStatus.UNAVAILABLE]
    if reclaim_success:
        free.append(TaskStatus.SUCCESS)
    # A recompute of a success starts its own count with today's max_tries: the tries of earlier
    # computations must not leave it a single try (or none).
    recompute = TASKS.c.status == TaskStatus.SUCCESS.value
    return (
        sa.update(TASKS)
        .where(TASKS.c.hour == hour, sa.or_(TASKS.c.status.in_([s.value for s in free]), _abandoned(now)))
        .values(
            status=TaskStatus.RUNNING.value,
            try_count=sa.case((recompute, 1), else_=TASKS.c.try_count + 1),
            max_tries=sa.case((recompute, max_tries), else_=TASKS.c.max_tries),
            worker=worker,
            started_at=now,
            updated_at=now,
            lease_expires_at=now + timedelta(seconds=lease_s),
        )
        .returning(*TASKS.c)
    )


def _abandoned(now: datetime) -> sa.ColumnElement[bool]:
    """Match running rows whose worker let the lease lapse (it died, or hangs)."""
    return sa.and_(
        TASKS.c.status == TaskStatus.RUNNING.value,
        sa.or_(TASKS.c.lease_expires_at.is_(None), TASKS.c.lease_expires_at < now),
    )


def _rearm(hours: Sequence[str], max_tries: int, now: datetime) -> sa.Update:
    """Build an UPDATE that puts `hours` back in the queue with fresh tries and returns them.

    A success row (a forced recompute) keeps its data_path and provenance: a failed recompute then
    falls back to that result (see _release_status).
    """
    return (
        sa.update(TASKS)
        .where(TASKS.c.hour.in_(hours))
        .values(
            status=TaskStatus.QUEUED.value,
            try_count=0,
            max_tries=max_tries,
            error=None,
            worker=None,
            lease_expires_at=None,
            updated_at=now,
        )
        .returning(TASKS.c.hour)
    )


def _release_status(status: TaskStatus) -> str | sa.ColumnElement[str]:
    """Return the status column's new value for a release as `status`.

    `failed` and `unavailable` become `success` again on a row that keeps its last good result: a
    failed recompute, or one whose dump is gone from the mirror, never hides it (finish_success
    alone sets data_path, and its file is only ever replaced by another good result). The
    failure's reason stays in `error`.
    """
    if status not in (TaskStatus.FAILED, TaskStatus.UNAVAILABLE):
        return status.value
    has_result = sa.and_(TASKS.c.data_path.is_not(None), TASKS.c.blacklist_sha256.is_not(None))
    return sa.case((has_result, TaskStatus.SUCCESS.value), else_=status.value)


def _lapsed_reason(state: TaskState) -> str:
    """Return the error recorded when `state`'s worker let its lease lapse."""
    expired = f"{state.lease_expires_at:%Y-%m-%dT%H:%M:%S}Z" if state.lease_expires_at else "?"
    return (
        f"try {state.try_count}/{state.max_tries}: worker {state.worker} stopped renewing its lease "
        f"(expired {expired})"
    )


def _aware(what: str, moment: datetime) -> datetime:
    """Return `moment` if it is timezone-aware, else raise ValueError naming `what` gave it."""
    if moment.tzinfo is None:
        raise ValueError(f"{what} gave naive datetime {moment!r}: task-state times must be timezone-aware")
    return moment


def _filters(status: TaskStatus | None, start: str | None, end: str | None) -> list[sa.ColumnElement[bool]]:
    """Return the WHERE clauses of `find` and `count`."""
    # Hours are fixed-width YYYYMMDDHH strings, so text order is time order.
    clauses: list[sa.ColumnElement[bool]] = []
    if status is not None:
        clauses.append(TASKS.c.status == TaskStatus(status).value)
    if start is not None:
        clauses.append(TASKS.c.hour >= start)
    if end is not None:
        clauses.append(TASKS.c.hour <= end)
    return clauses


def _to_state(row: sa.Row[Any]) -> TaskState:
    """Turn a `tasks` row into a TaskState."""
    return state_from_row(row._mapping)


def _checked_hour(hour: str) -> str:
    """Return `hour` if it is a valid YYYYMMDDHH, else raise UsageError."""
    # parse_hour also accepts ISO forms; the store's key is the compact form only.
    if format_hour(parse_hour(hour)) != hour:
        raise UsageError(f"invalid hour {hour!r}: the task state expects YYYYMMDDHH (e.g. 2020010115)")
    return hour


def _chunks(hours: Sequence[str]) -> Iterator[Sequence[str]]:
    """Yield `hours` in slices of at most CHUNK_HOURS."""
    for start in range(0, len(hours), CHUNK_HOURS):
        yield hours[start : start + CHUNK_HOURS]


def _utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
