"""The StateStore contract, run against every backend: SQLite in a temp dir and a real PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import random
import sqlite3
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from support.requirements import server_unavailable
from wikitop.errors import BackendMissingError, ConfigError, UsageError, WikitopError
from wikitop.state import (
    Provenance,
    StateStore,
    TaskState,
    TaskStatus,
    open_state_store,
    status_after_failed_try,
)
from wikitop.state.migrations import HEAD_REVISION, VERSION_TABLE
from wikitop.state.sql import METADATA

POSTGRES_URL = os.environ.get("WIKITOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
H0, H1, H2, H3 = "2020010100", "2020010101", "2020010102", "2020010103"
PROVENANCE = Provenance(
    blacklist_sha256="ab" * 32,
    top_n=25,
    dump_bytes=123_456_789_012,
    lines_read=9_000_000,
    lines_skipped=12,
    rows=25_000,
    duration_s=3.25,
)
LONG_LEASE_S = 600.0


def _hours(count: int, first: datetime = datetime(2020, 1, 1, tzinfo=UTC)) -> list[str]:
    """Return `count` consecutive hours as YYYYMMDDHH, starting at `first`."""
    return [(first + timedelta(hours=index)).strftime("%Y%m%d%H") for index in range(count)]


def _admin_engine(url: str) -> sa.Engine:
    """Return an autocommit engine for CREATE/DROP DATABASE and SCHEMA."""
    driver_url = sa.make_url(url).set(drivername="postgresql+psycopg")
    return sa.create_engine(driver_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """Create a fresh PostgreSQL database for this test session and drop it at the end."""
    shown = sa.make_url(POSTGRES_URL).render_as_string(hide_password=True)
    try:
        admin = _admin_engine(POSTGRES_URL)
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except (ImportError, sa.exc.OperationalError) as exc:
        server_unavailable("PostgreSQL", shown, f"{exc} (set WIKITOP_TEST_POSTGRES_URL)")
    name = f"wikitop_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty, not yet opened store: a fresh file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        # A nested, missing directory: opening the store must create it.
        yield f"sqlite:///{tmp_path / 'data' / 'state' / 'state.sqlite3'}"
        return
    database_url: str = request.getfixturevalue("postgres_database")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine(database_url)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        # Every connection of the store then creates and finds its tables in this schema only.
        yield (
            sa.make_url(database_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class ManualClock:
    """A clock that stands still until a test moves it forward: leases expire without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move the clock `seconds` forward and return the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(state_url: str, clock: ManualClock) -> Iterator[StateStore]:
    """Yield a freshly opened, empty store that reads the time from `clock`."""
    opened = open_state_store(state_url, clock=clock)
    yield opened
    opened.close()


def _assert_aware_utc(moment: datetime | None) -> None:
    """Assert that `moment` is an aware UTC datetime close to now."""
    assert moment is not None
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


# --- reading ---------------------------------------------------------------------------------------


def test_get_unknown_hour_is_none(store: StateStore) -> None:
    assert store.get(H0) is None
    assert store.get_many([H0, H1]) == {}
    assert store.find() == []
    assert store.count() == 0


def test_get_many_returns_only_existing_hours(store: StateStore) -> None:
    hours = _hours(1_200)  # more than one chunk of bound parameters
    store.enqueue(hours[::2], max_tries=3)
    found = store.get_many([*hours, "2030010100"])
    assert sorted(found) == hours[::2]
    assert all(state.hour == hour for hour, state in found.items())


def test_find_orders_filters_and_pages(store: StateStore) -> None:
    hours = _hours(10)
    store.enqueue(hours, max_tries=3)
    store.claim(hours[3], "w1", LONG_LEASE_S, 3)
    store.claim(hours[7], "w1", LONG_LEASE_S, 3)
    assert [s.hour for s in store.find()] == hours
    assert [s.hour for s in store.find(limit=3, offset=4)] == hours[4:7]
    assert [s.hour for s in store.find(status=TaskStatus.RUNNING)] == [hours[3], hours[7]]
    assert [s.hour for s in store.find(start=hours[2], end=hours[5])] == hours[2:6]
    assert [s.hour for s in store.find(TaskStatus.QUEUED, hours[2], hours[5], limit=2, offset=1)] == [
        hours[4],
        hours[5],
    ]
    assert store.find(offset=10) == []


def test_count_matches_find_filters(store: StateStore) -> None:
    hours = _hours(10)
    store.enqueue(hours, max_tries=3)
    store.claim(hours[3], "w1", LONG_LEASE_S, 3)
    assert store.count() == 10
    assert store.count(status=TaskStatus.RUNNING) == 1
    assert store.count(status=TaskStatus.QUEUED, start=hours[2], end=hours[5]) == 3
    assert store.count(status=TaskStatus.SUCCESS) == 0
    assert store.count(start=hours[9]) == 1
    assert store.count(end=hours[0]) == 1


# --- enqueue ---------------------------------------------------------------------------------------


def test_count_by_status_counts_every_status(store: StateStore) -> None:
    assert store.count_by_status() == dict.fromkeys(TaskStatus, 0)
    h1, h2, h3, h4 = _hours(4)
    store.enqueue([h1, h2, h3, h4], 3)
    store.claim(h2, "w1", 60, 3)
    store.claim(h3, "w1", 60, 3)
    store.finish_failure(h3, "w1", TaskStatus.UNAVAILABLE, "not published")
    store.claim(h4, "w1", 60, 3)
    store.finish_success(h4, "w1", "/r/4.csv", PROVENANCE)
    counted = store.count_by_status()
    assert counted == {status: store.count(status) for status in TaskStatus}
    assert counted == {
        TaskStatus.QUEUED: 1,
        TaskStatus.RUNNING: 1,
        TaskStatus.SUCCESS: 1,
        TaskStatus.FAILED: 0,
        TaskStatus.UNAVAILABLE: 1,
    }


def test_newest_result_is_the_newest_hour_with_a_result_file(store: StateStore) -> None:
    assert store.newest_result() is None
    h1, h2, h3 = _hours(3)
    store.enqueue([h1, h2, h3], 3)
    assert store.newest_result() is None  # queued hours have no result yet
    for hour in (h1, h2):
        store.claim(hour, "w1", 60, 3)
        store.finish_success(hour, "w1", f"/r/{hour}.csv", PROVENANCE)
    store.claim(h3, "w1", 60, 1)
    store.finish_failure(h3, "w1", TaskStatus.FAILED, "corrupt")
    assert store.newest_result() == h2
    # A recompute on its way keeps the last good result: the hour still has one.
    assert store.enqueue([h2], 3, force=True) == [h2]
    assert store.newest_result() == h2


def test_enqueue_creates_queued_hours(store: StateStore) -> None:
    assert store.enqueue([H1, H0, H1], max_tries=4) == [H1, H0]
    state = store.get(H0)
    assert state is not None
    assert (state.status, state.try_count, state.max_tries) == (TaskStatus.QUEUED, 0, 4)
    assert state.worker is None and state.error is None and state.provenance is None
    assert state.created_at == state.updated_at
    _assert_aware_utc(state.created_at)


def test_enqueue_leaves_queued_running_and_success_untouched(store: StateStore) -> None:
    store.enqueue([H0, H1, H2], max_tries=3)
    store.claim(H1, "w1", LONG_LEASE_S, 3)
    store.claim(H2, "w2", LONG_LEASE_S, 3)
    store.finish_success(H2, "w2", "reports/h2.csv", PROVENANCE)
    before = store.get_many([H0, H1, H2])
    assert store.enqueue([H0, H1, H2], max_tries=9) == []
    assert store.get_many([H0, H1, H2]) == before


def test_enqueue_rearms_failed_and_unavailable(store: StateStore) -> None:
    for hour, status in ((H0, TaskStatus.FAILED), (H1, TaskStatus.UNAVAILABLE)):
        store.claim(hour, "w1", LONG_LEASE_S, 3)
        store.finish_failure(hour, "w1", status, "HTTP 404")
    assert store.enqueue([H0, H1, H2], max_tries=5) == [H0, H1, H2]
    for hour in (H0, H1):
        state = store.get(hour)
        assert state is not None
        assert (state.status, state.try_count, state.max_tries, state.error) == (
            TaskStatus.QUEUED,
            0,
            5,
            None,
        )
        assert state.lease_expires_at is None


def test_enqueue_many_hours_in_one_call(store: StateStore) -> None:
    hours = _hours(1_234)
    assert store.enqueue(hours, max_tries=3) == hours
    assert store.count(status=TaskStatus.QUEUED) == 1_234
    assert store.enqueue(hours, max_tries=3) == []


@pytest.mark.parametrize("bad_hour", ["2020-01-01T00", "2020013100x", "2020023000", "202001010", ""])
def test_enqueue_rejects_malformed_hours_without_writing(store: StateStore, bad_hour: str) -> None:
    with pytest.raises(UsageError, match="YYYYMMDDHH"):
        store.enqueue([H0, bad_hour], max_tries=3)
    assert store.count() == 0


def test_force_rearms_done_hours_but_never_queued_or_running_ones(store: StateStore) -> None:
    store.enqueue([H0, H1, H2], max_tries=3)
    store.claim(H1, "w1", LONG_LEASE_S, 3)
    store.claim(H2, "w2", LONG_LEASE_S, 3)
    store.finish_success(H2, "w2", "reports/h2.csv", PROVENANCE)
    running = store.get(H1)
    assert store.enqueue([H0, H1, H2], max_tries=5, force=True) == [H2]
    forced = store.get(H2)
    assert forced is not None
    # Queued again with fresh tries, and still holding its last result should the recompute fail.
    assert (forced.status, forced.try_count, forced.max_tries) == (TaskStatus.QUEUED, 0, 5)
    assert (forced.data_path, forced.provenance) == ("reports/h2.csv", PROVENANCE)
    assert store.get(H1) == running
    # Forcing again while the recompute waits publishes nothing more.
    assert store.enqueue([H0, H1, H2], max_tries=5, force=True) == []
    claimed = store.claim(H2, "w3", LONG_LEASE_S, 5, reclaim_success=True)
    assert claimed is not None
    store.finish_failure(H2, "w3", TaskStatus.FAILED, "HTTP 503")
    kept = store.get(H2)
    assert kept is not None and (kept.status, kept.data_path) == (TaskStatus.SUCCESS, "reports/h2.csv")


def test_asking_again_never_shortens_the_recheck_of_an_unpublished_hour(
    store: StateStore, clock: ManualClock
) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    store.finish_failure(H0, "w1", TaskStatus.UNAVAILABLE, "HTTP 404")
    store.claim(H1, "w1", LONG_LEASE_S, 3)
    store.finish_failure(H1, "w1", TaskStatus.FAILED, "HTTP 503")
    unavailable = store.get(H0)
    assert unavailable is not None and unavailable.updated_at is not None
    due = unavailable.updated_at + timedelta(seconds=300)
    recheck_at = lambda state: due  # noqa: E731
    clock.advance(299)
    # Failed hours are retried at once; the unpublished one waits for its check.
    assert store.enqueue([H0, H1], max_tries=3, recheck_at=recheck_at) == [H1]
    assert store.get(H0) == unavailable
    assert store.enqueue([H0], max_tries=3, recheck_at=recheck_at, force=True) == []
    clock.advance(1)
    assert store.enqueue([H0], max_tries=3, recheck_at=recheck_at) == [H0]
    rearmed = store.get(H0)
    assert rearmed is not None and rearmed.status is TaskStatus.QUEUED


# --- the download budget ---------------------------------------------------------------------------


def test_download_budget_counts_the_last_hour_of_the_deployment(
    state_url: str, store: StateStore, clock: ManualClock
) -> None:
    note = "waiting for the download budget (3 per hour)"
    store.enqueue([H0, H1, H2, H3], max_tries=3)
    assert [store.reserve_download(hour, 3, note) for hour in (H0, H1)] == [0.0, 0.0]
    clock.advance(600)
    assert store.reserve_download(H2, 3, note) == 0.0
    # Another process of the deployment (another connection to the same store) sees the same count.
    other = open_state_store(state_url, clock=clock)
    try:
        wait_s = other.reserve_download(H3, 3, note)
    finally:
        other.close()
    assert wait_s == pytest.approx(3000, abs=0.01)  # the first two leave the hour 3,000 s from now
    waiting = store.get(H3)
    assert waiting is not None and (waiting.status, waiting.error) == (TaskStatus.QUEUED, note)
    # A download counted for an hour another worker holds did not happen: it is uncounted.
    store.release_download(H2)
    assert store.reserve_download(H3, 3, note) == 0.0
    assert store.reserve_download(H3, 3, note) > 0
    clock.advance(3000)
    assert store.reserve_download(H3, 3, note) == 0.0


def test_download_budget_holds_under_concurrent_processes(state_url: str, store: StateStore) -> None:
    granted = Counter[str]()
    lock = threading.Lock()

    def take(index: int) -> None:
        opened = open_state_store(state_url)
        try:
            for _ in range(5):
                if opened.reserve_download(H0, 7, "waiting") == 0.0:
                    with lock:
                        granted[f"t{index}"] += 1
        finally:
            opened.close()

    threads = [threading.Thread(target=take, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted.values()) == 7


# --- claim, heartbeat, finish -------------------------------------------------------------------


def test_claim_creates_a_missing_hour_and_runs_it(store: StateStore) -> None:
    state = store.claim(H0, "w1", lease_s=60, max_tries=4)
    assert state is not None
    assert (state.status, state.try_count, state.max_tries, state.worker) == (TaskStatus.RUNNING, 1, 4, "w1")
    assert state.started_at is not None and state.lease_expires_at is not None
    assert state.lease_expires_at - state.started_at == timedelta(seconds=60)
    assert store.get(H0) == state


def test_claim_of_a_queued_hour_counts_the_try(store: StateStore) -> None:
    store.enqueue([H0], max_tries=3)
    state = store.claim(H0, "w1", LONG_LEASE_S, max_tries=3)
    assert state is not None and state.try_count == 1


def test_claim_is_refused_while_the_lease_is_live(store: StateStore) -> None:
    first = store.claim(H0, "w1", LONG_LEASE_S, 3)
    assert store.claim(H0, "w2", LONG_LEASE_S, 3) is None
    assert store.claim(H0, "w1", LONG_LEASE_S, 3) is None  # not even by its own worker
    assert store.claim(H0, "w2", LONG_LEASE_S, 3, reclaim_success=True) is None
    assert store.get(H0) == first


def test_expired_lease_is_reclaimed_by_another_worker(store: StateStore, clock: ManualClock) -> None:
    store.claim(H0, "w1", lease_s=0.3, max_tries=3)
    assert store.claim(H0, "w2", LONG_LEASE_S, 3) is None
    clock.advance(0.4)
    taken = store.claim(H0, "w2", LONG_LEASE_S, 3)
    assert taken is not None
    assert (taken.status, taken.worker, taken.try_count) == (TaskStatus.RUNNING, "w2", 2)


def test_stale_worker_cannot_heartbeat_or_finish(store: StateStore, clock: ManualClock) -> None:
    store.claim(H0, "w1", lease_s=0.1, max_tries=3)
    clock.advance(0.2)
    taken = store.claim(H0, "w2", LONG_LEASE_S, 3)
    assert store.heartbeat(H0, "w1", LONG_LEASE_S) is False
    assert store.finish_success(H0, "w1", "reports/stale.csv", PROVENANCE) is False
    assert store.finish_failure(H0, "w1", TaskStatus.FAILED, "stale failure") is False
    assert store.get(H0) == taken
    assert store.finish_success(H0, "w2", "reports/fresh.csv", PROVENANCE) is True
    done = store.get(H0)
    assert done is not None
    assert (done.status, done.data_path, done.worker) == (TaskStatus.SUCCESS, "reports/fresh.csv", "w2")


def test_heartbeat_extends_the_lease_of_the_holder(store: StateStore) -> None:
    claimed = store.claim(H0, "w1", lease_s=1, max_tries=3)
    assert claimed is not None and claimed.lease_expires_at is not None
    assert store.heartbeat(H0, "w1", lease_s=LONG_LEASE_S) is True
    extended = store.get(H0)
    assert extended is not None and extended.lease_expires_at is not None
    assert extended.lease_expires_at - claimed.lease_expires_at > timedelta(seconds=LONG_LEASE_S - 60)
    assert store.heartbeat(H0, "w2", LONG_LEASE_S) is False
    assert store.heartbeat(H1, "w1", LONG_LEASE_S) is False


def test_a_late_heartbeat_keeps_the_hour_if_nobody_took_it(store: StateStore, clock: ManualClock) -> None:
    store.claim(H0, "w1", lease_s=0.1, max_tries=3)
    clock.advance(0.2)
    assert store.heartbeat(H0, "w1", LONG_LEASE_S) is True
    assert store.claim(H0, "w2", LONG_LEASE_S, 3) is None


def test_finish_success_records_result_and_provenance(store: StateStore) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    assert store.finish_success(H0, "w1", "reports/2020/01/01/00.csv", PROVENANCE) is True
    state = store.get(H0)
    assert state is not None
    assert (state.status, state.data_path, state.error) == (
        TaskStatus.SUCCESS,
        "reports/2020/01/01/00.csv",
        None,
    )
    assert state.provenance == PROVENANCE
    assert state.lease_expires_at is None
    assert store.heartbeat(H0, "w1", LONG_LEASE_S) is False  # released


@pytest.mark.parametrize("status", [TaskStatus.QUEUED, TaskStatus.FAILED, TaskStatus.UNAVAILABLE])
def test_finish_failure_releases_with_status_and_reason(store: StateStore, status: TaskStatus) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    assert store.finish_failure(H0, "w1", status, "HTTP 503 after 5 tries") is True
    state = store.get(H0)
    assert state is not None
    assert (state.status, state.error, state.lease_expires_at) == (status, "HTTP 503 after 5 tries", None)


@pytest.mark.parametrize("status", [TaskStatus.RUNNING, TaskStatus.SUCCESS])
def test_finish_failure_rejects_non_failure_statuses(store: StateStore, status: TaskStatus) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    with pytest.raises(ValueError, match="queued, failed or unavailable"):
        store.finish_failure(H0, "w1", status, "nonsense")


def test_a_success_hour_is_claimed_again_only_with_reclaim_success(store: StateStore) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    store.finish_success(H0, "w1", "reports/h0.csv", PROVENANCE)
    done = store.get(H0)
    assert store.claim(H0, "w2", LONG_LEASE_S, 3) is None
    assert store.get(H0) == done
    again = store.claim(H0, "w2", LONG_LEASE_S, 3, reclaim_success=True)
    assert again is not None and (again.status, again.try_count, again.worker) == (
        TaskStatus.RUNNING,
        1,
        "w2",
    )


@pytest.mark.parametrize("status", [TaskStatus.QUEUED, TaskStatus.FAILED, TaskStatus.UNAVAILABLE])
def test_a_released_hour_can_be_claimed_again(store: StateStore, status: TaskStatus) -> None:
    store.claim(H0, "w1", LONG_LEASE_S, 3)
    store.finish_failure(H0, "w1", status, "HTTP 503")
    again = store.claim(H0, "w2", LONG_LEASE_S, 3)
    assert again is not None and (again.status, again.try_count, again.worker) == (
        TaskStatus.RUNNING,
        2,
        "w2",
    )


def test_full_lifecycle_with_retries(store: StateStore) -> None:
    assert store.enqueue([H0], max_tries=2) == [H0]
    store.claim(H0, "w1", LONG_LEASE_S, 2)
    store.finish_failure(H0, "w1", TaskStatus.QUEUED, "HTTP 503")
    store.claim(H0, "w2", LONG_LEASE_S, 2)
    store.finish_failure(H0, "w2", TaskStatus.FAILED, "HTTP 503 again")
    assert store.enqueue([H0], max_tries=2) == [H0]
    store.claim(H0, "w3", LONG_LEASE_S, 2)
    store.finish_success(H0, "w3", "reports/h0.csv", PROVENANCE)
    state = store.get(H0)
    assert state is not None
    assert (state.status, state.try_count, state.error, state.worker) == (TaskStatus.SUCCESS, 1, None, "w3")


# --- releasing a lapsed lease ----------------------------------------------------------------------


def test_release_expired_leaves_a_live_or_renewed_lease_alone(store: StateStore, clock: ManualClock) -> None:
    claimed = store.claim(H0, "w1", lease_s=60, max_tries=3)
    assert store.release_expired(H0) is None  # live
    seen_expired_at = clock.advance(61)
    assert [s.hour for s in store.stale(300, seen_expired_at)] == [H0]
    # The slow worker renews between the reconciler's stale() and its release: it keeps the hour.
    assert store.heartbeat(H0, "w1", lease_s=60) is True
    assert store.release_expired(H0, seen_expired_at) is None
    assert store.release_expired(H0) is None
    held = store.get(H0)
    assert claimed is not None and held is not None
    assert (held.status, held.worker, held.try_count) == (TaskStatus.RUNNING, "w1", 1)
    assert store.finish_success(H0, "w1", "reports/h0.csv", PROVENANCE) is True


def test_release_expired_queues_a_lapsed_hour_once(store: StateStore, clock: ManualClock) -> None:
    claimed = store.claim(H0, "w1", lease_s=60, max_tries=3)
    assert claimed is not None and claimed.lease_expires_at is not None
    clock.advance(61)
    released = store.release_expired(H0)
    assert released is not None and released == store.get(H0)
    assert (released.status, released.try_count, released.lease_expires_at) == (TaskStatus.QUEUED, 1, None)
    assert released.error == (
        f"try 1/3: worker w1 stopped renewing its lease (expired {claimed.lease_expires_at:%Y-%m-%dT%H:%M:%S}Z)"
    )
    assert released.finished_at == clock.now
    assert store.release_expired(H0) is None  # another reconciler got there first
    assert store.finish_failure(H0, "w1", TaskStatus.QUEUED, "too late") is False
    again = store.claim(H0, "w2", LONG_LEASE_S, 3)
    assert again is not None and again.try_count == 2


def test_release_expired_of_the_last_try_fails_the_hour(store: StateStore, clock: ManualClock) -> None:
    store.claim(H0, "w1", lease_s=60, max_tries=1)
    released = store.release_expired(H0, clock.advance(61))
    assert released is not None and released.status is TaskStatus.FAILED
    assert (released.error or "").startswith("try 1/1: worker w1 stopped renewing its lease")


def test_release_expired_ignores_hours_not_running(store: StateStore, clock: ManualClock) -> None:
    store.enqueue([H0], max_tries=3)
    store.claim(H1, "w1", LONG_LEASE_S, 3)
    store.finish_success(H1, "w1", "reports/h1.csv", PROVENANCE)
    before = store.get_many([H0, H1])
    clock.advance(2 * LONG_LEASE_S)
    assert [store.release_expired(hour) for hour in (H0, H1, H2)] == [None, None, None]
    assert store.get_many([H0, H1, H2]) == before


def test_release_expired_rejects_a_naive_now(store: StateStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.release_expired(H0, datetime(2020, 1, 1))  # naive on purpose


def test_reconcilers_racing_to_release_release_each_hour_once(store: StateStore, clock: ManualClock) -> None:
    for hour in RACE_HOURS:
        store.claim(hour, "dead", lease_s=60, max_tries=3)
    clock.advance(61)
    barrier = threading.Barrier(RACE_THREADS)
    released: list[TaskState] = []

    def release() -> None:
        barrier.wait(timeout=30)
        for hour in random.sample(RACE_HOURS, len(RACE_HOURS)):
            if (state := store.release_expired(hour)) is not None:
                released.append(state)

    threads = [threading.Thread(target=release) for _ in range(RACE_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(state.hour for state in released) == RACE_HOURS
    assert {state.status for state in released} == {TaskStatus.QUEUED}


def test_the_try_count_rule() -> None:
    def after(try_count: int, max_tries: int) -> TaskStatus:
        return status_after_failed_try(TaskState(H0, TaskStatus.RUNNING, try_count, max_tries))

    assert [after(n, 3) for n in (1, 2, 3, 4)] == [TaskStatus.QUEUED] * 2 + [TaskStatus.FAILED] * 2


def test_a_naive_clock_is_refused(state_url: str) -> None:
    opened = open_state_store(state_url, clock=lambda: datetime(2020, 1, 1))  # naive on purpose
    try:
        with pytest.raises(ValueError, match="timezone-aware"):
            opened.enqueue([H0], max_tries=3)
    finally:
        opened.close()


# --- recomputing a success -------------------------------------------------------------------------


def _succeed(
    store: StateStore, hour: str, worker: str, max_tries: int = 3, reclaim: bool = False
) -> TaskState:
    """Claim and finish `hour` with PROVENANCE; return the claimed state."""
    claimed = store.claim(hour, worker, LONG_LEASE_S, max_tries, reclaim_success=reclaim)
    assert claimed is not None
    assert store.finish_success(hour, worker, f"reports/{hour}.csv", PROVENANCE)
    return claimed


def test_each_recompute_of_a_success_starts_its_own_try_count(store: StateStore) -> None:
    _succeed(store, H0, "w1", max_tries=3)
    for index in range(4):
        claimed = _succeed(store, H0, f"w{index + 2}", max_tries=5, reclaim=True)
        assert (claimed.try_count, claimed.max_tries) == (1, 5)
    # Its first try failing is a retry, not the end.
    retaken = store.claim(H0, "w9", LONG_LEASE_S, 5, reclaim_success=True)
    assert retaken is not None and status_after_failed_try(retaken) is TaskStatus.QUEUED


def test_a_failed_recompute_keeps_the_last_good_result(store: StateStore) -> None:
    _succeed(store, H0, "w1")
    good = store.get(H0)
    assert store.claim(H0, "w2", LONG_LEASE_S, 2, reclaim_success=True) is not None
    assert store.finish_failure(H0, "w2", TaskStatus.QUEUED, "try 1/2: HTTP 503")
    retrying = store.get(H0)
    assert retrying is not None and retrying.status is TaskStatus.QUEUED
    assert store.claim(H0, "w3", LONG_LEASE_S, 2) is not None
    assert store.finish_failure(H0, "w3", TaskStatus.FAILED, "try 2/2: HTTP 503")
    kept = store.get(H0)
    assert good is not None and kept is not None
    assert (kept.status, kept.data_path, kept.provenance) == (TaskStatus.SUCCESS, good.data_path, PROVENANCE)
    assert (kept.error, kept.try_count, kept.lease_expires_at) == ("try 2/2: HTTP 503", 2, None)
    # A recompute from there starts afresh and clears the reason once it succeeds.
    again = _succeed(store, H0, "w4", reclaim=True)
    assert again.try_count == 1
    done = store.get(H0)
    assert done is not None and done.error is None


def test_a_recompute_whose_dump_is_gone_keeps_the_last_good_result(store: StateStore) -> None:
    _succeed(store, H0, "w1")
    good = store.get(H0)
    assert store.claim(H0, "w2", LONG_LEASE_S, 3, reclaim_success=True) is not None
    assert store.finish_failure(H0, "w2", TaskStatus.UNAVAILABLE, "/mirror/x.gz does not exist")
    kept = store.get(H0)
    assert good is not None and kept is not None
    assert (kept.status, kept.data_path, kept.provenance) == (TaskStatus.SUCCESS, good.data_path, PROVENANCE)
    assert kept.error == "/mirror/x.gz does not exist"
    # Without a result, unavailable stays unavailable.
    store.enqueue([H1], 3)
    store.claim(H1, "w1", LONG_LEASE_S, 3)
    store.finish_failure(H1, "w1", TaskStatus.UNAVAILABLE, "not published")
    missing = store.get(H1)
    assert missing is not None and missing.status is TaskStatus.UNAVAILABLE


def test_a_recompute_abandoned_on_its_last_try_keeps_the_last_good_result(
    store: StateStore, clock: ManualClock
) -> None:
    _succeed(store, H0, "w1")
    store.claim(H0, "w2", lease_s=60, max_tries=1, reclaim_success=True)
    released = store.release_expired(H0, clock.advance(61))
    assert released is not None
    assert (released.status, released.data_path, released.provenance) == (
        TaskStatus.SUCCESS,
        f"reports/{H0}.csv",
        PROVENANCE,
    )
    assert (released.error or "").startswith("try 1/1: worker w2 stopped renewing its lease")


# --- stale, timestamps, housekeeping ----------------------------------------------------------------


def test_stale_finds_old_queued_and_expired_running_hours(store: StateStore, clock: ManualClock) -> None:
    store.enqueue([H0, H3], max_tries=3)
    store.claim(H1, "w1", lease_s=60, max_tries=3)
    store.claim(H2, "w2", lease_s=LONG_LEASE_S, max_tries=3)
    store.claim(H3, "w3", LONG_LEASE_S, 3)
    store.finish_success(H3, "w3", "reports/h3.csv", PROVENANCE)
    assert store.stale(older_than_s=300) == []
    later = clock.now + timedelta(seconds=120)
    assert [s.hour for s in store.stale(older_than_s=300, now=later)] == [H1]
    much_later = clock.now + timedelta(seconds=400)
    assert [s.hour for s in store.stale(older_than_s=300, now=much_later)] == [H0, H1]


def test_stale_accepts_a_non_utc_now(store: StateStore, clock: ManualClock) -> None:
    store.claim(H0, "w1", lease_s=60, max_tries=3)
    paris_later = (clock.now + timedelta(seconds=120)).astimezone(timezone(timedelta(hours=2)))
    assert [s.hour for s in store.stale(older_than_s=300, now=paris_later)] == [H0]


def test_stale_rejects_a_naive_now(store: StateStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.stale(older_than_s=300, now=datetime(2020, 1, 1))  # naive on purpose


def test_timestamps_are_aware_utc(store: StateStore) -> None:
    store.enqueue([H0], max_tries=3)
    claimed = store.claim(H0, "w1", lease_s=60, max_tries=3)
    store.finish_success(H0, "w1", "reports/h0.csv", PROVENANCE)
    done = store.get(H0)
    assert claimed is not None and done is not None
    for moment in (
        done.created_at,
        done.updated_at,
        done.started_at,
        done.finished_at,
        claimed.lease_expires_at,
    ):
        _assert_aware_utc(moment)
    assert done.created_at and claimed.started_at and done.finished_at
    assert done.created_at <= claimed.started_at <= done.finished_at


def test_timestamps_are_stored_as_utc_whatever_the_local_time_zones(
    state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30: no whole-hour coincidence
    time.tzset()
    try:
        opened = open_state_store(_in_time_zone(state_url, "Asia/Kolkata"))
        claimed = opened.claim(H0, "w1", lease_s=60, max_tries=3)
        opened.close()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert claimed is not None and claimed.started_at is not None
    _assert_aware_utc(claimed.started_at)
    assert _stored_started_at(state_url) == claimed.started_at.replace(tzinfo=None)


def _in_time_zone(url: str, zone: str) -> str:
    """Return `url` with its PostgreSQL sessions set to time zone `zone` (SQLite has none)."""
    if url.startswith("sqlite"):
        return url
    parsed = sa.make_url(url)
    options = f"{parsed.query.get('options', '')} -cTimeZone={zone}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _stored_started_at(url: str) -> datetime:
    """Read H0's started_at as the database holds it, as a naive UTC wall time."""
    engine = sa.create_engine(sa.make_url(url).set(drivername=_driver(url)))
    try:
        with engine.connect() as connection:
            if url.startswith("sqlite"):
                text = connection.exec_driver_sql("SELECT started_at FROM tasks").scalar_one()
                return datetime.fromisoformat(text)
            query = "SELECT started_at AT TIME ZONE 'UTC' FROM tasks"
            stored: datetime = connection.exec_driver_sql(query).scalar_one()
            return stored
    finally:
        engine.dispose()


def test_ping_and_close(state_url: str) -> None:
    opened = open_state_store(state_url)
    opened.ping()
    opened.close()


def test_reopening_keeps_rows_and_schema(state_url: str) -> None:
    first = open_state_store(state_url)
    first.enqueue([H0, H1], max_tries=3)
    first.claim(H1, "w1", LONG_LEASE_S, 3)
    first.finish_success(H1, "w1", "reports/h1.csv", PROVENANCE)
    before = first.get_many([H0, H1])
    first.close()
    second = open_state_store(state_url)
    try:
        assert second.get_many([H0, H1]) == before
    finally:
        second.close()


def test_migrations_create_exactly_the_live_schema(state_url: str) -> None:
    open_state_store(state_url).close()
    engine = sa.create_engine(sa.make_url(state_url).set(drivername=_driver(state_url)))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
            assert context.get_current_revision() == HEAD_REVISION
            assert compare_metadata(context, METADATA) == []
    finally:
        engine.dispose()


def test_a_schema_from_a_newer_wikitop_is_a_clear_error(state_url: str) -> None:
    open_state_store(state_url).close()
    engine = sa.create_engine(sa.make_url(state_url).set(drivername=_driver(state_url)))
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(WikitopError, match="upgrade this installation"):
        open_state_store(state_url)


def _driver(url: str) -> str:
    """Return the SQLAlchemy driver name the store uses for `url`."""
    return "sqlite" if url.startswith("sqlite") else "postgresql+psycopg"


# --- concurrency -----------------------------------------------------------------------------------

RACE_PROCESSES = 4
RACE_THREADS = 8
RACE_HOURS = _hours(40)


def _race_in_process(url: str, worker: str, barrier: Any, results: Any) -> None:
    """Child process: open the store together with the others, then claim and finish every hour it can."""
    try:
        barrier.wait(timeout=60)
        store = open_state_store(url)
        results.put((worker, _claim_all(store, worker)))
        store.close()
    except BaseException as exc:
        results.put((worker, exc))
        raise


def _claim_all(store: StateStore, worker: str, reclaim_success: bool = False) -> list[str]:
    """Try to claim every race hour in a worker-specific order; return the ones won.

    A first round finishes the hours it wins. A reclaim round keeps them running, since a success
    hour may be reclaimed again; a heartbeat then stands in for the finishing write.
    """
    hours = list(RACE_HOURS)
    random.Random(worker).shuffle(hours)
    won = []
    for hour in hours:
        if store.claim(hour, worker, LONG_LEASE_S, 3, reclaim_success=reclaim_success) is not None:
            won.append(hour)
            if reclaim_success:
                assert store.heartbeat(hour, worker, LONG_LEASE_S)
            else:
                store.finish_success(hour, worker, f"reports/{hour}.csv", PROVENANCE)
        store.get(hour)  # readers in the mix, as the API would be
    return won


def _assert_each_hour_won_once(
    won: dict[str, list[str]], store: StateStore, status: TaskStatus, try_count: int
) -> None:
    """Assert that every race hour was claimed by exactly one worker, once, and ended as `status`."""
    claims = Counter(hour for hours in won.values() for hour in hours)
    assert claims == Counter(RACE_HOURS)
    for hour, state in store.get_many(RACE_HOURS).items():
        assert (state.status, state.try_count) == (status, try_count)
        assert state.worker is not None and hour in won[state.worker]


@pytest.mark.slow
def test_processes_racing_to_claim_each_win_distinct_hours(state_url: str) -> None:
    # The store is not opened beforehand: the processes also race to create the schema.
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACE_PROCESSES)
    results = context.Queue()
    workers = [f"proc-{index}" for index in range(RACE_PROCESSES)]
    processes = [
        context.Process(target=_race_in_process, args=(state_url, w, barrier, results)) for w in workers
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    failures = {w: o for w, o in outcomes.items() if isinstance(o, BaseException)}
    assert failures == {}
    assert all(process.exitcode == 0 for process in processes)
    store = open_state_store(state_url)
    try:
        _assert_each_hour_won_once(outcomes, store, TaskStatus.SUCCESS, try_count=1)
    finally:
        store.close()


def _race_in_threads(store: StateStore, reclaim_success: bool) -> dict[str, list[str]]:
    """Run _claim_all in RACE_THREADS threads started together; return the hours each won."""
    barrier = threading.Barrier(RACE_THREADS)
    won: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def race(worker: str) -> None:
        try:
            barrier.wait(timeout=30)
            won[worker] = _claim_all(store, worker, reclaim_success)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(f"thread-{index}",)) for index in range(RACE_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return won


def test_threads_racing_to_claim_each_win_distinct_hours(store: StateStore) -> None:
    _assert_each_hour_won_once(_race_in_threads(store, False), store, TaskStatus.SUCCESS, try_count=1)
    # Workers that all found the results stale race to recompute them: still one winner each.
    # A recompute starts its own try count.
    _assert_each_hour_won_once(_race_in_threads(store, True), store, TaskStatus.RUNNING, try_count=1)


# --- URLs and backends -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["mysql://user@host/db", "redis://localhost", "sqlite://", "sqlite:///:memory:", "not a url"]
)
def test_unsupported_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match="sqlite:///path"):
        open_state_store(url)


def test_url_errors_hide_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        open_state_store("mysql://user:s3cret@host/db")
    assert "s3cret" not in str(caught.value)


def test_missing_postgres_driver_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` raise ImportError
    with pytest.raises(BackendMissingError, match=r'pip install "wikitop\[postgres\]"'):
        open_state_store("postgresql://user@127.0.0.1:1/db")


def test_sqlite_store_uses_wal_in_a_created_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "state.sqlite3"
    open_state_store(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"tasks", "downloads", VERSION_TABLE}


def test_head_revision_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    from wikitop.state.migrations import HEAD_REVISION, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION
