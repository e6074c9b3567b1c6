"""Real `wikitop worker` processes for end-to-end and fault tests: their settings, logs and queue.

Every process runs in its own session and is SIGKILLed with its children at `Service.close()`.
Settings are shortened through the environment (a reconciler pass every second, leases of 3 s
where a worker is killed) so that recovery from killed workers and lost messages shows within seconds.
"""

from __future__ import annotations

import csv
import gzip
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from support.dumpgen import DumpSpec
from support.reference import Row, reference_rank
from support.requirements import server_unavailable
from support.server import FakeWikimedia
from wikitop.hours import dump_path, parse_hour
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.settings import load_settings
from wikitop.state import StateStore, TaskState, TaskStatus, open_state_store

REDIS_URL = os.environ.get("WIKITOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
HOURS = [f"20200101{hour:02d}" for hour in range(10, 14)]
SPEC = DumpSpec(lines=20_000, domains=40)
BLACKLIST = b"en Main_Page\nde Main_Page\n"
SERVER_TAIL_S = 0.05
# Shortened so that lost messages and unpublished dumps are dealt with within seconds. The lease
# stays long enough for heartbeats on a loaded machine; the test of a killed worker shortens it.
FAST_ENV = {
    "WIKITOP_LEASE_S": "15",
    "WIKITOP_RECONCILE_INTERVAL_S": "1",
    "WIKITOP_STALE_QUEUED_S": "3",
    "WIKITOP_RETRY_BACKOFF_S": "0.5",
    "WIKITOP_UNAVAILABLE_RECHECK_S": "1",
    "WIKITOP_UNAVAILABLE_RECHECK_MAX_S": "2",
    "WIKITOP_HTTP_BACKOFF_S": "0.1",
    "WIKITOP_HTTP_TIMEOUT_S": "10",
}


def relpath(hour: str) -> str:
    """The path of an hour's dump under the fake Wikimedia's base URL."""
    return dump_path(parse_hour(hour))


def downloads(mirror: FakeWikimedia, hour: str) -> int:
    """How many times the hour's dump was requested."""
    return len(mirror.requests_for(relpath(hour)))


def mid_download(mirror: FakeWikimedia, hour: str) -> bool:
    """Tell whether part, not all, of the hour's dump has been sent on its latest request."""
    requests = mirror.requests_for(relpath(hour))
    return bool(requests) and requests[-1].body_bytes > 0 and requests[-1].finished_at is None


def peak_downloads(mirror: FakeWikimedia) -> int:
    """The most requests in progress at once, as the clients saw them.

    A request ends SERVER_TAIL_S before the server recorded its end: the handler thread notes the
    end a moment after the client has the last byte and may already have started its next download.
    """
    events = []
    for request in mirror.requests:
        assert request.finished_at is not None
        end = max(request.started_at, request.finished_at - SERVER_TAIL_S)
        events += [(request.started_at, 1), (end, -1)]
    peak = current = 0
    for _, change in sorted(events):
        current += change
        peak = max(peak, current)
    return peak


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def alive(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> set[int]:
    """Return the pids of every live descendant of `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def redis_client(url: str = REDIS_URL) -> Any:
    """Return a client of the test Redis database, flushed; skip (fail in CI) if Redis is not there."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        server_unavailable("Redis", url, str(exc))
    client.flushdb()
    return client


class Service:
    """A data dir, the settings environment and the wikitop processes started on it."""

    def __init__(self, root: Path, mirror: FakeWikimedia, broker_url: str) -> None:
        self.root = root
        self.mirror = mirror
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
        self.env |= FAST_ENV | {
            "WIKITOP_DATA_DIR": str(root / "data"),
            "WIKITOP_DUMPS_URL": mirror.url,
            "WIKITOP_BLACKLIST_URL": str(root / "blacklist.txt"),
            "WIKITOP_BROKER_URL": broker_url,
        }
        (root / "blacklist.txt").write_bytes(BLACKLIST)
        self.settings = load_settings(
            **{
                name.removeprefix("WIKITOP_").lower(): value
                for name, value in self.env.items()
                if name.startswith("WIKITOP_")
            }
        )
        self.state: StateStore = open_state_store(self.settings.resolved_state_url)
        self.queue = CeleryHourQueue(self.settings)
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[BinaryIO] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start `wikitop ARGS` in its own session, its output in a log file under the root."""
        log = (self.root / f"{args[0]}-{len(self.processes)}.log").open("wb")
        self._logs.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "wikitop", *args],
            env=self.env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def worker(self, concurrency: int = 1) -> subprocess.Popen[bytes]:
        """Start `wikitop worker`."""
        return self.start("worker", "--concurrency", str(concurrency))

    def ready(self, process: subprocess.Popen[bytes]) -> bool:
        """Tell whether a worker says it is ready (its processes started, consuming)."""
        log = self.root / f"worker-{self.processes.index(process)}.log"
        return b" ready." in log.read_bytes()

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a process and all its children, as when its machine dies."""
        doomed = descendants(process.pid)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in doomed:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)

    def close(self) -> None:
        """Kill every process still running (teardown)."""
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
        for log in self._logs:
            log.close()
        self.queue.close()
        self.state.close()

    def ask(self, hours: Iterable[str], force: bool = False) -> list[str]:
        """Do what the API does for a request: record the hours, publish those that need work."""
        hours = list(hours)
        needing_work = self.state.enqueue(hours, self.settings.max_tries)
        for hour in hours if force else needing_work:
            self.queue.submit(hour, force=force)
        return needing_work

    def wait_for(
        self, hours: Iterable[str], status: TaskStatus = TaskStatus.SUCCESS, timeout_s: float = 60
    ) -> dict[str, TaskState]:
        """Wait until every hour has `status`; fail with the states and the logs after `timeout_s`."""
        hours = list(hours)
        deadline = time.monotonic() + timeout_s
        while True:
            states = self.state.get_many(hours)
            if all(hour in states and states[hour].status is status for hour in hours):
                return states
            if time.monotonic() > deadline:
                pytest.fail(f"not all {status.value} after {timeout_s} s: {states}\n{self.logs()}")
            time.sleep(0.2)

    def logs(self) -> str:
        """The tail of every process's log, for failure messages."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.root.glob("*.log"))
        )

    def worker_log_count(self, text: str) -> int:
        """How many times `text` occurs in the logs of every worker so far."""
        return sum(log.read_text(errors="replace").count(text) for log in self.root.glob("worker-*.log"))

    def result_rows(self, hour: str) -> list[Row]:
        """Read the hour's result CSV as (domain, rank, title, views) rows."""
        path = Path(self.settings.resolved_results_url) / parse_hour(hour).strftime(
            "%Y/%Y-%m/top-%Y%m%d-%H.csv"
        )
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            assert next(reader) == ["domain_code", "rank", "page_title", "views"]
            return [(domain, int(rank), title, int(views)) for domain, rank, title, views in reader]

    def partial_files(self) -> list[Path]:
        """Files of unfinished results in the results directory."""
        return [
            path
            for path in Path(self.settings.resolved_results_url).rglob("*")
            if path.name.endswith(".part")
        ]


def expected_rows(dump: Path) -> list[Row]:
    """The result the reference implementation gives for a dump, with the test blacklist and N=25."""
    rows, _, _ = reference_rank(gzip.decompress(dump.read_bytes()), BLACKLIST, 25)
    return rows


def publish(mirror: FakeWikimedia, dumps: dict[str, Path], hours: Iterable[str]) -> None:
    """Put the dumps of `hours` on the fake Wikimedia."""
    for hour in hours:
        write_to = mirror.root_dir / relpath(hour)
        write_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dumps[hour], write_to)


def wait_until(condition: Any, what: str, service: Service, timeout_s: float = 30) -> None:
    """Poll `condition()` until true; fail naming `what` (with the logs) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{service.logs()}")
        time.sleep(0.05)


def drop_waiting_messages(service: Service) -> None:
    """Lose every message waiting in the broker, as a broker restart without persistence does."""
    if service.settings.broker_url:
        redis_client(service.settings.broker_url)  # flushes
    else:
        with sqlite3.connect(service.settings.data_dir / "queue.sqlite3") as connection:
            connection.execute("DELETE FROM kombu_message")
    assert service.queue.depth() == 0
