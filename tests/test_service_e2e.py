"""The service end to end: real `wikitop worker` and `wikitop serve` processes, a real HTTP server
playing Wikimedia, the embedded SQLite queue and a real Redis.

Every process runs in its own session and is SIGKILLed with its children at teardown. Settings
are shortened through the environment (a reconciler pass every second, leases of 3 s where a
worker is killed) so that recovery from killed workers and lost messages shows within seconds.
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
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest

from support.dumpgen import DumpSpec, write_hour
from support.reference import Row, reference_rank
from support.requirements import server_unavailable
from support.server import FakeWikimedia, Fault
from wikitop.hours import current_hour, dump_path, format_hour, parse_hour
from wikitop.queue.app import QUEUE_NAME
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.settings import load_settings
from wikitop.state import StateStore, TaskState, TaskStatus, open_state_store

pytestmark = [
    pytest.mark.slow,
    # kombu's SQL transport uses an SQLAlchemy loader option that SQLAlchemy 2.1 deprecates.
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

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


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Every test here builds its settings from a clean environment (conftest's clean_environment)."""


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated dumps of HOURS, written once for the module."""
    root = tmp_path_factory.mktemp("dumps")
    return {hour: write_hour(root, parse_hour(hour), replace(SPEC, seed=i)) for i, hour in enumerate(HOURS)}


@pytest.fixture(scope="module")
def expected(dumps: dict[str, Path]) -> dict[str, list[Row]]:
    return {hour: expected_rows(path) for hour, path in dumps.items()}


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    with FakeWikimedia(tmp_path / "mirror") as server:
        yield server


def publish(mirror: FakeWikimedia, dumps: dict[str, Path], hours: Iterable[str]) -> None:
    """Put the dumps of `hours` on the fake Wikimedia."""
    for hour in hours:
        write_to = mirror.root_dir / relpath(hour)
        write_to.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dumps[hour], write_to)


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest) -> str:
    """The broker of a test: "" (the embedded SQLite queue) or the test Redis database."""
    if request.param == "redis":
        redis_client()
        return REDIS_URL
    return ""


@pytest.fixture
def service(tmp_path: Path, mirror: FakeWikimedia, broker_url: str) -> Iterator[Service]:
    running = Service(tmp_path, mirror, broker_url)
    yield running
    running.close()


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


def test_workers_compute_each_hour_once_within_the_download_cap(
    service: Service, dumps: dict[str, Path], expected: dict[str, list[Row]]
) -> None:
    publish(service.mirror, dumps, HOURS)
    # Each download waits two seconds for its headers: the four processes of the two workers all want
    # one at once. (A stall, not the server's throttle: a throttled request stays counted in flight
    # for its pacing sleep after the last byte, which can push two clean downloads over the
    # server's 3-connection limit.)
    for hour in HOURS:
        service.mirror.set_fault(relpath(hour), Fault.slow(stall_s=2.0, before_headers=True, times=1))
    workers = [service.worker(concurrency=2), service.worker(concurrency=2)]
    wait_until(lambda: all(map(service.ready, workers)), "the workers to be ready", service, timeout_s=60)
    assert service.ask(HOURS) == HOURS
    for hour in HOURS * 2:
        service.queue.submit(hour)  # duplicates, as a reconciler may publish them
    states = service.wait_for(HOURS)
    for hour in HOURS:
        assert service.result_rows(hour) == expected[hour]
        assert states[hour].try_count == 1
        answers = [request.status for request in service.mirror.requests_for(relpath(hour))]
        assert answers == [200], f"{hour} requested {len(answers)} times, answered {answers}"
    # Four processes wanted a download at once; the cap let two through (beyond three the fake
    # Wikimedia answers 503, as the real one does).
    timeline = [(r.path[-20:], r.status, r.started_at, r.finished_at) for r in service.mirror.requests]
    assert peak_downloads(service.mirror) == service.settings.download_concurrency, timeline
    assert {request.status for request in service.mirror.requests} == {200}

    # Asking again publishes nothing; a stray message finds the fresh result and downloads nothing.
    assert service.ask(HOURS) == []
    cached = f"hour {HOURS[0]} cached"
    cached_before = service.worker_log_count(cached)
    service.queue.submit(HOURS[0])
    # Its task logs the outcome once done: no sleeping on the chance that it is.
    wait_until(lambda: service.worker_log_count(cached) > cached_before, "the stray message's task", service)
    assert [downloads(service.mirror, hour) for hour in HOURS] == [1] * len(HOURS)
    # One line per hour, the hour's own: not Celery's "Task ... succeeded: 'cached'" beside it.
    assert service.worker_log_count("succeeded in") == 0


def test_hour_of_a_killed_worker_is_computed_by_another(
    service: Service, dumps: dict[str, Path], expected: dict[str, list[Row]]
) -> None:
    hour = HOURS[0]
    publish(service.mirror, dumps, [hour])
    # The first download stalls halfway (until the server stops): the worker is killed mid-download.
    service.mirror.set_fault(relpath(hour), Fault.slow(stall_s=120, times=1))
    service.env["WIKITOP_LEASE_S"] = "3"  # the hour of a dead worker is free 3 s after its last heartbeat
    workers = [service.worker(), service.worker()]
    service.ask([hour])
    wait_until(lambda: mid_download(service.mirror, hour), "the download to be half done", service)
    held = service.state.get(hour)
    assert held is not None and held.status is TaskStatus.RUNNING and held.worker is not None
    holder_pid = int(held.worker.rsplit(":", 1)[1])
    [doomed] = [worker for worker in workers if holder_pid in descendants(worker.pid)]
    service.kill(doomed)
    killed_at = time.monotonic()
    states = service.wait_for([hour], timeout_s=120)
    # Lease 3 s, a reconciler pass every second: seconds, but slack for a loaded machine.
    assert time.monotonic() - killed_at < 60
    assert service.result_rows(hour) == expected[hour]
    assert downloads(service.mirror, hour) == 2  # the killed download, then one whole one
    assert states[hour].try_count == 2
    assert states[hour].worker != held.worker
    assert service.partial_files() == []


def test_messages_lost_by_the_broker_are_published_again(
    service: Service, dumps: dict[str, Path], expected: dict[str, list[Row]]
) -> None:
    publish(service.mirror, dumps, HOURS[:2])
    service.ask(HOURS[:2])
    drop_waiting_messages(service)
    service.worker()
    service.wait_for(HOURS[:2], timeout_s=30)
    for hour in HOURS[:2]:
        assert service.result_rows(hour) == expected[hour]
        assert downloads(service.mirror, hour) == 1


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A redis-server of this test's own on a free port, without persistence; yield (url, restart)."""
    binary = shutil.which("redis-server")
    if binary is None:
        server_unavailable("redis-server", "PATH", "not installed (apt install redis-server)")
    assert binary is not None
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=tmp_path))
        url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while True:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
            assert time.monotonic() < deadline, f"redis-server did not listen on {url}"
            time.sleep(0.05)

    def restart() -> None:
        processes[-1].kill()
        processes[-1].wait(10)
        start()

    start()
    yield f"redis://127.0.0.1:{port}/0", restart
    for process in processes:
        process.kill()
        process.wait(10)


@pytest.mark.redis
def test_redis_restart_loses_no_hour(
    tmp_path: Path,
    mirror: FakeWikimedia,
    private_redis: tuple[str, Any],
    dumps: dict[str, Path],
    expected: dict[str, list[Row]],
) -> None:
    url, restart_redis = private_redis
    service = Service(tmp_path, mirror, url)
    try:
        publish(mirror, dumps, HOURS[:3])
        mirror.set_fault(relpath(HOURS[0]), Fault.slow(stall_s=3, times=1))
        service.worker(concurrency=1)
        service.ask(HOURS[:3])
        wait_until(lambda: mid_download(mirror, HOURS[0]), "the first download to be half done", service)
        restart_redis()  # the two hours waiting in Redis are gone
        assert redis_client(url).llen(QUEUE_NAME) == 0
        service.wait_for(HOURS[:3], timeout_s=60)
        for hour in HOURS[:3]:
            assert service.result_rows(hour) == expected[hour]
            assert downloads(mirror, hour) == 1
    finally:
        service.close()


def prototype_call(base: str, path: str, body: str) -> tuple[int, dict[str, Any]]:
    """Send the prototype README's curl call (GET with a JSON body); curl if installed, else httpx."""
    headers = {"Content-Type": "application/json", "cache-control": "no-cache"}
    if shutil.which("curl"):
        command = ["curl", "-sS", "-w", "\n%{http_code}", "-X", "GET", f"{base}{path}"]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        output = subprocess.run(
            [*command, "-d", body], check=True, capture_output=True, text=True, timeout=30
        )
        text, _, code = output.stdout.rpartition("\n")
        return int(code), httpx.Response(200, content=text).json()
    response = httpx.request("GET", f"{base}{path}", content=body, headers=headers, timeout=30)
    return response.status_code, response.json()


def test_serve_runs_the_whole_service_over_http(
    tmp_path: Path, mirror: FakeWikimedia, dumps: dict[str, Path], expected: dict[str, list[Row]]
) -> None:
    service = Service(tmp_path, mirror, "")  # one machine, no other server: the embedded queue
    try:
        check_serve(service, dumps, expected)
    finally:
        service.close()


def check_serve(service: Service, dumps: dict[str, Path], expected: dict[str, list[Row]]) -> None:
    """Ask for hours over HTTP with the prototype's calls, watch them succeed, then stop serve."""
    first, second = HOURS[:2]
    publish(service.mirror, dumps, [first, second])
    recent = format_hour(current_hour() - timedelta(hours=2))  # not published yet
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = service.start("serve", "--port", str(port), "--workers", "2", "--api-workers", "1")

    def answers() -> bool:
        assert serve.poll() is None, f"wikitop serve exited\n{service.logs()}"
        with suppress(httpx.TransportError):
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        return False

    wait_until(answers, "the API to answer", service)
    assert f"API on {base}" in service.logs()

    code, body = prototype_call(
        base, "/ask_page_views", f'{{\n\t"start_date": "{first}",\n\t"end_date": "{second}"\n}}'
    )
    assert code == 202 and [task["date"] for task in body["tasks"]] == [first, second]
    assert prototype_call(base, "/ask_page_views", f'{{"start_date": "{recent}"}}')[0] == 202

    def status_of(hour: str) -> dict[str, Any]:
        code, body = prototype_call(base, "/get_task_state", f'{{\n\t"date": "{hour}"\n}}')
        assert code == 200
        return body

    wait_until(lambda: status_of(second)["status"] == "success", "the hours to succeed", service)
    wait_until(lambda: status_of(first)["status"] == "success", "the hours to succeed", service)
    assert status_of(first)["data_path"].endswith("top-20200101-10.csv")
    for hour in (first, second):
        assert service.result_rows(hour) == expected[hour]
    wait_until(lambda: status_of(recent)["status"] == "unavailable", "the missing dump to be seen", service)

    # Asking again downloads nothing.
    code, body = prototype_call(
        base, "/ask_page_views", f'{{"start_date": "{first}", "end_date": "{second}"}}'
    )
    assert code == 202 and {task["status"] for task in body["tasks"]} == {"success"}

    # Wikimedia publishes the hour: a re-check downloads it, slowly; SIGTERM lets that hour finish.
    service.mirror.set_fault(relpath(recent), Fault.slow(stall_s=3, times=1))
    write_hour(service.mirror.root_dir, parse_hour(recent), SPEC)
    wait_until(lambda: mid_download(service.mirror, recent), "the re-check to be downloading", service)
    family = descendants(serve.pid)
    assert len(family) >= 4  # gunicorn master and worker, Celery worker and its processes
    serve.send_signal(signal.SIGTERM)
    assert serve.wait(60) == 0, service.logs()
    state = service.state.get(recent)
    assert state is not None and state.status is TaskStatus.SUCCESS, service.logs()
    assert downloads(service.mirror, first) == downloads(service.mirror, second) == 1
    checks = [request.status for request in service.mirror.requests_for(relpath(recent))]
    assert set(checks[:-1]) == {404} and checks[-1] == 200  # not published yet, then downloaded once
    # multiprocessing's resource tracker leaves once it sees its parent gone: give it a moment.
    wait_until(lambda: not any(alive(pid) for pid in family), "every process of serve to end", service, 10)


# The supervisor of `wikitop serve` on its own, with trivial children (time.sleep, sys.exit).
SUPERVISE = """
import logging, sys, time
from wikitop import supervisor
logging.basicConfig(level=logging.INFO, format="%(message)s")
supervisor.MIN_UPTIME_S = float(sys.argv[2])
target, arg = (time.sleep, 60.0) if sys.argv[1] == "sleep" else (sys.exit, 3)
sys.exit(supervisor.Supervisor([supervisor.ChildSpec("child", target, (arg,))], 5.0).run())
"""


def started_pids(log: Path) -> list[int]:
    """The pids the supervisor logged as started, in order."""
    return [
        int(line.rsplit("pid ", 1)[1].rstrip(")")) for line in log.read_text().splitlines() if "(pid " in line
    ]


def test_supervisor_restarts_a_dead_child_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, "sleep", "0.5"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not started_pids(log):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        [first] = started_pids(log)
        time.sleep(0.6)  # past MIN_UPTIME_S: a crash, not a broken child
        os.kill(first, signal.SIGKILL)
        while len(started_pids(log)) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        second = started_pids(log)[1]
        assert "child exited with code -9: starting it again" in log.read_text()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0, log.read_text()
        assert not alive(second)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait(10)


def test_supervisor_stops_when_a_child_fails_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUPERVISE, "exit", "10"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "child exited with code 3" in result.stderr and "after starting: stopping" in result.stderr
