"""`wikitop run` against a real HTTP server playing dumps.wikimedia.org, with Wikimedia's faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from support.dumpgen import DumpSpec
from support.server import FakeWikimedia, Fault
from support.workspace import Workspace, record_waits
from wikitop.queue.followup import retry_countdown_s

HOUR_PATH = "2020/2020-01/pageviews-20200101-150000.gz"


@pytest.fixture
def wikimedia(workspace: Workspace) -> Iterator[FakeWikimedia]:
    workspace.mirror.mkdir(parents=True, exist_ok=True)
    (workspace.mirror / "blacklist").write_text("en Main_Page\n")
    with FakeWikimedia(workspace.mirror) as server:
        workspace.env["WIKITOP_DUMPS_URL"] = server.url
        workspace.env["WIKITOP_BLACKLIST_URL"] = server.url_for("blacklist")
        workspace.env["WIKITOP_HTTP_TIMEOUT_S"] = "2"
        yield server


def dump_requests(server: FakeWikimedia) -> int:
    return sum(1 for request in server.requests if request.path.endswith(".gz"))


def test_run_over_http_matches_the_mirror_result_and_sends_the_user_agent(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115", DumpSpec(lines=3_000, domains=30, seed=5))
    result = workspace.run("run", "2020010115", WIKITOP_USER_AGENT="wikitop-tests/1.0 (ops@example.org)")
    assert result.exit_code == 0, result.output
    over_http = workspace.result("2020010115").read_bytes()
    assert {request.user_agent for request in wikimedia.requests} == {"wikitop-tests/1.0 (ops@example.org)"}

    local = workspace.run("run", "2020010115", "--force", WIKITOP_DUMPS_URL=str(workspace.mirror))
    assert local.exit_code == 0
    assert workspace.result("2020010115").read_bytes() == over_http
    assert b"en,1,Main_Page" not in over_http


def test_done_hours_are_not_downloaded_again(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    workspace.add_dump("2020010115")
    workspace.add_dump("2020010116")
    assert workspace.run("run", "2020010115", "2020010116").exit_code == 0
    assert dump_requests(wikimedia) == 2
    assert workspace.run("run", "2020010115", "2020010116").exit_code == 0
    assert dump_requests(wikimedia) == 2


@pytest.mark.parametrize("status", [503, 429, 500])
def test_transient_statuses_are_retried(workspace: Workspace, wikimedia: FakeWikimedia, status: int) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.status_code(status, times=2))
    result = workspace.run("run", "2020010115")
    assert result.exit_code == 0, result.output
    assert [r.status for r in wikimedia.requests_for(HOUR_PATH)] == [status, status, 200]


def test_404_is_unavailable_not_failed(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    result = workspace.run("run", "2020010115")
    assert result.exit_code == 1
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert state["status"] == "unavailable"
    assert "HTTP 404" in state["error"]
    assert dump_requests(wikimedia) == 1


def test_a_dropped_connection_is_retried(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.truncate(after_bytes=10_000, times=1))
    assert workspace.run("run", "2020010115").exit_code == 0
    assert len(wikimedia.requests_for(HOUR_PATH)) == 2


def test_a_body_always_cut_short_never_produces_a_result(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.truncate(after_bytes=10_000))
    result = workspace.run("run", "2020010115", WIKITOP_HTTP_RETRIES="1", WIKITOP_MAX_TRIES="2")
    assert result.exit_code == 1
    assert not workspace.result("2020010115").exists()
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert state["status"] == "failed"
    assert "RemoteProtocolError" in state["error"]
    assert "after 2 tries" in state["error"]
    assert list((workspace.data_dir / "tmp").iterdir()) == []


def test_a_corrupt_gzip_fails_every_try_and_says_why(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    workspace.add_dump("2020010115", DumpSpec(lines=20_000, domains=30))
    wikimedia.set_fault(HOUR_PATH, Fault.corrupt())
    result = workspace.run("run", "2020010115")
    assert result.exit_code == 1
    assert not workspace.result("2020010115").exists()
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert (state["status"], state["try_count"]) == ("failed", 3)
    assert "corrupt or truncated gzip stream" in state["error"]
    assert len(wikimedia.requests_for(HOUR_PATH)) == 3


def test_run_waits_between_tries_as_the_queue_does(
    workspace: Workspace, wikimedia: FakeWikimedia, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.corrupt())
    # The clock is the only stand-in: the waits are recorded instead of slept.
    waits = record_waits(monkeypatch)

    result = workspace.run("run", "2020010115", WIKITOP_MAX_TRIES="3", WIKITOP_RETRY_BACKOFF_S="7")

    assert result.exit_code == 1
    # A download can be damaged in transit: it is fetched again, after the queue's rule
    # (WIKITOP_RETRY_BACKOFF_S, doubling), not the HTTP client's backoff.
    assert waits == [retry_countdown_s(1, 7.0), retry_countdown_s(2, 7.0)] == [7.0, 14.0]
    assert len(wikimedia.requests_for(HOUR_PATH)) == 3
    # Each wait is announced with its reason: seconds of silence would look like a hang.
    assert "2020010115 try 1/3: " in result.stderr and "; next try in 7 s" in result.stderr
    assert "2020010115 try 2/3: " in result.stderr and "; next try in 14 s" in result.stderr


def test_a_corrupt_kept_dump_is_named_and_deleting_it_downloads_it_again(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115", DumpSpec(lines=2_000, domains=10))
    workspace.env["WIKITOP_KEEP_DUMPS"] = "true"
    assert workspace.run("run", "2020010115").exit_code == 0
    kept = workspace.data_dir / "dumps" / HOUR_PATH
    kept.write_bytes(kept.read_bytes()[:100])

    forced = workspace.run("run", "2020010115", "--force")

    assert forced.exit_code == 1
    assert f"the dump file {kept} is damaged" in forced.output
    assert "delete it to download it again" in forced.output
    kept.unlink()
    again = workspace.run("run", "2020010115", "--force")
    assert again.exit_code == 0, again.output
    assert len(wikimedia.requests_for(HOUR_PATH)) == 2


def test_a_stalled_body_times_out_and_is_retried(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.slow(stall_s=5, times=1))
    result = workspace.run("run", "2020010115", WIKITOP_HTTP_TIMEOUT_S="0.5")
    assert result.exit_code == 0, result.output
    assert len(wikimedia.requests_for(HOUR_PATH)) == 2


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_downloads_never_exceed_the_cap(workspace: Workspace, wikimedia: FakeWikimedia, cap: int) -> None:
    for hour in range(6):
        workspace.add_dump(f"20200101{hour:02d}", DumpSpec(lines=3_000, domains=10, seed=hour))
    wikimedia.throttle_bytes_per_s = 200_000
    result = workspace.run(
        "run", "2020010100", "2020010105", "--jobs", "6", WIKITOP_DOWNLOAD_CONCURRENCY=str(cap)
    )
    assert result.exit_code == 0, result.output
    assert wikimedia.max_concurrent == cap
    assert all(request.status == 200 for request in wikimedia.requests)


def test_blacklist_is_fetched_once_and_cached(workspace: Workspace, wikimedia: FakeWikimedia) -> None:
    workspace.add_dump("2020010115")
    workspace.add_dump("2020010116")
    workspace.run("run", "2020010115")
    workspace.run("run", "2020010116")
    assert len(wikimedia.requests_for("blacklist")) == 1
    [fetched] = (workspace.data_dir / "cache" / "fetched").iterdir()
    assert fetched.read_text() == "en Main_Page\n"


def test_another_blacklist_url_is_fetched_at_once_and_never_stands_in_for_the_first(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115", lines=["en Main_Page 9 0", "en Other 5 0", "en Third 1 0"])
    (workspace.mirror / "other-blacklist").write_text("en Other\n")
    assert workspace.run("run", "2020010115").exit_code == 0
    first = workspace.result("2020010115").read_text()
    assert "Main_Page" not in first and "Other" in first

    other = wikimedia.url_for("other-blacklist")
    assert workspace.run("run", "2020010115", WIKITOP_BLACKLIST_URL=other).exit_code == 0
    # The new URL was fetched within the day the first one's copy stays fresh: its list applies.
    assert len(wikimedia.requests_for("other-blacklist")) == 1
    second = workspace.result("2020010115").read_text()
    assert "Main_Page" in second and "Other" not in second

    # A third URL that fails, with no copy of its own: the run stops; no other list stands in.
    wikimedia.set_fault("third-blacklist", Fault.status_code(503, times=None))
    third = wikimedia.url_for("third-blacklist")
    failed = workspace.run("run", "2020010115", WIKITOP_BLACKLIST_URL=third, WIKITOP_HTTP_RETRIES="0")
    assert failed.exit_code == 1
    assert "cannot fetch the blacklist" in failed.output and "no cached copy exists" in failed.output
    assert workspace.result("2020010115").read_text() == second


def test_unreachable_blacklist_without_cache_stops_the_run(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault("blacklist", Fault.status_code(503, times=None))
    result = workspace.run("run", "2020010115", WIKITOP_HTTP_RETRIES="1")
    assert result.exit_code == 1
    assert "cannot fetch the blacklist" in result.output
    assert "no cached copy exists" in result.output
    assert dump_requests(wikimedia) == 0


def test_stale_cached_blacklist_is_used_when_the_refresh_fails(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115", lines=["en Main_Page 9 0", "en Other 1 0"])
    assert workspace.run("run", "2020010115").exit_code == 0
    wikimedia.set_fault("blacklist", Fault.status_code(503, times=None))
    result = workspace.run(
        "run", "2020010115", "--force", WIKITOP_BLACKLIST_MAX_AGE_S="0", WIKITOP_HTTP_RETRIES="0"
    )
    assert result.exit_code == 0, result.output
    assert "Main_Page" not in workspace.result("2020010115").read_text()


def test_a_stop_signal_ends_a_wait_between_tries_at_once_and_tries_no_more(
    workspace: Workspace, wikimedia: FakeWikimedia
) -> None:
    workspace.add_dump("2020010115")
    wikimedia.set_fault(HOUR_PATH, Fault.corrupt())  # every download damaged: tries, then waits
    settings = {"WIKITOP_MAX_TRIES": "3", "WIKITOP_RETRY_BACKOFF_S": "60", "WIKITOP_HTTP_RETRIES": "0"}
    command = [sys.executable, "-m", "wikitop", "run", "2020010115"]
    env = {**os.environ, **workspace.env, **settings}
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stderr is not None
    waiting = run.stderr.readline()  # "... try 1/3: ...; next try in 60 s": the wait has begun
    started = time.monotonic()
    run.send_signal(signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=60)

    assert "next try in 60 s" in waiting, waiting + stderr
    assert run.returncode == 143, stdout + stderr
    assert time.monotonic() - started < 10  # not the rest of the wait, nor two more tries
    assert dump_requests(wikimedia) == 1
    [state] = json.loads(workspace.run("status", "2020010115", "--json").output)
    assert (state["status"], state["try_count"]) == ("queued", 1)  # tries left for the next run
    assert "Interrupted (SIGTERM)" in stderr
