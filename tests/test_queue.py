"""The queue without worker processes: CeleryHourQueue on the embedded queue and Redis, the task, the reconciler.

Real parts throughout: SQLite state, kombu's SQL transport on a temp file, a real Redis. The worker
and serve processes are exercised in test_service_e2e.py.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support.dumpgen import DumpSpec, write_hour
from support.requirements import server_unavailable
from support.server import FakeWikimedia
from wikitop.hours import current_hour, format_hour, parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.queue import HourQueue, Lane, lane_for
from wikitop.queue.app import QUEUE_NAME, REDIS_VISIBILITY_TIMEOUT_S, TASK_NAME, celery_config, make_app
from wikitop.queue.followup import give_up_at, next_check_at, retry_countdown_s
from wikitop.queue.hour_queue import BrokerUnavailableError, CeleryHourQueue
from wikitop.queue.reconciler import Reconciler, sweep_stale_files
from wikitop.queue.tasks import WorkerContext, register_tasks, run_hour
from wikitop.results import ResultStore
from wikitop.settings import Settings, load_settings
from wikitop.state import StateStore, TaskState, TaskStatus, open_state_store
from wikitop.web.hour_requests import HourRequests

REDIS_URL = os.environ.get("WIKITOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
H15, H16, H17 = "2020010115", "2020010116", "2020010117"
SMALL = DumpSpec(lines=5_000, domains=20)


def redis_or_skip(url: str = REDIS_URL) -> Any:
    """Return a client of the test Redis database, flushed; skip (fail in CI) when it is not reachable."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        server_unavailable("Redis", url, f"{exc} (set WIKITOP_TEST_REDIS_URL)")
    client.flushdb()
    return client


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: everything under tmp_path, dumps read from tmp_path/dumps, no blacklist."""
    (tmp_path / "dumps").mkdir(exist_ok=True)  # an existing mirror: a missing mirror is a setting's error
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "dumps_url": str(tmp_path / "dumps"),
        "blacklist_url": "",
        "stale_queued_s": 60.0,
        "retry_backoff_s": 5.0,
    }
    return load_settings(**(values | overrides))


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Every test here builds its settings from a clean environment (conftest's clean_environment)."""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def state(settings: Settings) -> Iterator[StateStore]:
    store = open_state_store(settings.resolved_state_url)
    yield store
    store.close()


@pytest.fixture
def queue(settings: Settings) -> Iterator[CeleryHourQueue]:
    hour_queue = CeleryHourQueue(settings)
    yield hour_queue
    hour_queue.close()


def waiting_messages(settings: Settings) -> list[tuple[str, bool, str | None]]:
    """Return (hour, force, eta) of each message waiting in the embedded queue, oldest first."""
    path = settings.data_dir / "queue.sqlite3"
    if not path.exists():
        return []  # nothing was ever published
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT payload FROM kombu_message WHERE visible = 1 ORDER BY id"
        ).fetchall()
    return [_decode(json.loads(payload)) for (payload,) in rows]


def _decode(message: dict[str, Any]) -> tuple[str, bool, str | None]:
    assert message["headers"]["task"] == TASK_NAME
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return args[0], args[1], message["headers"].get("eta")


def mark_unavailable(state: StateStore, hour: str) -> TaskState:
    """Put `hour` in the state an attempt leaves when the dump is not published."""
    state.claim(hour, "w1", 60.0, 3)
    state.finish_failure(hour, "w1", TaskStatus.UNAVAILABLE, f"{hour}.gz is not published (HTTP 404)")
    found = state.get(hour)
    assert found is not None
    return found


# --- configuration and CeleryHourQueue ---------------------------------------------------------


def test_celery_config_acks_late_and_hands_back_lost_messages(tmp_path: Path) -> None:
    config = celery_config(make_settings(tmp_path, broker_url=REDIS_URL))
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["broker_transport_options"]["visibility_timeout"] == REDIS_VISIBILITY_TIMEOUT_S
    assert config["task_ignore_result"] and "result_backend" not in config
    embedded = celery_config(make_settings(tmp_path))
    assert embedded["broker_url"] == f"sqla+sqlite:///{tmp_path / 'data' / 'queue.sqlite3'}"
    assert "visibility_timeout" not in embedded["broker_transport_options"]


def test_embedded_queue_counts_and_prunes_messages(settings: Settings, queue: CeleryHourQueue) -> None:
    queue.ping()
    assert queue.depth() == 0
    queue.submit(H15)
    queue.submit(H16, force=True, countdown_s=30)
    assert queue.depth() == 2
    first, second = waiting_messages(settings)
    assert first == (H15, False, None)
    assert second[:2] == (H16, True)
    assert second[2] is not None
    assert datetime.fromisoformat(second[2]) > datetime.now(UTC) + timedelta(seconds=20)
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as connection:
        connection.execute(
            "UPDATE kombu_message SET visible = 0 WHERE id = (SELECT MIN(id) FROM kombu_message)"
        )
    assert queue.prune_delivered() == 1
    assert queue.depth() == 1


PREPARE_QUEUE = """
import sys
from wikitop.queue.app import make_app
from wikitop.settings import load_settings
make_app(load_settings(data_dir=sys.argv[1]))
"""


def test_processes_starting_together_on_a_new_embedded_queue_all_succeed(tmp_path: Path) -> None:
    # kombu creates its tables and the queue's row on first use; of two processes doing so at once
    # one used to fail (UNIQUE constraint failed: kombu_queue.name).
    command = [sys.executable, "-c", PREPARE_QUEUE, str(tmp_path / "data")]
    processes = [subprocess.Popen(command, stderr=subprocess.PIPE) for _ in range(4)]
    failures = [process.communicate(timeout=60)[1] for process in processes if process.wait(60) != 0]
    assert failures == []


@pytest.mark.redis
def test_redis_queue_survives_a_flush(tmp_path: Path) -> None:
    client = redis_or_skip()
    queue = CeleryHourQueue(make_settings(tmp_path, broker_url=REDIS_URL))
    try:
        queue.submit(H15)
        assert queue.depth() == 1
        # A flushed (or restarted) Redis forgets exchange bindings: a publish must still land in the queue.
        client.flushdb()
        queue.submit(H16)
        assert client.llen(QUEUE_NAME) == 1
        assert queue.depth() == 1
    finally:
        queue.close()


def test_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    queue = CeleryHourQueue(make_settings(tmp_path, broker_url="redis://:secret@127.0.0.1:9/0"))
    started = time.monotonic()
    try:
        with pytest.raises(BrokerUnavailableError) as caught:
            queue.ping()
        with pytest.raises(BrokerUnavailableError, match=f"cannot publish hour {H15}"):
            queue.submit(H15)
    finally:
        queue.close()
    assert "127.0.0.1:9" in str(caught.value)
    assert "secret" not in str(caught.value)
    assert time.monotonic() - started < 20


# --- schedules ----------------------------------------------------------------------------------


def test_a_task_meeting_a_state_outage_is_retried_without_limit(tmp_path: Path) -> None:
    from celery.exceptions import Retry

    # A PostgreSQL that refuses connections (port 1: nothing listens).
    settings = make_settings(tmp_path, state_url="postgresql://postgres@127.0.0.1:1/x")
    app = make_app(settings)
    context = register_tasks(app, settings)
    task = app.tasks[TASK_NAME]
    try:
        for retries in (0, 3, 20):  # Celery's default limit is 3: the 4th retry raised MaxRetriesExceeded
            with pytest.raises(Retry) as retried:
                task.apply(args=(H15, False), retries=retries, throw=True)
            assert retried.value.when == min(2.0 * 2**retries, 60.0)
    finally:
        context.close()
        app.close()


def test_retry_countdown_doubles_up_to_a_minute() -> None:
    assert [retry_countdown_s(n, 15.0) for n in (1, 2, 3, 4, 9)] == [15.0, 30.0, 60.0, 60.0, 60.0]


def test_unavailable_checks_double_from_first_wait_to_the_cap() -> None:
    asked = datetime(2024, 5, 1, 12, tzinfo=UTC)
    checks, checked = [], asked
    for _ in range(7):
        state = TaskState("2024050110", TaskStatus.UNAVAILABLE, 1, 3, created_at=asked, updated_at=checked)
        checked = next_check_at(state, first_s=300, max_s=3600)
        checks.append((checked - asked).total_seconds() / 60)
    assert checks == [5, 10, 20, 40, 80, 140, 200]
    assert give_up_at("2024050110") == datetime(2024, 5, 2, 10, tzinfo=UTC)


# --- the task, run in this process --------------------------------------------------------------


@pytest.fixture
def context(settings: Settings, queue: CeleryHourQueue) -> Iterator[WorkerContext]:
    worker_context = WorkerContext(settings, queue)
    yield worker_context
    worker_context.close()


def test_task_computes_then_finds_the_fresh_result(
    settings: Settings, context: WorkerContext, state: StateStore
) -> None:
    write_hour(Path(settings.dumps_url), parse_hour(H15), SMALL)
    assert run_hour(context, H15, False) == "computed"
    assert run_hour(context, H15, False) == "cached"
    assert run_hour(context, H15, True) == "computed"
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.SUCCESS
    assert waiting_messages(settings) == []


def test_failed_attempt_is_published_again_with_a_countdown(
    settings: Settings, context: WorkerContext, state: StateStore
) -> None:
    dump = write_hour(Path(settings.dumps_url), parse_hour(H15), SMALL)
    dump.write_bytes(dump.read_bytes()[:2000])  # truncated gzip: a corrupt download
    before = datetime.now(UTC)
    assert run_hour(context, H15, False) == "retry"
    [(hour, force, eta)] = waiting_messages(settings)
    assert (hour, force) == (H15, False)
    assert eta is not None
    assert datetime.fromisoformat(eta) >= before + timedelta(seconds=settings.retry_backoff_s)
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.QUEUED and "try 1/3" in (found.error or "")


def test_last_failed_attempt_is_not_published_again(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_tries=1)
    dump = write_hour(Path(settings.dumps_url), parse_hour(H15), SMALL)
    dump.write_bytes(b"not gzip at all")
    context = WorkerContext(settings, CeleryHourQueue(settings))
    try:
        assert run_hour(context, H15, False) == "failed"
        assert waiting_messages(settings) == []
        found = context.services().state.get(H15)
        assert found is not None and found.status is TaskStatus.FAILED
    finally:
        context.close()
        context.queue.close()


def test_recomputes_of_a_good_hour_each_get_all_their_tries(
    settings: Settings, context: WorkerContext, state: StateStore
) -> None:
    dump = write_hour(Path(settings.dumps_url), parse_hour(H15), SMALL)
    assert [run_hour(context, H15, True) for _ in range(4)] == ["computed"] * 4
    found = state.get(H15)
    assert found is not None and (found.status, found.try_count) == (TaskStatus.SUCCESS, 1)
    dump.write_bytes(dump.read_bytes()[:2000])  # truncated gzip: a corrupt download
    assert run_hour(context, H15, True) == "retry"
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.QUEUED
    assert (found.error or "").startswith(f"try 1/{settings.max_tries}: ")


def test_a_failed_recompute_keeps_the_good_result_and_its_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_tries=1)
    dump = write_hour(Path(settings.dumps_url), parse_hour(H15), SMALL)
    context = WorkerContext(settings, CeleryHourQueue(settings))
    try:
        services = context.services()
        assert run_hour(context, H15, False) == "computed"
        good, good_csv = services.state.get(H15), services.results.read(parse_hour(H15))
        dump.write_bytes(b"not gzip at all")
        assert run_hour(context, H15, True) == "failed"
        kept = services.state.get(H15)
        assert good is not None and kept is not None
        assert (kept.status, kept.data_path, kept.provenance) == (
            TaskStatus.SUCCESS,
            good.data_path,
            good.provenance,
        )
        assert (kept.error or "").startswith("try 1/1: ")
        assert services.results.read(parse_hour(H15)) == good_csv
        assert run_hour(context, H15, False) == "cached"
    finally:
        context.close()
        context.queue.close()


def test_an_attempt_that_lost_its_lease_records_nothing(tmp_path: Path) -> None:
    write_hour(tmp_path / "mirror", parse_hour(H15), SMALL)
    with FakeWikimedia(tmp_path / "mirror") as mirror:
        settings = make_settings(tmp_path, dumps_url=mirror.url)
        context = WorkerContext(settings, CeleryHourQueue(settings))
        # Another worker whose clock is an hour ahead sees the lease lapsed and takes the hour
        # while the download runs: the first worker stalled, as far as the store can tell.
        later = open_state_store(
            settings.resolved_state_url, clock=lambda: datetime.now(UTC) + timedelta(hours=1)
        )
        taken: list[TaskState | None] = []

        def take_over(_received_bytes: int) -> None:
            if not taken:
                taken.append(later.claim(H15, "other-worker", 600.0, 3))

        try:
            services = context.services()
            result = process_hour(parse_hour(H15), services, progress=take_over)
            assert taken and taken[0] is not None
            assert result.outcome is Outcome.BUSY and "lost its lease" in (result.error or "")
            found = services.state.get(H15)
            assert found is not None and (found.status, found.worker) == (TaskStatus.RUNNING, "other-worker")
        finally:
            later.close()
            context.close()
            context.queue.close()


def test_dump_missing_a_day_after_its_hour_fails(context: WorkerContext, state: StateStore) -> None:
    assert run_hour(context, H15, False) == "unavailable"
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.FAILED
    assert "does not exist" in (found.error or "") and "still not published 24 h after the hour" in (
        found.error or ""
    )


def test_recent_missing_dump_stays_unavailable(context: WorkerContext, state: StateStore) -> None:
    hour = format_hour(current_hour() - timedelta(hours=1))
    assert run_hour(context, hour, False) == "unavailable"
    found = state.get(hour)
    assert found is not None and found.status is TaskStatus.UNAVAILABLE


# --- the reconciler -----------------------------------------------------------------------------


@pytest.fixture
def reconciler(settings: Settings, state: StateStore, queue: CeleryHourQueue) -> Reconciler:
    return Reconciler(settings, state, queue, "reconciler-1")


def test_abandoned_hour_is_released_and_published(
    settings: Settings, state: StateStore, reconciler: Reconciler
) -> None:
    state.claim(H15, "dead-worker", 60.0, 3)
    assert reconciler.run_once() == {}  # its lease is live
    counts = reconciler.run_once(datetime.now(UTC) + timedelta(seconds=61))
    assert counts == {"abandoned hours published again": 1}
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.QUEUED and found.try_count == 1
    assert "worker dead-worker stopped renewing its lease" in (found.error or "")
    assert waiting_messages(settings) == [(H15, False, None)]


def test_abandoned_last_try_fails(settings: Settings, state: StateStore, reconciler: Reconciler) -> None:
    state.claim(H15, "dead-worker", 60.0, 1)
    assert reconciler.run_once(datetime.now(UTC) + timedelta(seconds=61)) == {"abandoned hours failed": 1}
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.FAILED
    assert (found.error or "").startswith("try 1/1: worker dead-worker")
    assert waiting_messages(settings) == []


class RenewsAfterStale:
    """A real store whose stale() lets each running hour's worker renew its lease just after the read.

    It makes certain the race of a slow but live worker with the reconciler: the renewal lands
    between the reconciler's read of the expired lease and its release of the hour.
    """

    def __init__(self, store: StateStore) -> None:
        self._store = store

    def stale(self, older_than_s: float, now: datetime | None = None) -> list[TaskState]:
        found = self._store.stale(older_than_s, now)
        for state in found:
            if state.status is TaskStatus.RUNNING and state.worker is not None:
                assert self._store.heartbeat(state.hour, state.worker, lease_s=600.0)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_worker_renewing_its_lease_during_a_pass_keeps_its_hour(
    settings: Settings, state: StateStore, queue: HourQueue
) -> None:
    state.claim(H15, "slow-worker", 60.0, 3)
    racing = Reconciler(settings, RenewsAfterStale(state), queue, "reconciler-1")  # type: ignore[arg-type]
    assert racing.run_once(datetime.now(UTC) + timedelta(seconds=61)) == {}
    found = state.get(H15)
    assert found is not None and (found.status, found.worker, found.try_count) == (
        TaskStatus.RUNNING,
        "slow-worker",
        1,
    )
    assert waiting_messages(settings) == []


def test_lost_message_is_published_again_once_the_queue_is_empty(
    settings: Settings, state: StateStore, queue: CeleryHourQueue, reconciler: Reconciler
) -> None:
    state.enqueue([H15, H16], 3)
    later = datetime.now(UTC) + timedelta(seconds=settings.stale_queued_s + 1)
    assert reconciler.run_once() == {}  # not stale yet
    queue.submit(H17)
    # Messages still wait in the queue: these hours may just be behind them.
    assert reconciler.run_once(later) == {}
    queue.prune_delivered()
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as connection:
        connection.execute("DELETE FROM kombu_message")
    assert reconciler.run_once(later) == {"lost messages published again": 2}
    assert sorted(message[0] for message in waiting_messages(settings)) == [H15, H16]
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as connection:
        connection.execute("DELETE FROM kombu_message")
    # Not again until stale_queued_s has passed since this reconciler published them.
    assert reconciler.run_once(later) == {}


def test_missing_dump_is_checked_again_when_due(
    settings: Settings, state: StateStore, reconciler: Reconciler
) -> None:
    hour = format_hour(current_hour() - timedelta(hours=2))
    marked = mark_unavailable(state, hour)
    assert marked.updated_at is not None
    assert reconciler.run_once() == {}
    due = marked.updated_at + timedelta(seconds=settings.unavailable_recheck_s + 1)
    assert reconciler.run_once(due) == {"missing dumps checked again": 1}
    found = state.get(hour)
    assert found is not None and found.status is TaskStatus.QUEUED and found.try_count == 0
    assert waiting_messages(settings) == [(hour, False, None)]


def test_missing_dump_fails_a_day_after_its_hour(
    settings: Settings, state: StateStore, reconciler: Reconciler
) -> None:
    mark_unavailable(state, H15)
    assert reconciler.run_once() == {"missing dumps failed": 1}
    found = state.get(H15)
    assert found is not None and found.status is TaskStatus.FAILED
    assert found.error == f"{H15}.gz is not published (HTTP 404); still not published 24 h after the hour"
    assert waiting_messages(settings) == []


def test_sweep_removes_only_old_files(tmp_path: Path) -> None:
    old, new = tmp_path / "old.gz.part", tmp_path / "new.gz.part"
    old.write_bytes(b"x")
    new.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert sweep_stale_files(tmp_path, 3600) == 1
    assert not old.exists() and new.exists()
    assert sweep_stale_files(tmp_path / "missing", 3600) == 0


def messages_by_lane(settings: Settings) -> dict[str, list[str]]:
    """Return the hours of the messages waiting in the embedded queue, by lane (queue name), oldest first."""
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as connection:
        rows = connection.execute(
            "SELECT q.name, m.payload FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id"
            " WHERE m.visible = 1 ORDER BY m.id"
        ).fetchall()
    lanes: dict[str, list[str]] = {lane.value: [] for lane in Lane}
    for name, payload in rows:
        lanes[name].append(_decode(json.loads(payload))[0])
    return lanes


def hours_from(first: str, count: int) -> list[str]:
    return [format_hour(parse_hour(first) + timedelta(hours=n)) for n in range(count)]


def test_the_lane_rule_sends_small_asks_to_the_interactive_lane() -> None:
    assert lane_for(1, 24) is Lane.INTERACTIVE
    assert lane_for(24, 24) is Lane.INTERACTIVE
    assert lane_for(25, 24) is Lane.BACKFILL
    assert lane_for(1, 0) is Lane.BACKFILL  # 0: every ask is a backfill, one FIFO lane as before
    assert Settings().small_ask_hours == 24


def test_the_api_ask_publishes_to_the_lane_of_its_size(
    settings: Settings, state: StateStore, queue: CeleryHourQueue
) -> None:
    api = HourRequests(settings, state, ResultStore(settings.resolved_results_url), queue)
    small = hours_from("2020010100", settings.small_ask_hours)
    large = hours_from("2020020100", settings.small_ask_hours + 1)
    api.ask(small[0], small[-1])
    api.ask(large[0], large[-1])
    assert messages_by_lane(settings) == {Lane.INTERACTIVE.value: small, Lane.BACKFILL.value: large}
    # depth counts both lanes: the reconciler re-publishes lost hours only when both are empty.
    assert queue.depth() == len(small) + len(large)
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as connection:
        connection.execute("UPDATE kombu_message SET visible = 0")
    assert queue.prune_delivered() == len(small) + len(large)
    assert queue.depth() == 0


def test_the_reconciler_publishes_to_the_backfill_lane(
    settings: Settings, state: StateStore, queue: CeleryHourQueue, reconciler: Reconciler
) -> None:
    state.enqueue([H15], 3)
    later = datetime.now(UTC) + timedelta(seconds=settings.stale_queued_s + 1)
    assert reconciler.run_once(later) == {"lost messages published again": 1}
    assert messages_by_lane(settings) == {Lane.INTERACTIVE.value: [], Lane.BACKFILL.value: [H15]}


def test_a_retry_waits_in_the_lane_of_its_first_try(settings: Settings) -> None:
    for hour in (H15, H16):
        dump = write_hour(Path(settings.dumps_url), parse_hour(hour), SMALL)
        dump.write_bytes(dump.read_bytes()[:2000])  # truncated gzip: a corrupt download
    app = make_app(settings)
    context = register_tasks(app, settings)
    try:
        context.services().state.enqueue([H15, H16], settings.max_tries)
        # apply() runs the task here, with the delivery info of a message taken from the lane.
        for hour, lane in ((H15, Lane.INTERACTIVE), (H16, Lane.BACKFILL)):
            result = app.tasks[TASK_NAME].apply(args=(hour, False), exchange="", routing_key=lane.value)
            assert result.get() == "retry"
        assert messages_by_lane(settings) == {Lane.INTERACTIVE.value: [H15], Lane.BACKFILL.value: [H16]}
    finally:
        context.close()
        app.close()


@pytest.mark.redis
def test_redis_keeps_one_list_per_lane(tmp_path: Path) -> None:
    client = redis_or_skip()
    queue = CeleryHourQueue(make_settings(tmp_path, broker_url=REDIS_URL))
    try:
        queue.submit(H15)
        queue.submit(H16, lane=Lane.BACKFILL)
        queue.submit(H17, lane=Lane.BACKFILL)
        # KEDA's triggers read these lists by name (deploy/k8s/keda).
        assert (client.llen(Lane.INTERACTIVE.value), client.llen(Lane.BACKFILL.value)) == (1, 2)
        assert queue.depth() == 3
    finally:
        queue.close()
