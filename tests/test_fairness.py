"""Fairness of the queue: a small ask is computed soon, not after a large backfill asked before it.

A real `wikitop worker` with one process, the embedded SQLite queue and a real Redis, and a fake
Wikimedia that sends each dump slowly enough for a backfill to take seconds. The asks go through
the API's HourRequests, so the lane rule under test is the one the service uses.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec, write_dump
from support.server import FakeWikimedia
from support.service import REDIS_URL, Service, redis_client, relpath, wait_until
from wikitop.hours import format_hour, parse_hour
from wikitop.services import build_services
from wikitop.state import TaskStatus
from wikitop.web.hour_requests import HourRequests

pytestmark = pytest.mark.slow

BACKFILL_HOURS = 40  # above WIKITOP_SMALL_ASK_HOURS (24 by default)
BACKFILL_START = parse_hour("2020010100")
SMALL_HOUR = format_hour(BACKFILL_START + timedelta(days=3))
# Each download takes about this long, so that the backfill lasts several seconds.
DOWNLOAD_S = 0.2
# How many backfill hours a small ask may wait for with one worker process: the one running when it
# was asked, and one more as the lanes take turns, with one to spare for a poll that was under way.
MOST_HOURS_WAITED_FOR = 3


def backfill_hours() -> list[str]:
    return [format_hour(BACKFILL_START + timedelta(hours=n)) for n in range(BACKFILL_HOURS)]


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Settings come from a clean environment (conftest's clean_environment)."""


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    """A fake Wikimedia with every hour's dump, sent at a rate that makes a download last DOWNLOAD_S."""
    dump = write_dump(tmp_path / "dump.gz", DumpSpec(lines=3_000, domains=20))
    with FakeWikimedia(tmp_path / "mirror") as server:
        for hour in [*backfill_hours(), SMALL_HOUR]:
            target = server.root_dir / relpath(hour)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dump, target)
        server.throttle_bytes_per_s = dump.stat().st_size / DOWNLOAD_S
        yield server


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def service(request: pytest.FixtureRequest, tmp_path: Path, mirror: FakeWikimedia) -> Iterator[Service]:
    """The service's settings and processes on the embedded queue or the test Redis database."""
    if request.param == "redis":
        redis_client()  # flushed, or skipped when Redis is not there
    running = Service(tmp_path, mirror, REDIS_URL if request.param == "redis" else "")
    yield running
    running.close()


def test_a_small_ask_is_not_starved_by_a_large_backfill(service: Service) -> None:
    services = build_services(service.settings)
    api = HourRequests(service.settings, services.state, services.results, service.queue)
    try:
        worker = service.worker(concurrency=1)
        wait_until(lambda: service.ready(worker), "the worker to be ready", service)
        backfill = backfill_hours()
        api.ask(backfill[0], backfill[-1])
        wait_until(
            lambda: service.state.count(TaskStatus.SUCCESS) >= 2, "the backfill to be under way", service
        )
        done_when_asked = service.state.count(TaskStatus.SUCCESS)
        api.ask(SMALL_HOUR, None)
        states = service.wait_for([*backfill, SMALL_HOUR], timeout_s=120)
    finally:
        services.close()

    small_done = states[SMALL_HOUR].finished_at
    assert small_done is not None
    done_before_small = sum(
        1 for hour in backfill if (finished := states[hour].finished_at) and finished < small_done
    )
    # The test means something only if most of the backfill was still waiting when the small ask came.
    assert done_when_asked <= BACKFILL_HOURS // 2
    waited_for = done_before_small - done_when_asked
    assert waited_for <= MOST_HOURS_WAITED_FOR, (
        f"the small ask waited for {waited_for} backfill hours "
        f"({BACKFILL_HOURS - done_when_asked} were waiting when it was asked)\n{service.logs()}"
    )
