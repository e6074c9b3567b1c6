"""Follow mode: the window of due hours, the reconciler creating and publishing them once, the
status endpoint and gauge that show freshness, and a real `wikitop worker --follow` picking up the
hours the fake Wikimedia publishes, a late one included.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.dumpgen import write_hour
from support.queues import RecordingQueue
from support.server import FakeWikimedia
from support.service import SPEC, Service, downloads, expected_rows, free_port, publish, wait_until
from wikitop.errors import ConfigError
from wikitop.hours import FIRST_HOUR, current_hour, format_hour, parse_hour
from wikitop.queue import Lane
from wikitop.queue.follow import (
    FOLLOW_HOURS_PER_PASS,
    follow_window,
    hours_without_state,
    newest_due_hour,
    parse_since,
)
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.queue.reconciler import Reconciler
from wikitop.services import build_services
from wikitop.settings import Settings, load_settings
from wikitop.state import StateStore, TaskStatus, open_state_store
from wikitop.web.app import create_app

# A fixed "now": 12:30 UTC, so with the default 45-minute delay the newest due hour is 11 (the
# file labelled 12 is due at 12:45).
NOW = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
DELAY_S = 2700.0


class FollowerQueue(RecordingQueue):
    """A RecordingQueue a reconciler can use: it records what each follower publishes, in order."""

    def prune_delivered(self) -> int:
        return 0


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Every test here builds its settings from a clean environment (conftest's clean_environment)."""


def hours_back(last: str, count: int) -> list[str]:
    """`count` hours ending with `last`, newest first."""
    return [format_hour(parse_hour(last) - timedelta(hours=n)) for n in range(count)]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    (tmp_path / "dumps").mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "dumps_url": str(tmp_path / "dumps"),
        "blacklist_url": "",
        "follow": True,
        "follow_since": "4h",
    }
    return load_settings(**(values | overrides))


def messages_by_lane(settings: Settings) -> dict[str, list[str]]:
    """The hours of the messages waiting in the embedded queue, by lane, in publication order."""
    lanes: dict[str, list[str]] = {lane.value: [] for lane in Lane}
    path = settings.data_dir / "queue.sqlite3"
    if not path.exists():
        return lanes
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT q.name, m.payload FROM kombu_message m JOIN kombu_queue q ON m.queue_id = q.id"
            " WHERE m.visible = 1 ORDER BY m.id"
        ).fetchall()
    for name, payload in rows:
        args, _kwargs, _embed = json.loads(base64.b64decode(json.loads(payload)["body"]))
        lanes[name].append(args[0])
    return lanes


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


# --- the window ------------------------------------------------------------------------------------


def test_since_is_an_hour_or_a_duration() -> None:
    assert parse_since("24h") == timedelta(hours=24)
    assert parse_since("7d") == timedelta(days=7)
    assert parse_since(" 36H ") == timedelta(hours=36)
    assert parse_since("2026110100") == datetime(2026, 11, 1, 0, tzinfo=UTC)
    assert parse_since("2026-11-01T05") == datetime(2026, 11, 1, 5, tzinfo=UTC)
    for bad in ("0h", "24", "1w", "yesterday", "2026-13-01T00", ""):
        with pytest.raises(ValueError, match=r"an hour .* or a duration"):
            parse_since(bad)


def test_a_bad_since_setting_names_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"WIKITOP_FOLLOW_SINCE: .*a duration .*got '1w'"):
        load_settings(follow_since="1w")
    defaults = Settings()
    assert (defaults.follow, defaults.follow_since, defaults.follow_delay_s) == (False, "24h", 2700.0)


def test_an_hour_is_due_its_delay_after_its_label() -> None:
    assert newest_due_hour(NOW, DELAY_S) == datetime(2026, 11, 29, 11, tzinfo=UTC)
    assert newest_due_hour(NOW.replace(minute=45), DELAY_S) == datetime(2026, 11, 29, 12, tzinfo=UTC)
    assert newest_due_hour(NOW, 0) == datetime(2026, 11, 29, 12, tzinfo=UTC)


def test_the_window_runs_from_since_to_the_newest_due_hour() -> None:
    newest = datetime(2026, 11, 29, 11, tzinfo=UTC)
    # A duration keeps that many due hours, the newest included.
    assert follow_window("24h", NOW, DELAY_S) == (newest - timedelta(hours=23), newest)
    assert follow_window("1h", NOW, DELAY_S) == (newest, newest)
    assert follow_window("7d", NOW, DELAY_S) == (newest - timedelta(hours=167), newest)
    # An hour keeps every hour from it; none before Wikimedia's first file; none while not yet due.
    assert follow_window("2026112900", NOW, DELAY_S) == (datetime(2026, 11, 29, tzinfo=UTC), newest)
    assert follow_window("2000010100", NOW, DELAY_S) == (FIRST_HOUR, newest)
    assert follow_window("2026112912", NOW, DELAY_S) is None


def test_hours_without_state_are_found_newest_first_and_bounded(state: StateStore) -> None:
    last = parse_hour("2026112911")
    window = hours_back("2026112911", 2000)  # four scan slices
    present = window[1:5] + window[600:1990]
    state.enqueue(present, 3)
    missing = [hour for hour in window if hour not in set(present)]
    first = parse_hour(window[-1])
    assert hours_without_state(state, first, last, limit=3000) == missing
    assert hours_without_state(state, first, last, limit=10) == missing[:10]
    state.enqueue(missing, 3)
    assert hours_without_state(state, first, last) == []


# --- the reconciler --------------------------------------------------------------------------------


def test_a_pass_creates_the_due_hours_newest_first_the_newest_interactive(
    settings: Settings, state: StateStore, queue: CeleryHourQueue
) -> None:
    reconciler = Reconciler(settings, state, queue, "follower-1")
    assert reconciler.run_once(NOW) == {"new hours followed": 4}
    newest, *catch_up = hours_back("2026112911", 4)
    assert messages_by_lane(settings) == {Lane.INTERACTIVE.value: [newest], Lane.BACKFILL.value: catch_up}
    assert {s.status for s in state.get_many([newest, *catch_up]).values()} == {TaskStatus.QUEUED}
    assert state.count() == 4
    # Nothing new: nothing created or published again; the hour due at 12:45 comes with its time.
    assert reconciler.run_once(NOW + timedelta(minutes=10)) == {}
    assert reconciler.run_once(NOW + timedelta(minutes=15)) == {"new hours followed": 1}
    assert messages_by_lane(settings)[Lane.INTERACTIVE.value] == [newest, "2026112912"]


def test_not_following_creates_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, follow=False)
    state = open_state_store(settings.resolved_state_url)
    queue = CeleryHourQueue(settings)
    try:
        assert Reconciler(settings, state, queue, "r").run_once(NOW) == {}
        assert state.count() == 0
    finally:
        queue.close()
        state.close()


def test_the_gap_of_a_downtime_is_filled(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, follow_since="2026112900")
    state = open_state_store(settings.resolved_state_url)
    queue = CeleryHourQueue(settings)
    try:
        assert Reconciler(settings, state, queue, "before").run_once(NOW) == {"new hours followed": 12}
        # No worker ran for a day and a half: the next one's first pass finds the 36 hours missed.
        later = NOW + timedelta(hours=36)
        assert Reconciler(settings, state, queue, "after").run_once(later) == {"new hours followed": 36}
        first, last = parse_hour("2026112900"), newest_due_hour(later, DELAY_S)
        assert hours_without_state(state, first, last) == []
        assert state.count() == 48
    finally:
        queue.close()
        state.close()


def test_a_since_years_back_is_created_a_bounded_batch_per_pass(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, follow_since="2020010100")
    state = open_state_store(settings.resolved_state_url)
    queue = FollowerQueue()
    try:
        reconciler = Reconciler(settings, state, queue, "r")  # type: ignore[arg-type]
        assert reconciler.run_once(NOW) == {"new hours followed": FOLLOW_HOURS_PER_PASS}
        assert [hour for hour, _ in queue.submitted] == hours_back("2026112911", FOLLOW_HOURS_PER_PASS)
        reconciler.run_once(NOW)
        assert [hour for hour, _ in queue.submitted] == hours_back("2026112911", 2 * FOLLOW_HOURS_PER_PASS)
    finally:
        state.close()


class CreatesMeanwhile:
    """A state store through which another follower's whole pass runs just before this one's enqueue."""

    def __init__(self, store: StateStore, other: Reconciler, now: datetime) -> None:
        self._store, self._other, self._now = store, other, now
        self.raced = False

    def enqueue(self, hours: list[str], max_tries: int, **kwargs: Any) -> list[str]:
        if not self.raced:
            self.raced = True
            assert self._other.run_once(self._now) == {"new hours followed": len(hours)}
        return self._store.enqueue(hours, max_tries, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_two_followers_racing_create_and_publish_each_hour_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    stores = [open_state_store(settings.resolved_state_url) for _ in range(2)]
    queues = [FollowerQueue(), FollowerQueue()]
    try:
        other = Reconciler(settings, stores[1], queues[1], "follower-2")  # type: ignore[arg-type]
        racing = CreatesMeanwhile(stores[0], other, NOW)
        first = Reconciler(settings, racing, queues[0], "follower-1")  # type: ignore[arg-type]
        # Both read the same 4 hours as missing; the other created them first, so this one publishes none.
        assert first.run_once(NOW) == {}
        assert racing.raced
        assert queues[0].submitted == []
        assert [hour for hour, _ in queues[1].submitted] == hours_back("2026112911", 4)
    finally:
        for store in stores:
            store.close()


def test_two_followers_at_once_publish_each_hour_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, follow_since="2026112300")
    followers = [(open_state_store(settings.resolved_state_url), FollowerQueue()) for _ in range(2)]
    start = threading.Barrier(2)
    counts: list[Any] = []

    def follow(store: StateStore, queue: FollowerQueue, name: str) -> None:
        start.wait()
        counts.append(Reconciler(settings, store, queue, name).run_once(NOW))  # type: ignore[arg-type]

    threads = [
        threading.Thread(target=follow, args=(store, queue, f"follower-{n}"))
        for n, (store, queue) in enumerate(followers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        published = [hour for _, queue in followers for hour, _ in queue.submitted]
        expected = hours_back("2026112911", 6 * 24 + 12)
        assert sorted(published) == sorted(expected)  # each hour once, by one follower or the other
        assert sum(count["new hours followed"] for count in counts) == len(expected)
    finally:
        for store, _ in followers:
            store.close()


def test_an_unpublished_hour_is_left_to_the_rechecks(
    settings: Settings, state: StateStore, queue: CeleryHourQueue
) -> None:
    reconciler = Reconciler(settings, state, queue, "follower-1")
    reconciler.run_once(NOW)
    newest = "2026112911"
    state.claim(newest, "w1", 60.0, 3)
    state.finish_failure(newest, "w1", TaskStatus.UNAVAILABLE, "not published (HTTP 404)")
    # Follow does not create an hour that has a state: the re-check backoff decides when it is asked again.
    assert reconciler.run_once(NOW) == {}
    found = state.get(newest)
    assert found is not None and found.status is TaskStatus.UNAVAILABLE


# --- freshness: /api/v1/status and the gauge -------------------------------------------------------


def test_status_shows_the_newest_result_its_lag_counts_and_follow(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, follow_delay_s=0.0)
    services = build_services(settings)
    try:
        client = create_app(settings, services, queue=RecordingQueue()).test_client()
        empty = client.get("/api/v1/status").get_json()
        assert empty["newest_result"] is None and empty["lag_s"] is None and empty["hours_behind"] is None
        assert empty["counts"] == dict.fromkeys([s.value for s in TaskStatus], 0)
        # No result: no sample (the family is declared, its series absent, as for wikitop_tasks).
        assert "\nwikitop_newest_result_timestamp_seconds " not in client.get("/metrics").get_data(
            as_text=True
        )

        newest = current_hour() - timedelta(hours=3)
        hour = format_hour(newest)
        services.state.enqueue([hour, format_hour(newest - timedelta(hours=1))], 3)
        services.state.claim(hour, "w1", 60.0, 3)
        services.state.finish_success(hour, "w1", "/r.csv", _provenance())
        body = client.get("/api/v1/status").get_json()
        now = datetime.now(UTC)
        assert body["newest_result"] == hour
        assert body["expected_hour"] == format_hour(current_hour(now))
        assert body["hours_behind"] == 3
        assert 3 * 3600 <= body["lag_s"] <= (now - newest).total_seconds()
        assert body["counts"]["success"] == 1 and body["counts"]["queued"] == 1
        assert body["follow"] == {
            "enabled": True,
            "since": "4h",
            "first_hour": format_hour(current_hour(now) - timedelta(hours=3)),
        }
        metrics = client.get("/metrics").get_data(as_text=True)
        (sample,) = re.findall(r"^wikitop_newest_result_timestamp_seconds (\S+)$", metrics, re.MULTILINE)
        assert float(sample) == newest.timestamp()
    finally:
        services.close()


def _provenance() -> Any:
    from wikitop.state import Provenance

    return Provenance("0" * 64, 25, 10, 2, 0, 2, 0.1)


# --- end to end: a real `wikitop worker --follow` and the fake Wikimedia ---------------------------


@pytest.mark.slow
def test_following_workers_compute_published_hours_once_and_a_late_one(tmp_path: Path) -> None:
    # Hours relative to the real current hour: the worker reads the real clock. With no delay the
    # window is the current hour and the 3 before; the oldest of them is published late.
    newest = current_hour()
    hours = [format_hour(newest - timedelta(hours=n)) for n in range(4)]
    late, published = hours[-1], hours[:-1]
    dumps = {
        hour: write_hour(tmp_path / "dumps", parse_hour(hour), replace(SPEC, lines=5_000, seed=n))
        for n, hour in enumerate(hours)
    }
    with FakeWikimedia(tmp_path / "mirror") as mirror:
        service = Service(tmp_path, mirror, "")
        service.env |= {"WIKITOP_FOLLOW_SINCE": "4h", "WIKITOP_FOLLOW_DELAY_S": "0"}
        try:
            publish(mirror, dumps, published)
            # Two workers follow at once, as two replicas do: each hour is still downloaded once.
            service.start("worker", "--concurrency", "1", "--follow")
            service.start("worker", "--concurrency", "1", "--follow")
            # Nothing asked: the worker's reconciler created and published the due hours by itself.
            service.wait_for(published, timeout_s=20)
            service.wait_for([late], TaskStatus.UNAVAILABLE, timeout_s=10)
            following = "following every hour since 4h"
            wait_until(lambda: service.worker_log_count(following) == 2, "both reconcilers", service)
            for hour in published:
                assert service.result_rows(hour) == expected_rows(dumps[hour])
                assert downloads(mirror, hour) == 1
            publish(mirror, dumps, [late])
            # Re-checked every 1-2 s (WIKITOP_UNAVAILABLE_RECHECK_S / _MAX_S in the test settings).
            service.wait_for([late], timeout_s=10)
            assert service.result_rows(late) == expected_rows(dumps[late])
            assert all(downloads(mirror, hour) == 1 for hour in published)
        finally:
            service.close()


@pytest.mark.slow
def test_serve_follow_computes_the_published_hours_and_shows_them_in_status(tmp_path: Path) -> None:
    newest = current_hour()
    hours = [format_hour(newest - timedelta(hours=n)) for n in range(2)]
    dumps = {
        hour: write_hour(tmp_path / "dumps", parse_hour(hour), replace(SPEC, lines=5_000, seed=n))
        for n, hour in enumerate(hours)
    }
    with FakeWikimedia(tmp_path / "mirror") as mirror:
        service = Service(tmp_path, mirror, "")
        service.env |= {"WIKITOP_FOLLOW_SINCE": "2h", "WIKITOP_FOLLOW_DELAY_S": "0"}
        try:
            publish(mirror, dumps, hours)
            port = free_port()
            serve = service.start(
                "serve", "--follow", "--port", str(port), "--workers", "1", "--api-workers", "1"
            )

            def status() -> dict[str, Any] | None:
                assert serve.poll() is None, f"wikitop serve exited\n{service.logs()}"
                with suppress(httpx.TransportError):
                    response = httpx.get(f"http://127.0.0.1:{port}/api/v1/status", timeout=2)
                    return response.json() if response.status_code == 200 else None
                return None

            def caught_up() -> bool:
                body = status()
                return body is not None and body["counts"]["success"] == 2

            # Nothing is asked: serve's worker follows, and the status shows it caught up.
            wait_until(caught_up, "both hours computed", service, timeout_s=25)
            body = status()
            assert body is not None
            assert body["newest_result"] == hours[0]
            assert "following every hour since 2h" in service.logs()
            assert body["follow"] == {
                "enabled": True,
                "since": "2h",
                "first_hour": body["follow"]["first_hour"],
            }
            assert body["follow"]["first_hour"] in hours  # the hour may have turned since the test began
            assert body["lag_s"] >= 0 and body["hours_behind"] in (0, 1)
            for hour in hours:
                assert service.result_rows(hour) == expected_rows(dumps[hour])
                assert downloads(mirror, hour) == 1
        finally:
            service.close()
