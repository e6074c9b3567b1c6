"""Outages: an unreachable dumps host, an unreachable blacklist or a mistyped mirror fails fast and says so.

A name under the reserved `.invalid` TLD never resolves (RFC 6761: no query leaves the machine) and a
closed port on 127.0.0.1 refuses connections: the two ways a host is unreachable, both real.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from support.dumpgen import DumpSpec
from support.server import FakeWikimedia, Fault
from support.workspace import Workspace, record_waits
from wikitop import recording as recording_module
from wikitop.download import DownloadSlots, HttpFetcher
from wikitop.errors import HostUnreachableError
from wikitop.hours import parse_hour
from wikitop.pipeline import Outcome, process_hour
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.queue.reconciler import Reconciler
from wikitop.queue.tasks import WorkerContext, run_hour
from wikitop.services import build_services
from wikitop.settings import Settings, load_settings
from wikitop.state import TaskStatus
from wikitop.web.app import create_app

UNRESOLVABLE_DUMPS = "http://dumps.wikitop-test.invalid/other/pageviews"
UNRESOLVABLE_BLACKLIST = "http://blacklist.wikitop-test.invalid/blacklist"
H15 = "2020010115"


@pytest.fixture
def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def hour_states(workspace: Workspace, *hours: str) -> list[dict[str, Any]]:
    result = workspace.run("status", hours[0], hours[-1], "--json")
    states: list[dict[str, Any]] = json.loads(result.output)
    return states


# --- the fetcher: an unreachable host is one try, named ------------------------------------------


@pytest.mark.parametrize("unreachable", ["name", "port"])
def test_an_unreachable_host_is_tried_once_and_named(
    tmp_path: Path, closed_port: int, unreachable: str
) -> None:
    url, reason = {
        "name": (
            UNRESOLVABLE_BLACKLIST,
            "cannot reach blacklist.wikitop-test.invalid: name resolution failed",
        ),
        "port": (
            f"http://127.0.0.1:{closed_port}/blacklist",
            f"cannot reach 127.0.0.1:{closed_port}: connection refused",
        ),
    }[unreachable]
    fetcher = HttpFetcher("wikitop-tests", 5.0, retries=5, backoff_s=0.01, slots=DownloadSlots(tmp_path, 1))
    with pytest.raises(HostUnreachableError) as caught:
        fetcher.fetch_bytes(url)
    fetcher.close()
    assert str(caught.value).startswith(reason)
    assert fetcher.retry_count == 0


# --- the CLI -------------------------------------------------------------------------------------


def test_offline_hours_fail_at_once_and_say_why(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = record_waits(monkeypatch)
    result = workspace.run(
        "run", H15, "2020010116", WIKITOP_DUMPS_URL=UNRESOLVABLE_DUMPS, WIKITOP_BLACKLIST_URL=""
    )
    assert result.exit_code == 1
    # One try, no retry wait: a person at the command line learns at once that the host is unreachable;
    # the hour stays queued with the reason, for the next run (or a worker) to take up.
    assert waits == []
    for state in hour_states(workspace, H15, "2020010116"):
        assert (state["status"], state["try_count"]) == ("queued", 1)
        assert state["error"] == (
            "try 1/3: cannot reach dumps.wikitop-test.invalid: name resolution failed (offline?); "
            "check the network or WIKITOP_DUMPS_URL"
        )
    assert "name resolution failed" in result.output


def test_a_refusing_dumps_server_is_named_in_the_hours_state(workspace: Workspace, closed_port: int) -> None:
    result = workspace.run("run", H15, WIKITOP_DUMPS_URL=f"http://127.0.0.1:{closed_port}/other/pageviews")
    assert result.exit_code == 1
    [state] = hour_states(workspace, H15)
    assert (state["status"], state["try_count"]) == ("queued", 1)
    assert f"cannot reach 127.0.0.1:{closed_port}: connection refused" in state["error"]
    assert "after 6 tries" not in state["error"]


def test_an_unreachable_blacklist_stops_the_whole_range_at_once_in_one_line(workspace: Workspace) -> None:
    result = workspace.run("run", "2020010100", "2020010123", WIKITOP_BLACKLIST_URL=UNRESOLVABLE_BLACKLIST)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert line.startswith(
        f"Error: cannot fetch the blacklist from {UNRESOLVABLE_BLACKLIST} "
        "(cannot reach blacklist.wikitop-test.invalid: name resolution failed (offline?))"
    )
    assert all(state["status"] == "unknown" for state in hour_states(workspace, "2020010100", "2020010123"))


def test_a_missing_mirror_directory_is_a_configuration_error(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = record_waits(monkeypatch)
    mistyped = workspace.root / "mirorr"
    result = workspace.run("run", H15, WIKITOP_DUMPS_URL=str(mistyped))
    assert result.exit_code == 1
    # A mistyped setting does not fix itself in seconds: said at once, not after the retry waits.
    assert waits == []
    [state] = hour_states(workspace, H15)
    assert (state["status"], state["try_count"]) == ("queued", 1)
    assert f"WIKITOP_DUMPS_URL: the local mirror {mistyped} does not exist" in state["error"]


def test_an_unresolvable_data_lake_mirror_fails_at_once_naming_the_setting(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits = record_waits(monkeypatch)
    mirror = (
        "ftp://dumps.wikitop-test.invalid/pageviews"  # a protocol of fsspec's, on a host that never resolves
    )
    result = workspace.run("run", H15, WIKITOP_DUMPS_URL=mirror, WIKITOP_BLACKLIST_URL="")
    assert (result.exit_code, waits) == (1, [])
    [state] = hour_states(workspace, H15)
    assert (state["status"], state["try_count"]) == ("queued", 1)
    assert state["error"] == (
        f"try 1/3: WIKITOP_DUMPS_URL '{mirror}/2020/2020-01/pageviews-20200101-150000.gz': cannot reach "
        "its server: name resolution failed (offline?); check the network or WIKITOP_DUMPS_URL"
    )


def test_a_results_directory_that_refuses_writes_fails_at_once_naming_the_setting(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.add_dump(H15)
    waits = record_waits(monkeypatch)

    def write_wait(*_: object) -> float:
        waits.append(-1.0)  # a write of the result tried again
        return 0.0

    monkeypatch.setattr(recording_module, "retry_countdown_s", write_wait)
    blocker = workspace.root / "a-file"
    blocker.write_text("not a directory")
    result = workspace.run("run", H15, WIKITOP_RESULTS_URL=str(blocker / "reports"))
    # Neither the hour's tries nor the result's writes are repeated: the directory will refuse again.
    assert (result.exit_code, waits) == (1, [])
    [state] = hour_states(workspace, H15)
    assert (state["status"], state["try_count"]) == ("queued", 1)
    assert state["error"].startswith(f"try 1/3: cannot write the result {blocker}/reports/2020/2020-01/")
    assert state["error"].endswith(
        "check WIKITOP_RESULTS_URL (default: <data dir>/reports) and its permissions or credentials"
    )


def test_a_missing_file_in_an_existing_mirror_is_still_not_published(workspace: Workspace) -> None:
    workspace.add_dump("2020010116")
    assert workspace.run("run", H15).exit_code == 1
    [state] = hour_states(workspace, H15)
    assert state["status"] == "unavailable"
    assert "does not exist" in state["error"] and "WIKITOP_DUMPS_URL" not in state["error"]


# --- the worker: the blacklist's failure is the hour's -------------------------------------------


def worker_settings(tmp_path: Path, **overrides: Any) -> Settings:
    (tmp_path / "dumps").mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "dumps_url": str(tmp_path / "dumps"),
        "blacklist_url": UNRESOLVABLE_BLACKLIST,
        "retry_backoff_s": 5.0,
        "stale_queued_s": 60.0,
    }
    return load_settings(**(values | overrides))


@pytest.fixture
def worker(tmp_path: Path, clean_environment: None) -> Iterator[WorkerContext]:
    settings = worker_settings(tmp_path)
    context = WorkerContext(settings, CeleryHourQueue(settings))
    yield context
    context.close()
    context.queue.close()


def test_an_unreachable_blacklist_is_the_hours_failed_try_and_it_is_retried(worker: WorkerContext) -> None:
    assert run_hour(worker, H15, False) == Outcome.RETRY.value
    state = worker.services().state.get(H15)
    assert state is not None and (state.status, state.try_count) == (TaskStatus.QUEUED, 1)
    assert (state.error or "").startswith(
        f"try 1/3: blacklist unavailable: cannot fetch the blacklist from {UNRESOLVABLE_BLACKLIST}"
    )
    assert worker.queue.depth() == 1  # its retry, with a countdown


def test_an_hour_failed_for_the_blacklist_is_not_taken_for_a_lost_message(
    tmp_path: Path, clean_environment: None
) -> None:
    settings = worker_settings(tmp_path, max_tries=1)
    queue = CeleryHourQueue(settings)
    context = WorkerContext(settings, queue)
    try:
        assert run_hour(context, H15, False) == Outcome.FAILED.value
        state = context.services().state
        found = state.get(H15)
        assert found is not None and found.status is TaskStatus.FAILED
        assert "blacklist unavailable" in (found.error or "")
        later = datetime.now(UTC) + timedelta(seconds=settings.stale_queued_s + 1)
        assert Reconciler(settings, state, queue, "reconciler-1").run_once(later) == {}
    finally:
        context.close()
        context.queue.close()


def test_an_hour_with_a_result_keeps_it_when_the_blacklist_cannot_be_loaded(
    tmp_path: Path, workspace: Workspace
) -> None:
    workspace.add_dump(H15, DumpSpec(lines=500, domains=5))
    blacklist = tmp_path / "blacklist.txt"
    settings = load_settings(
        data_dir=workspace.data_dir, dumps_url=str(workspace.mirror), blacklist_url=str(blacklist)
    )
    services = build_services(settings)
    assert process_hour(parse_hour(H15), services).outcome is Outcome.COMPUTED
    services.close()
    blacklist.unlink()
    services = build_services(settings)
    try:
        result = process_hour(parse_hour(H15), services)
        assert result.outcome is Outcome.FAILED
        assert f"cannot read the blacklist file {blacklist}" in (result.error or "")
        kept = services.state.get(H15)
        assert kept is not None and kept.status is TaskStatus.SUCCESS and kept.data_path
    finally:
        services.close()


# --- /readyz names the blacklist -----------------------------------------------------------------


def api_client(tmp_path: Path, **overrides: Any) -> FlaskClient:
    settings = worker_settings(tmp_path, **overrides)
    return create_app(settings, build_services(settings), CeleryHourQueue(settings)).test_client()


def test_readiness_fails_when_the_blacklist_cannot_be_loaded(tmp_path: Path, clean_environment: None) -> None:
    response = api_client(tmp_path).get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready: blacklist failed"
    assert body["checks"]["blacklist"].startswith(
        f"blacklist unavailable: cannot fetch the blacklist from {UNRESOLVABLE_BLACKLIST}"
    )
    assert (body["checks"]["state"], body["checks"]["queue"]) == ("ok", "ok")


def test_readiness_tries_a_failing_blacklist_once_then_a_cached_copy_is_ready_with_a_note(
    tmp_path: Path, clean_environment: None
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "blacklist").write_text("en Main_Page\n")
    with FakeWikimedia(tmp_path / "site") as server:
        url = server.url_for("blacklist")
        server.set_fault("blacklist", Fault.status_code(503, times=None))
        failing = api_client(tmp_path, blacklist_url=url, http_retries=5, http_backoff_s=0.01).get("/readyz")
        assert failing.status_code == 503
        assert "HTTP 503" in failing.get_json()["checks"]["blacklist"]
        assert len(server.requests_for("blacklist")) == 1  # a probe answers at once, without retries

        server.clear_faults()
        fine = api_client(tmp_path, blacklist_url=url, blacklist_max_age_s=0).get("/readyz")
        assert (fine.status_code, fine.get_json()["checks"]["blacklist"]) == (200, "ok")

        server.set_fault("blacklist", Fault.status_code(503, times=None))
        cached = api_client(tmp_path, blacklist_url=url, blacklist_max_age_s=0).get("/readyz")
    assert cached.status_code == 200
    assert cached.get_json()["status"] == "ready"
    note = cached.get_json()["checks"]["blacklist"]
    assert note.startswith("ok: using the cached copy of ")
    assert f"the refresh from {url} failed (HTTP 503" in note
