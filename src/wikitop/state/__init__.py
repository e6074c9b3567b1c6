"""Task state: one row per hour, the source of truth that CLI, API and workers share.

`open_state_store(url)` picks the backend from the URL scheme: `sqlite:///path` (default) or
`postgresql://...`. Every backend implements the `StateStore` Protocol and passes the same
contract tests (tests/test_state_contract.py). A MongoDB backend would be one more module here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

# What the SQL store reads the time from; tests pass a clock they move forward instead of sleeping.
Clock = Callable[[], datetime]


class TaskStatus(StrEnum):
    """Lifecycle of an hour: queued -> running -> success | failed | unavailable."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Provenance:
    """What produced a result: enough to tell whether it is stale and how costly it was."""

    blacklist_sha256: str
    top_n: int
    dump_bytes: int
    lines_read: int
    lines_skipped: int
    rows: int
    duration_s: float


@dataclass(frozen=True)
class TaskState:
    """The state of one hour's task (`hour` is YYYYMMDDHH, timestamps are aware UTC datetimes)."""

    hour: str
    status: TaskStatus
    try_count: int
    max_tries: int
    data_path: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    worker: str | None = None
    lease_expires_at: datetime | None = None
    provenance: Provenance | None = field(default=None)

    @property
    def has_result(self) -> bool:
        """True when the hour has a good result to read, whatever its status now.

        Only finish_success sets `data_path` and provenance, and nothing clears them: a recompute
        (`--force`, a stale result) keeps serving the last good result while it runs, between its
        tries and after it fails.
        """
        return records_a_result(self.data_path, self.provenance)


def records_a_result(data_path: str | None, provenance: Provenance | None) -> bool:
    """The rule of TaskState.has_result, for a representation that holds only these two fields."""
    return data_path is not None and provenance is not None


# A `tasks` row holds these columns: the TaskState's own fields, then its Provenance's, inline.
_STATE_FIELDS = tuple(f.name for f in fields(TaskState) if f.name != "provenance")
_PROVENANCE_FIELDS = tuple(f.name for f in fields(Provenance))


class StateStore(Protocol):
    """Persistent task state; every method is atomic and safe under concurrent processes."""

    def get(self, hour: str) -> TaskState | None:
        """Return the state of `hour`, or None if it was never asked for."""
        ...

    def get_many(self, hours: list[str]) -> dict[str, TaskState]:
        """Return the states of the hours that exist among `hours`."""
        ...

    def find(
        self,
        status: TaskStatus | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[TaskState]:
        """Return states ordered by hour, filtered by status and inclusive hour bounds."""
        ...

    def count(
        self, status: TaskStatus | None = None, start: str | None = None, end: str | None = None
    ) -> int:
        """Return how many states match the same filters as `find`."""
        ...

    def count_by_status(self) -> dict[TaskStatus, int]:
        """Return how many hours have each status, every status included (0 for none)."""
        ...

    def newest_result(self) -> str | None:
        """Return the newest hour that has a result (`data_path` set, whatever its status), or None."""
        ...

    def enqueue(
        self,
        hours: list[str],
        max_tries: int,
        *,
        force: bool = False,
        recheck_at: Callable[[TaskState], datetime] | None = None,
    ) -> list[str]:
        """Create missing hours and re-arm failed/unavailable ones as `queued` with try_count 0.

        Returns the hours that now need work (newly created or re-armed); hours that are queued or
        running are left untouched and not returned, even with `force`; success ones too unless
        `force`, which re-arms them keeping their last result. An unavailable hour is re-armed only
        once `recheck_at(state)` has passed, when given: asking again never shortens its backoff.
        """
        ...

    def reserve_download(self, hour: str, per_hour: int, note: str) -> float:
        """Count one upstream download of `hour` if fewer than `per_hour` started in the last hour.

        The count is the deployment's: every process sharing the store sees it. Returns 0 when the
        download was counted; otherwise the seconds until a slot frees up, after setting `note` as
        the error of the hour if it is queued (it stays queued).
        """
        ...

    def release_download(self, hour: str) -> None:
        """Uncount the newest download counted for `hour` (it did not happen after all)."""
        ...

    def claim(
        self, hour: str, worker: str, lease_s: float, max_tries: int, reclaim_success: bool = False
    ) -> TaskState | None:
        """Atomically take `hour` for `worker`: status -> running, try_count + 1, lease set.

        Creates the row (with `max_tries`) if missing. Succeeds when the hour is queued, failed or
        unavailable, or running with an expired lease (its worker died); a success row only when
        `reclaim_success` (stale result or --force), and then try_count restarts at 1: a recompute
        has its own tries. Returns None otherwise (another worker holds a live lease, or the hour
        turned success meanwhile).
        """
        ...

    def heartbeat(self, hour: str, worker: str, lease_s: float) -> bool:
        """Extend the lease of a running hour held by `worker`; False if it is no longer held."""
        ...

    def finish_success(self, hour: str, worker: str, data_path: str, provenance: Provenance) -> bool:
        """Mark the hour success with its result path and provenance; False if `worker` no longer holds it."""
        ...

    def finish_failure(self, hour: str, worker: str, status: TaskStatus, error: str) -> bool:
        """Release the hour with status queued (will retry), failed or unavailable, and the reason.

        Returns False, changing nothing, if `worker` no longer holds the hour. `failed` or
        `unavailable` on an hour that still has its last good result (a failed recompute) sets
        `success` again instead, keeping that result's data_path and provenance, with the failure's
        reason in `error`.
        """
        ...

    def release_expired(self, hour: str, now: datetime | None = None) -> TaskState | None:
        """Release `hour` if it is running with a lease expired at `now`; return it, or None if not.

        The lease condition is checked in the same statement that releases, so a worker that
        renewed its lease meanwhile keeps the hour. The status follows `status_after_failed_try`
        (and `failed` keeps a last good result as `finish_failure` does); `error` names the worker
        that stopped renewing its lease. `now` defaults to the store's clock.
        """
        ...

    def stale(self, older_than_s: float, now: datetime | None = None) -> list[TaskState]:
        """Return hours needing a nudge: queued ones untouched for `older_than_s`, running ones past lease."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def status_after_failed_try(state: TaskState) -> TaskStatus:
    """Return where a failed try leaves a claimed hour: queued while tries remain, else failed."""
    # The one home of the try-count rule: the pipeline and the store's release_expired both use it.
    return TaskStatus.FAILED if state.try_count >= state.max_tries else TaskStatus.QUEUED


def state_from_row(values: Mapping[Any, Any]) -> TaskState:
    """Turn a `tasks` row (column name -> value, timestamps as aware datetimes) into a TaskState."""
    fields = {name: values[name] for name in _STATE_FIELDS}
    fields["status"] = TaskStatus(fields["status"])
    provenance = None
    if values["blacklist_sha256"] is not None:
        provenance = Provenance(**{name: values[name] for name in _PROVENANCE_FIELDS})
    return TaskState(**fields, provenance=provenance)


def read_states(url: str, hours: list[str]) -> dict[str, TaskState]:
    """The states of the hours that exist among `hours`, in the store at `url`: a command's quick read.

    A plain SQLite file at the newest schema is read with the standard library (no SQLAlchemy to
    import); anything else through the store, which creates or upgrades the database first.
    """
    from wikitop.state.sqlite_read import read_sqlite_states

    states = read_sqlite_states(url, hours)
    if states is not None:
        return states
    store = open_state_store(url)
    try:
        return store.get_many(hours)
    finally:
        store.close()


def open_state_store(url: str, *, clock: Clock | None = None) -> StateStore:
    """Open the task-state store at `url` (sqlite:///path or postgresql://...), upgrading its schema.

    `clock` returns the current aware UTC time (default: the system clock); tests move it forward.
    """
    # Imported here so that importing wikitop.state loads neither SQLAlchemy nor Alembic.
    from wikitop.state.sql import open_sql_store

    return open_sql_store(url, clock=clock)
