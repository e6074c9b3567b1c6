"""The service end to end: real `wikitop worker` and `wikitop serve` processes, a real HTTP server
playing Wikimedia, the embedded SQLite queue and a real Redis.

Every process runs in its own session and is SIGKILLed with its children at teardown. Settings
are shortened through the environment (a reconciler pass every second, leases of 3 s where a
worker is killed) so that recovery from killed workers and lost messages shows within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.dumpgen import write_hour
from support.reference import Row
from support.requirements import server_unavailable
from support.server import FakeWikimedia, Fault
from support.service import (
    HOURS,
    REDIS_URL,
    SPEC,
    Service,
    alive,
    descendants,
    downloads,
    drop_waiting_messages,
    expected_rows,
    free_port,
    mid_download,
    peak_downloads,
    publish,
    redis_client,
    relpath,
    wait_until,
)
from wikitop.hours import current_hour, format_hour, parse_hour
from wikitop.queue.app import QUEUE_NAME
from wikitop.state import TaskStatus

pytestmark = pytest.mark.slow


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
import logging, os, sys, time
from wikitop import supervisor
logging.basicConfig(level=logging.INFO, format="%(message)s")
supervisor.MIN_UPTIME_S = float(sys.argv[2])
# A child that takes SLOW_STOP_S to stop cleanly, as a worker finishing its hour does.
slow = ("sh", ["sh", "-c", "trap 'sleep 4; exit 0' TERM; while :; do sleep 0.1; done"])
target, args = {"sleep": (time.sleep, (60.0,)), "exit": (sys.exit, (3,)), "slow": (os.execvp, slow)}[sys.argv[1]]
sys.exit(supervisor.Supervisor([supervisor.ChildSpec("child", target, args)], 30.0).run())
"""


def started_pids(log: Path) -> list[int]:
    """The pids the supervisor logged as started, in order."""
    return [
        int(line.rsplit("pid ", 1)[1].rstrip(")")) for line in log.read_text().splitlines() if "(pid " in line
    ]


@contextmanager
def supervising(log: Path, child: str) -> Iterator[subprocess.Popen[bytes]]:
    """The SUPERVISE script with `child`, once it has started its child; killed with its group after."""
    with log.open("wb") as out:
        supervisor = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, child, "0.5"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not started_pids(log):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield supervisor
    finally:
        with suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait(10)


def test_supervisor_restarts_a_dead_child_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "supervisor.log"
    with supervising(log, "sleep") as supervisor:
        [first] = started_pids(log)
        time.sleep(0.6)  # past MIN_UPTIME_S: a crash, not a broken child
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(started_pids(log)) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        second = started_pids(log)[1]
        assert "child exited with code -9: starting it again" in log.read_text()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0, log.read_text()
        assert not alive(second)


def test_a_stop_signal_delivered_twice_at_once_still_stops_cleanly_and_a_later_one_kills(
    tmp_path: Path,
) -> None:
    # `make run` stopped by SIGTERM to its process group: the supervisor gets it, then make passes
    # it on; that is one request to stop cleanly. A second one a while later means "now".
    for gap_s, clean in ((0.05, True), (1.5, False)):
        log = tmp_path / f"supervisor-{gap_s}.log"
        with supervising(log, "slow") as supervisor:
            time.sleep(0.5)  # the child's shell has set its trap
            asked = time.monotonic()
            supervisor.send_signal(signal.SIGTERM)
            time.sleep(gap_s)
            supervisor.send_signal(signal.SIGTERM)
            assert supervisor.wait(30) == 0, log.read_text()
            took_s = time.monotonic() - asked
            killed = "killing child (shutdown timeout or second signal)" in log.read_text()
            assert killed is not clean, log.read_text()
            # The child needs 4 s to stop: a clean stop waited for it, a kill did not.
            assert (took_s >= 3.9) is clean, (took_s, log.read_text())


def test_supervisor_stops_when_a_child_fails_at_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUPERVISE, "exit", "10"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "child exited with code 3" in result.stderr and "after starting: stopping" in result.stderr
