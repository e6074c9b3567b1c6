"""The fault suite (marker `faults`, run in CI): the service's dependencies fail mid-range.

A real `wikitop worker` computes a range from a fake Wikimedia that counts requests, while the
PostgreSQL of the task state or the Redis of the queue is stopped and started again (servers of
the test's own, tests/support/servers.py). After each fault every hour must be `success`, its
result byte-identical to a clean run's, and no dump downloaded twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec, write_hour
from support.server import FakeWikimedia, Fault
from support.servers import PrivatePostgres, PrivateRedis
from wikitop.hours import dump_path, parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.services import build_services
from wikitop.settings import Settings, load_settings
from wikitop.state import TaskStatus, open_state_store

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
]
HOURS = [f"20200101{hour:02d}" for hour in range(10, 14)]
SPEC = DumpSpec(lines=20_000, domains=40)
# A lease of 8 s: a worker tries to record an attempt's end for 4 s, then keeps the result pending
# and retries the task later. The outage (8 s) outlasts that, so the run goes through the pending
# record and through tasks that meet the outage; the stalled downloads end before any lease can
# lapse, so whoever records an hour does it from the file, never by downloading it again.
ENV = {
    "WIKITOP_LEASE_S": "8",
    "WIKITOP_RECONCILE_INTERVAL_S": "1",
    "WIKITOP_STALE_QUEUED_S": "3",
    "WIKITOP_RETRY_BACKOFF_S": "0.5",
    "WIKITOP_HTTP_BACKOFF_S": "0.1",
    "WIKITOP_WORKER_METRICS_PORT": "0",
    "WIKITOP_LOG_FORMAT": "text",
}
OUTAGE_S = 8.0
BLACKLIST = b"en Main_Page\nde Main_Page\n"


def relpath(hour: str) -> str:
    return dump_path(parse_hour(hour))


@dataclass(frozen=True)
class CleanRun:
    """The dumps of HOURS and each hour's result file from a clean in-process run on them."""

    dumps_dir: Path
    results: dict[str, bytes]


@pytest.fixture(scope="module")
def clean() -> Iterator[CleanRun]:
    with tempfile.TemporaryDirectory(prefix="wikitop-faults-") as temp:
        root = Path(temp)
        for index, hour in enumerate(HOURS):
            write_hour(root / "mirror", parse_hour(hour), replace(SPEC, seed=index))
        (root / "blacklist.txt").write_bytes(BLACKLIST)
        settings = Settings(
            data_dir=root / "data", dumps_url=str(root / "mirror"), blacklist_url=str(root / "blacklist.txt")
        )
        services = build_services(settings)
        try:
            for hour in HOURS:
                assert process_hour(parse_hour(hour), services).outcome is Outcome.COMPUTED
            results = {hour: services.results.read(parse_hour(hour)) for hour in HOURS}
        finally:
            services.close()
        yield CleanRun(root / "mirror", results)


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    with FakeWikimedia(tmp_path / "mirror") as server:
        yield server


class FaultyService:
    """A worker process on a state store and a broker that the test may stop, and what it did."""

    def __init__(self, root: Path, mirror: FakeWikimedia, dumps_dir: Path, **urls: str) -> None:
        self.root, self.mirror = root, mirror
        (root / "blacklist.txt").write_bytes(BLACKLIST)
        for hour in HOURS:
            target = mirror.root_dir / relpath(hour)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((dumps_dir / relpath(hour)).read_bytes())
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
        self.env |= ENV | {
            "WIKITOP_DATA_DIR": str(root / "data"),
            "WIKITOP_DUMPS_URL": mirror.url,
            "WIKITOP_BLACKLIST_URL": str(root / "blacklist.txt"),
        }
        self.env |= {f"WIKITOP_{name.upper()}": url for name, url in urls.items()}
        fields = {name.removeprefix("WIKITOP_").lower(): value for name, value in self.env.items()}
        self.settings = load_settings(**{k: v for k, v in fields.items() if k in Settings.model_fields})
        self.log = root / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wikitop", "worker", "--concurrency", "2"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until(lambda: " ready." in self.log.read_text(errors="replace"), "the worker to be ready")

    def ask(self) -> None:
        """Record HOURS and publish them, as the API does."""
        state = open_state_store(self.settings.resolved_state_url)
        queue = CeleryHourQueue(self.settings)
        try:
            for hour in state.enqueue(HOURS, self.settings.max_tries):
                queue.submit(hour)
        finally:
            queue.close()
            state.close()

    def wait_until(self, condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}\n{self.log.read_text(errors='replace')[-5000:]}")
            time.sleep(0.1)

    def mid_download(self) -> bool:
        """Tell whether some dump is half sent right now."""
        return any(request.body_bytes > 0 and request.finished_at is None for request in self.mirror.requests)

    def all_success(self) -> bool:
        try:
            state = open_state_store(self.settings.resolved_state_url)
        except Exception:
            return False
        try:
            states = state.get_many(HOURS)
        finally:
            state.close()
        return all(hour in states and states[hour].status is TaskStatus.SUCCESS for hour in HOURS)

    def check(self, clean_results: dict[str, bytes]) -> None:
        """Every hour success, byte-identical to the clean run, each dump downloaded once."""
        self.wait_until(self.all_success, "every hour to be success", timeout_s=120)
        for hour in HOURS:
            result = Path(self.settings.resolved_results_url) / parse_hour(hour).strftime(
                "%Y/%Y-%m/top-%Y%m%d-%H.csv"
            )
            assert result.read_bytes() == clean_results[hour], hour
            assert len(self.mirror.requests_for(relpath(hour))) == 1, (hour, self.log.read_text()[-5000:])
        assert "Traceback" not in self.log.read_text(errors="replace")

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(10)


def test_postgres_stopped_and_started_mid_range(
    tmp_path: Path, mirror: FakeWikimedia, clean: CleanRun
) -> None:
    with PrivatePostgres() as postgres:
        service = FaultyService(tmp_path, mirror, clean.dumps_dir, state_url=postgres.url)
        try:
            # The first two downloads stall half-way: the database goes down while they run.
            for hour in HOURS[:2]:
                mirror.set_fault(relpath(hour), Fault.slow(stall_s=3, times=1))
            service.start_worker()
            service.ask()
            service.wait_until(service.mid_download, "a download to be half done")
            postgres.stop()
            time.sleep(OUTAGE_S)  # the outage: workers finish downloads and meet the store down
            postgres.start()
            service.check(clean.results)
        finally:
            service.close()


def test_redis_stopped_and_started_mid_range(tmp_path: Path, mirror: FakeWikimedia, clean: CleanRun) -> None:
    with PrivateRedis(tmp_path / "redis") as redis:
        service = FaultyService(tmp_path, mirror, clean.dumps_dir, broker_url=redis.url)
        try:
            for hour in HOURS[:2]:
                mirror.set_fault(relpath(hour), Fault.slow(stall_s=3, times=1))
            service.start_worker()
            service.ask()
            service.wait_until(service.mid_download, "a download to be half done")
            redis.stop()  # the waiting messages are lost: Redis keeps nothing on disk here
            time.sleep(OUTAGE_S)
            redis.start()
            service.check(clean.results)
        finally:
            service.close()
