"""`wikitop serve` under a worker killed in a loop (as the out-of-memory killer does): the API keeps
answering, /readyz says no worker runs while it is down, the worker comes back after growing
delays, and an hour asked for is computed in the end. Real processes, SIGKILLed for real."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from support.dumpgen import write_hour
from support.server import FakeWikimedia
from support.service import HOURS, SPEC, Service, expected_rows, free_port, wait_until
from wikitop import supervisor
from wikitop.hours import parse_hour

pytestmark = pytest.mark.slow

KILLS = 5
STARTED = re.compile(r"started wikitop-worker \(pid (\d+)\)")
RESTART = re.compile(r"wikitop-worker exited with code -9: starting it again in ([\d.]+) s")


class ServeService(Service):
    """Service, with the whole log of serve (Service.logs keeps only tails)."""

    def logs_of(self, command: str) -> str:
        return "\n".join(
            log.read_text(errors="replace") for log in sorted(self.root.glob(f"{command}-*.log"))
        )


def worker_pids(service: ServeService) -> list[int]:
    """The pids of the worker children that serve started, in order."""
    return [int(pid) for pid in STARTED.findall(service.logs_of("serve"))]


def announced_delays(service: ServeService) -> list[float]:
    """The restart delays serve announced, in order."""
    return [float(delay) for delay in RESTART.findall(service.logs_of("serve"))]


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Settings from a clean environment (conftest's clean_environment)."""


def test_serve_keeps_the_api_up_while_its_worker_is_killed_in_a_loop(tmp_path: Path) -> None:
    hour = HOURS[0]
    with FakeWikimedia(tmp_path / "mirror") as mirror:
        dump = write_hour(mirror.root_dir, parse_hour(hour), SPEC)
        service = ServeService(tmp_path, mirror, "")
        service.env["WIKITOP_LOG_FORMAT"] = "text"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = service.start("serve", "--port", str(port), "--workers", "1", "--api-workers", "1")
        client = httpx.Client(base_url=base, timeout=5)
        try:
            check_kill_loop(service, serve, client)
            # The worker is back for good: the hour asked for now is computed.
            assert client.post("/api/v1/reports", json={"start": hour}).status_code == 202
            service.wait_for([hour], timeout_s=60)
            assert service.result_rows(hour) == expected_rows(dump)
            wait_until(lambda: client.get("/readyz").status_code == 200, "/readyz to be ready again", service)
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(60) == 0, service.logs()
        finally:
            client.close()
            service.close()


def check_kill_loop(service: ServeService, serve: subprocess.Popen[bytes], client: httpx.Client) -> None:
    """SIGKILL the worker KILLS times, each time as soon as it is back, checking the API throughout."""

    def readyz() -> tuple[int, dict[str, str]]:
        response = client.get("/readyz")
        return response.status_code, response.json()["checks"]

    def no_worker() -> bool:
        code, checks = readyz()
        return code == 503 and checks["workers"] == "no worker is running" and checks["state"] == "ok"

    def api_answers() -> bool:
        with suppress(httpx.TransportError):
            return client.get("/healthz").status_code == 200
        return False

    wait_until(api_answers, "the API to answer", service)
    wait_until(lambda: readyz()[0] == 200, "a worker to run (/readyz ready)", service, 60)
    killed_at: list[float] = []
    started_at: list[float] = []
    for kill in range(KILLS):
        pid = worker_pids(service)[-1]
        os.kill(pid, signal.SIGKILL)
        killed_at.append(time.monotonic())
        # While it is down the API answers, reads included, and /readyz says no worker runs.
        wait_until(no_worker, "/readyz to say that no worker runs", service, 10)
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/reports").status_code == 200
        wait_until(
            lambda starts=kill + 2: len(worker_pids(service)) == starts,
            "the worker to start again",
            service,
            60,
        )
        started_at.append(time.monotonic())
        assert serve.poll() is None, service.logs()
    delays = announced_delays(service)
    assert delays == [supervisor.FIRST_RESTART_DELAY_S * 2**kill for kill in range(KILLS)]
    # Each restart waited at least its announced delay (the kills came within seconds of each start).
    for delay, killed, started in zip(delays, killed_at, started_at, strict=True):
        assert started - killed >= delay
