"""/readyz says which dependency is down and why, never its credentials; it checks the results
storage and whether a worker runs; the API shows no server path; /top parses an hour once."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from wikitop.heartbeats import STALE_AFTER_S, Heartbeat, heartbeat_file
from wikitop.hours import parse_hour
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.ranking import RankedPage
from wikitop.results import render_csv
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state import Provenance
from wikitop.state.sql import create_state_engine
from wikitop.web.app import create_app
from wikitop.web.readiness import failure_reason

HOUR = "2020010115"
PROVENANCE = Provenance("ab" * 32, 25, 1000, 100, 10, 5, 0.5)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", dumps_url=str(tmp_path), blacklist_url="")


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


def readyz(settings: Settings, services: Services) -> tuple[int, dict[str, Any]]:
    """Ask a fresh app (a real queue on the settings' broker) for its readiness."""
    response = create_app(settings, services, CeleryHourQueue(settings)).test_client().get("/readyz")
    body = response.get_json()
    assert isinstance(body, dict)
    return response.status_code, body


def test_a_broker_down_is_named_without_its_url_host_or_password(
    settings: Settings, services: Services
) -> None:
    port = closed_port()
    broken = settings.model_copy(update={"broker_url": f"redis://wikiuser:s3cret@127.0.0.1:{port}/0"})
    code, body = readyz(broken, services)
    assert code == 503
    assert body["status"] == "not ready: queue failed"
    assert body["checks"]["queue"] == "queue broker unavailable: connection refused"
    text = json.dumps(body)
    for secret in ("s3cret", "wikiuser", str(port), "127.0.0.1", "redis://"):
        assert secret not in text


def test_results_storage_that_cannot_be_written_is_not_ready(
    tmp_path: Path, settings: Settings, services: Services
) -> None:
    code, body = readyz(settings, services)
    assert body["checks"]["results"] == "ok"
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the results directory should be")
    broken = settings.model_copy(update={"results_url": str(blocker / "reports")})
    code, body = readyz(broken, build_services(broken))
    assert code == 503
    assert body["status"] == "not ready: results failed"
    assert body["checks"]["results"].startswith("results storage unavailable: ")
    assert str(tmp_path) not in json.dumps(body)


def test_workers_check_follows_the_heartbeats_when_a_worker_is_required(
    settings: Settings, services: Services
) -> None:
    needs = settings.model_copy(update={"ready_needs_worker": True})
    code, body = readyz(needs, services)
    assert (code, body["checks"]["workers"]) == (503, "no worker is running")
    assert body["status"] == "not ready: workers failed"

    heartbeat = Heartbeat(heartbeat_file(settings.data_dir, os.getpid()))
    heartbeat.start()
    try:
        code, body = readyz(needs, services)
        assert (code, body["checks"]["workers"], body["status"]) == (200, "ok", "ready")
        # A worker SIGKILLed leaves its file behind: three missed beats and it counts as gone.
        old = time.time() - STALE_AFTER_S - 5
        os.utime(heartbeat.path, (old, old))
        code, body = readyz(needs, services)
        assert code == 503
        assert body["checks"]["workers"].startswith("no worker is running: the last heartbeat is ")
    finally:
        heartbeat.stop()
    assert not heartbeat.path.exists()


# --- data_path and /top ---------------------------------------------------------------------------


def store_result(services: Services, pages: list[RankedPage], recompute: bool = False) -> None:
    """Record HOUR as computed with these pages, as a worker does (again, with `recompute`)."""
    services.state.enqueue([HOUR], 3)
    assert services.state.claim(HOUR, "test-worker", 60, 3, reclaim_success=recompute)
    location = services.results.write(parse_hour(HOUR), render_csv(pages))
    provenance = replace(PROVENANCE, rows=len(pages) + recompute)
    assert services.state.finish_success(HOUR, "test-worker", location, provenance)


@pytest.fixture
def client(settings: Settings, services: Services) -> FlaskClient:
    return create_app(settings, services, CeleryHourQueue(settings)).test_client()


def test_data_path_is_relative_to_the_results_storage(
    tmp_path: Path, services: Services, client: FlaskClient
) -> None:
    store_result(services, [RankedPage("en", 1, "Main_Page", 10)])
    state = services.state.get(HOUR)
    assert state is not None and state.data_path and state.data_path.startswith(str(tmp_path))
    v1 = client.get(f"/api/v1/reports/{HOUR}").get_json()
    prototype = client.get("/get_task_state", json={"date": HOUR}).get_json()
    listed = client.get("/api/v1/reports").get_json()["items"][0]
    assert (
        v1["data_path"] == prototype["data_path"] == listed["data_path"] == "2020/2020-01/top-20200101-15.csv"
    )
    assert client.get(v1["links"]["csv"]).data == services.results.read(parse_hour(HOUR))


def test_top_parses_an_hour_once_and_sees_a_recompute(services: Services, client: FlaskClient) -> None:
    store_result(services, [RankedPage("en", 1, "First", 10), RankedPage("de", 1, "Erste", 5)])
    assert [r["page_title"] for r in client.get(f"/api/v1/reports/{HOUR}/top").get_json()["rows"]] == [
        "First",
        "Erste",
    ]
    # Served from the parsed copy: the file itself is not read again while the task is unchanged.
    path = Path(services.results.location(parse_hour(HOUR)))
    path.write_bytes(b"not a result file")
    rows = client.get(f"/api/v1/reports/{HOUR}/top?domain=de").get_json()["rows"]
    assert [r["page_title"] for r in rows] == ["Erste"]

    # A recompute (new finished_at and provenance) is read afresh.
    store_result(services, [RankedPage("en", 1, "Second", 20)], recompute=True)
    rows = client.get(f"/api/v1/reports/{HOUR}/top").get_json()["rows"]
    assert [r["page_title"] for r in rows] == ["Second"]


def test_failure_reasons_of_real_driver_errors_name_no_host_or_user() -> None:
    port = closed_port()
    engine = create_state_engine(f"postgresql://wikiuser:s3cret@127.0.0.1:{port}/wikitop")
    with pytest.raises(sa.exc.OperationalError) as refused_by_postgres:
        engine.connect()
    assert f"port {port}" in str(refused_by_postgres.value)  # the driver's message names the server...
    assert failure_reason(refused_by_postgres.value) == "connection refused"  # ...the reason does not
    with pytest.raises(OSError) as refused:
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert failure_reason(refused.value) == "connection refused"
    with pytest.raises(OSError) as missing:
        Path("/nonexistent-dir-of-wikitop/file").read_bytes()
    assert failure_reason(missing.value) == "not found"
