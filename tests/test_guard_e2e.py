"""What the guard saves Wikimedia, end to end: a real `wikitop worker` or `wikitop run`, the real app's
ask endpoint on a real queue, and a real HTTP server playing Wikimedia that counts the downloads.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from support.dumpgen import DumpSpec, write_hour
from support.server import FakeWikimedia
from wikitop.hours import dump_path, parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.services import build_services
from wikitop.settings import Settings, load_settings
from wikitop.state import TaskStatus
from wikitop.web.app import create_app

pytestmark = pytest.mark.slow

HOURS = [f"20200101{hour:02d}" for hour in range(10, 14)]
SPEC = DumpSpec(lines=5_000, domains=20)


@pytest.fixture
def mirror(tmp_path: Path, clean_environment: None) -> Iterator[FakeWikimedia]:
    """The fake Wikimedia, serving the dumps of HOURS."""
    with FakeWikimedia(tmp_path / "mirror") as server:
        for index, hour in enumerate(HOURS):
            dump = write_hour(tmp_path / "dumps", parse_hour(hour), replace(SPEC, seed=index))
            target = server.root_dir / dump_path(parse_hour(hour))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dump, target)
        yield server


def _env(tmp_path: Path, mirror: FakeWikimedia, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    return env | {
        "WIKITOP_DATA_DIR": str(tmp_path / "data"),
        "WIKITOP_DUMPS_URL": mirror.url,
        "WIKITOP_BLACKLIST_URL": "",
        "WIKITOP_WORKER_METRICS_PORT": "0",
        "WIKITOP_RECONCILE_INTERVAL_S": "1",
        "WIKITOP_HTTP_BACKOFF_S": "0.1",
        "WIKITOP_LOG_FORMAT": "text",
        "WIKITOP_RATE_LIMIT_WRITES": "",
        **{f"WIKITOP_{name.upper()}": value for name, value in settings.items()},
    }


def _settings_of(env: dict[str, str]) -> Settings:
    return load_settings(
        **{
            name.removeprefix("WIKITOP_").lower(): value
            for name, value in env.items()
            if name.startswith("WIKITOP_")
        }
    )


def _downloads(mirror: FakeWikimedia) -> dict[str, int]:
    return {hour: len(mirror.requests_for(dump_path(parse_hour(hour)))) for hour in HOURS}


def _start(env: dict[str, str], root: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = root / f"{args[0]}.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "wikitop", *args],
            env=env,
            cwd=root,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _wait_until(condition: Callable[[], bool], what: str, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)


def _api(settings: Settings) -> tuple[FlaskClient, Callable[[], None]]:
    """The real app on the real queue of the settings (the asks go through its endpoint)."""
    services = build_services(settings)
    queue = CeleryHourQueue(settings)
    client = create_app(settings, services, queue).test_client()

    def close() -> None:
        queue.close()
        services.close()

    return client, close


def test_five_forced_asks_download_each_hour_once(tmp_path: Path, mirror: FakeWikimedia) -> None:
    env = _env(tmp_path, mirror)
    settings = _settings_of(env)
    services = build_services(settings)
    try:
        # The four hours have a result, downloaded once each.
        assert all(process_hour(parse_hour(hour), services).outcome is Outcome.COMPUTED for hour in HOURS)
    finally:
        services.close()
    client, close = _api(settings)
    try:
        for _ in range(5):
            asked = client.post("/api/v1/reports", json={"start": HOURS[0], "end": HOURS[-1], "force": True})
            assert asked.status_code == 202
    finally:
        close()
    worker, log = _start(env, tmp_path, "worker", "--concurrency", "1")
    try:
        state = build_services(settings)
        try:

            def recomputed() -> bool:
                states = state.state.get_many(HOURS)
                return all(
                    s.status is TaskStatus.SUCCESS and s.finished_at is not None for s in states.values()
                ) and (sum(_downloads(mirror).values()) >= 8)

            _wait_until(recomputed, "the forced recomputes", log)
            # Give any further (wrong) message time to be processed before counting.
            time.sleep(3)
        finally:
            state.close()
    finally:
        _stop(worker)
    assert _downloads(mirror) == dict.fromkeys(HOURS, 2), (
        "5 forced asks of 4 hours must be 4 downloads, not 20"
    )


def test_asks_beyond_the_download_budget_are_accepted_and_wait(tmp_path: Path, mirror: FakeWikimedia) -> None:
    env = _env(tmp_path, mirror, download_budget_per_hour="2")
    settings = _settings_of(env)
    worker, log = _start(env, tmp_path, "worker", "--concurrency", "1")
    client, close = _api(settings)
    try:
        asked = client.post("/api/v1/reports", json={"start": HOURS[0], "end": HOURS[-1]})
        assert asked.status_code == 202
        assert asked.get_json()["submitted"] == HOURS

        def two_done_two_waiting() -> bool:
            states = list(client.get(f"/api/v1/reports?start={HOURS[0]}&end={HOURS[-1]}").get_json()["items"])
            statuses = sorted(s["status"] for s in states)
            waiting = [
                s for s in states if s["status"] == "queued" and "download budget" in (s["error"] or "")
            ]
            return statuses == ["queued", "queued", "success", "success"] and len(waiting) == 2

        _wait_until(two_done_two_waiting, "two hours computed and two waiting for the budget", log)
        time.sleep(2)
        waiting = [
            s
            for s in client.get("/api/v1/reports?status=queued").get_json()["items"]
            if s["status"] == "queued"
        ]
        assert len(waiting) == 2
        assert all(
            s["error"] == "waiting for the download budget (2 per hour, WIKITOP_DOWNLOAD_BUDGET_PER_HOUR)"
            for s in waiting
        )
        assert all(s["try_count"] == 0 for s in waiting)
    finally:
        close()
        _stop(worker)
    assert sum(_downloads(mirror).values()) == 2
    assert "waiting for the download budget" in log.read_text(errors="replace")


def test_wikitop_run_waits_for_the_download_budget_saying_so(tmp_path: Path, mirror: FakeWikimedia) -> None:
    env = _env(tmp_path, mirror, download_budget_per_hour="2")
    run, log = _start(env, tmp_path, "run", HOURS[0], HOURS[2], "--jobs", "1")
    try:
        _wait_until(
            lambda: "waiting for the download budget" in log.read_text(errors="replace"), "the wait", log
        )
        assert run.poll() is None, "it waits rather than failing the hour"
    finally:
        _stop(run)
    text = log.read_text(errors="replace")
    assert f"{HOURS[2]} waiting for the download budget (2 per hour" in text
    assert "next try in" in text
    assert sum(_downloads(mirror).values()) == 2
