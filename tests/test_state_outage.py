"""A PostgreSQL outage: the API answers 503 with Retry-After, /metrics keeps serving, a worker
retries later, a result written during the outage is recorded without downloading again, and
`wikitop api` / `wikitop worker` started before the database wait for it.

Each test stops and starts a PostgreSQL server of its own (tests/support/servers.py): the
machine's shared one is never touched.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import psycopg
import pytest

from support.dumpgen import DumpSpec, write_hour
from support.queues import RecordingQueue
from support.server import FakeWikimedia
from support.servers import PrivatePostgres, free_port
from wikitop.errors import StateUnavailableError
from wikitop.hours import dump_path, parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.queue.tasks import WorkerContext, run_hour
from wikitop.results import PENDING_SUFFIX, ResultStore
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state import TaskStatus, open_state_store

pytestmark = pytest.mark.postgres
HOUR = "2020010115"
_databases = count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with PrivatePostgres() as server:
        yield server


@pytest.fixture
def state_url(postgres: PrivatePostgres) -> str:
    """A new database on the private server, which is running when the test starts."""
    if not (postgres.data_dir / "postmaster.pid").exists():
        postgres.start()
    name = f"outage_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(postgres.url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    with FakeWikimedia(tmp_path / "mirror") as server:
        write_hour(server.root_dir, parse_hour(HOUR), DumpSpec(lines=20_000, domains=30, seed=3))
        yield server


@pytest.fixture
def settings(tmp_path: Path, mirror: FakeWikimedia, state_url: str) -> Settings:
    # A lease of 2 s: a worker tries to record an attempt's end for 1 s before keeping it pending.
    return Settings(
        data_dir=tmp_path / "data", dumps_url=mirror.url, blacklist_url="", state_url=state_url, lease_s=2
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


def downloads(mirror: FakeWikimedia) -> int:
    return len(mirror.requests_for(dump_path(parse_hour(HOUR))))


def test_api_answers_503_with_retry_after_and_metrics_keep_serving(
    postgres: PrivatePostgres, settings: Settings, services: Services
) -> None:
    from wikitop.web.app import create_app

    client = create_app(settings, services, RecordingQueue()).test_client()
    assert client.post("/api/v1/reports", json={"start": HOUR}).status_code == 202
    postgres.stop()

    for response in (
        client.get(f"/api/v1/reports/{HOUR}"),
        client.get("/api/v1/reports"),
        client.get("/api/v1/status"),
        client.post("/api/v1/reports", json={"start": "2020010116"}),
        client.get("/get_task_state", json={"date": HOUR}),
        client.post("/ask_page_views", json={"start_date": HOUR}),
    ):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.headers["Retry-After"] == "10"
        message = response.get_json()["message"]
        assert message.startswith("the task-state database is unavailable right now")
        assert str(postgres.port) not in message  # which dependency, not where it lives
    for page in (client.get("/"), client.get(f"/hours/{HOUR}")):  # the dashboard: a page, not JSON
        assert (page.status_code, page.mimetype, page.headers["Retry-After"]) == (503, "text/html", "10")
        assert "the task-state database is unavailable right now" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200

    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    lines = metrics.get_data(as_text=True).splitlines()
    assert "wikitop_state_up 0.0" in lines
    assert not [line for line in lines if line.startswith("wikitop_tasks{")]
    assert not [line for line in lines if line.startswith("wikitop_newest_result_timestamp_seconds ")]

    postgres.start()
    assert client.get(f"/api/v1/reports/{HOUR}").get_json()["status"] == "queued"
    lines = client.get("/metrics").get_data(as_text=True).splitlines()
    assert "wikitop_state_up 1.0" in lines
    assert 'wikitop_tasks{status="queued"} 1.0' in lines


def test_a_worker_meeting_the_outage_retries_later_and_the_hour_keeps_its_state(
    postgres: PrivatePostgres, settings: Settings, services: Services, mirror: FakeWikimedia
) -> None:
    services.state.enqueue([HOUR], settings.max_tries)
    context = WorkerContext(settings, RecordingQueue())
    postgres.stop()
    started = time.monotonic()
    with pytest.raises(StateUnavailableError, match="task-state database is unavailable"):
        run_hour(context, HOUR, force=False)
    assert time.monotonic() - started < 5
    postgres.start()
    state = services.state.get(HOUR)
    assert state is not None
    assert (state.status, state.try_count, state.error) == (TaskStatus.QUEUED, 0, None)
    assert downloads(mirror) == 0
    assert run_hour(context, HOUR, force=False) == "computed"
    context.close()


class _DatabaseStopsAfterWrite(ResultStore):
    """A result store after whose first write the database goes down, as in the reproduced outage."""

    def __init__(self, base_url: str, postgres: PrivatePostgres) -> None:
        super().__init__(base_url)
        self._postgres = postgres

    def write(self, hour: datetime, data: bytes) -> str:
        location = super().write(hour, data)
        self._postgres.stop()
        return location


@pytest.mark.parametrize("next_try", ["same worker", "another worker after the lease lapsed"])
def test_a_result_written_during_an_outage_is_recorded_later_without_downloading_again(
    postgres: PrivatePostgres,
    settings: Settings,
    services: Services,
    mirror: FakeWikimedia,
    tmp_path: Path,
    next_try: str,
) -> None:
    hour = parse_hour(HOUR)
    services.state.enqueue([HOUR], settings.max_tries)
    results_url = settings.resolved_results_url
    failing = dataclasses.replace(services, results=_DatabaseStopsAfterWrite(results_url, postgres))
    with pytest.raises(StateUnavailableError):
        process_hour(hour, failing)
    pending = Path(services.results.location(hour) + PENDING_SUFFIX)
    assert pending.exists()
    postgres.start()
    held = services.state.get(HOUR)
    assert held is not None and held.status is TaskStatus.RUNNING  # not a failed try

    if next_try == "same worker":
        result = process_hour(hour, services)
    else:
        later = datetime.now(UTC) + timedelta(seconds=settings.lease_s + 60)
        other = dataclasses.replace(
            services, state=open_state_store(settings.state_url, clock=lambda: later), worker_id="other:1"
        )
        result = process_hour(hour, other)
        other.state.close()

    assert result.outcome is Outcome.COMPUTED, result
    assert downloads(mirror) == 1
    state = services.state.get(HOUR)
    assert state is not None and state.status is TaskStatus.SUCCESS
    assert state.provenance is not None and state.provenance.lines_read == 20_000
    assert not pending.exists()
    clean = build_services(Settings(data_dir=tmp_path / "clean", dumps_url=mirror.url, blacklist_url=""))
    assert process_hour(hour, clean).outcome is Outcome.COMPUTED
    assert services.results.read(hour) == clean.results.read(hour)
    clean.close()


@pytest.mark.slow
@pytest.mark.parametrize(("command", "started"), [("worker", " ready."), ("api", "API listening on")])
def test_api_and_worker_started_before_the_database_wait_for_it(
    postgres: PrivatePostgres, settings: Settings, tmp_path: Path, command: str, started: str
) -> None:
    postgres.stop()
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    env |= {
        "WIKITOP_DATA_DIR": str(settings.data_dir),
        "WIKITOP_STATE_URL": settings.state_url,
        "WIKITOP_BLACKLIST_URL": "",
        "WIKITOP_WORKER_METRICS_PORT": "0",
        "WIKITOP_LOG_FORMAT": "text",
    }
    args = ["--concurrency", "1"] if command == "worker" else ["--port", str(free_port()), "--workers", "1"]
    log_path = tmp_path / f"{command}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "wikitop", command, *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 30
        while log_path.read_text().count("waiting for the task-state database") < 2:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        text = log_path.read_text()
        assert "Traceback" not in text
        waits = [line for line in text.splitlines() if "waiting for the task-state database" in line]
        assert "check 1 failed: connection failed:" in waits[0]
        assert "check 2 failed:" in waits[1]
        assert len(text.splitlines()) == len(waits)  # one line per check, nothing else
        postgres.start()
        while started not in log_path.read_text():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline + 30, log_path.read_text()
            time.sleep(0.1)
        assert "Traceback" not in log_path.read_text()
    finally:
        process.terminate()
        process.wait(30)
