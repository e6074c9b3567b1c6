"""The `wikitop run` and `wikitop status` commands on a local mirror: results, idempotency, errors."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec
from support.queues import RecordingQueue
from support.reference import reference_rank
from support.workspace import Workspace, record_waits


def read_rows(path: Path) -> tuple[list[str], list[tuple[str, int, str, int]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [(d, int(r), t, int(v)) for d, r, t, v in reader]


def test_run_one_hour_writes_the_csv_the_reference_computes(workspace: Workspace, engine: str) -> None:
    dump = workspace.add_dump("2020010115", DumpSpec(lines=5_000, domains=40, seed=3, quoted_rate=0.01))
    blacklist = Path(workspace.env["WIKITOP_BLACKLIST_URL"])
    blacklist.write_text("en.m Main_Page\nde %C3%9Cber\n")

    result = workspace.run("run", "2020010115", WIKITOP_ENGINE=engine)

    assert result.exit_code == 0, result.output
    header, rows = read_rows(workspace.result("2020010115"))
    assert header == ["domain_code", "rank", "page_title", "views"]
    expected, _, _ = reference_rank(gzip.decompress(dump.read_bytes()), blacklist.read_bytes(), 25)
    assert rows == expected
    assert "2020010115  computed" in result.output


def test_csv_quotes_titles_with_commas_and_quotes(workspace: Workspace) -> None:
    workspace.add_dump(
        "2020010115", lines=["en Hello,_World 5 0", 'en "\\"Quoted\\"_title" 3 0', "en Plain 1 0"]
    )
    assert workspace.run("run", "2020010115").exit_code == 0
    text = workspace.result("2020010115").read_text(encoding="utf-8")
    assert text == (
        'domain_code,rank,page_title,views\nen,1,"Hello,_World",5\nen,2,"""Quoted""_title",3\nen,3,Plain,1\n'
    )


def test_second_run_is_cached_and_force_recomputes(workspace: Workspace) -> None:
    workspace.add_dump("2020010115")
    assert workspace.run("run", "2020010115").exit_code == 0
    first = workspace.result("2020010115").stat().st_mtime_ns

    again = workspace.run("run", "2020010115")
    assert again.exit_code == 0
    assert "cached" in again.output
    assert workspace.result("2020010115").stat().st_mtime_ns == first

    forced = workspace.run("run", "2020010115", "--force")
    assert "computed" in forced.output
    assert workspace.result("2020010115").stat().st_mtime_ns != first


def test_changed_blacklist_or_top_n_makes_the_result_stale(workspace: Workspace) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B 4 0", "en C 3 0"])
    assert workspace.run("run", "2020010115").exit_code == 0
    Path(workspace.env["WIKITOP_BLACKLIST_URL"]).write_text("en A\n")
    stale = workspace.run("run", "2020010115")
    assert "computed" in stale.output
    assert read_rows(workspace.result("2020010115"))[1] == [("en", 1, "B", 4), ("en", 2, "C", 3)]

    smaller = workspace.run("run", "2020010115", WIKITOP_TOP_N="1")
    assert "computed" in smaller.output
    assert read_rows(workspace.result("2020010115"))[1] == [("en", 1, "B", 4)]


def test_missing_hour_is_unavailable_exit_1_and_the_others_are_computed(workspace: Workspace) -> None:
    workspace.add_dump("2020010115")
    workspace.add_dump("2020010117")

    result = workspace.run("run", "2020010115", "2020010117")

    assert result.exit_code == 1
    assert "2020010116  unavailable" in result.output
    assert workspace.result("2020010115").exists()
    assert workspace.result("2020010117").exists()
    status = json.loads(workspace.run("status", "2020010116", "--json").output)
    assert status[0]["status"] == "unavailable"

    workspace.add_dump("2020010116")
    retried = workspace.run("run", "2020010115", "2020010117")
    assert retried.exit_code == 0
    assert "2020010116  computed" in retried.output


def test_a_corrupt_mirror_file_is_reported_at_once_naming_the_file(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workspace.add_dump("2020010115")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    waits = record_waits(monkeypatch)

    result = workspace.run("run", "2020010115", WIKITOP_MAX_TRIES="2")

    # Reading the same file again gives the same bytes: no wait, the file and the fix are named.
    assert (result.exit_code, waits) == (1, [])
    assert not workspace.result("2020010115").exists()
    assert "2020010115  queued" in result.output
    assert "not retried by this run: mend the cause, then run it again" in result.output
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert (state["status"], state["try_count"]) == ("queued", 1)
    assert state["error"].startswith(
        f"try 1/2: the dump file {path} is damaged: corrupt or truncated gzip stream"
    )
    assert state["error"].endswith("; replace it with a good copy")

    again = workspace.run("run", "2020010115", WIKITOP_MAX_TRIES="2")
    assert "2020010115  failed" in again.output
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert (state["status"], state["try_count"]) == ("failed", 2)

    path.write_bytes(good)
    assert "2020010115  computed" in workspace.run("run", "2020010115").output


def test_a_recompute_failing_for_good_or_finding_no_dump_keeps_the_hour_a_success(
    workspace: Workspace,
) -> None:
    dump = workspace.add_dump("2020010115", lines=["en A 5 0", "en B 4 0"])
    good = dump.read_bytes()
    assert workspace.run("run", "2020010115").exit_code == 0
    result = workspace.result("2020010115")
    kept = result.read_bytes()

    dump.write_bytes(good[:20])
    failed = workspace.run("run", "2020010115", "--force", WIKITOP_MAX_TRIES="1")
    assert failed.exit_code == 1  # what was asked for, a recompute, failed
    assert (
        "2020010115  success" in failed.stdout
        and "the recompute failed (try 1/1: the dump file" in failed.stdout
    )
    assert f"the last good result stays: {result}" in failed.stdout
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert (state["status"], state["error"].startswith("try 1/1: the dump file")) == ("success", True)

    dump.unlink()
    gone = workspace.run("run", "2020010115", "--force")
    assert (
        "2020010115  success" in gone.stdout and "does not exist); the last good result stays" in gone.stdout
    )
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert state["status"] == "success" and state["error"].endswith("does not exist")
    assert result.read_bytes() == kept
    assert workspace.run("top", "2020010115").exit_code == 0


def test_an_empty_mirror_file_is_named(workspace: Workspace) -> None:
    path = workspace.add_dump("2020010115")
    path.write_bytes(b"")
    result = workspace.run("run", "2020010115")
    assert result.exit_code == 1
    error = json.loads(workspace.run("status", "2020010115", "--json").output)[0]["error"]
    assert error == f"try 1/3: the dump file {path} is empty: not a gzip stream; replace it with a good copy"


def test_a_directory_in_place_of_a_mirror_file_is_named_not_awaited(workspace: Workspace) -> None:
    path = workspace.add_dump("2020010115")
    path.unlink()
    path.mkdir()
    result = workspace.run("run", "2020010115")
    assert result.exit_code == 1
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    # Damaged, not `unavailable`: waiting for the hour's publication would never mend it.
    assert state["status"] == "queued"
    assert state["error"] == (
        f"try 1/3: the dump file {path} is not a file (a directory?); replace it with a good copy"
    )
    assert "not retried by this run: mend the cause, then run it again" in result.output


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "it holds no line at all"),
        (b"<html><body>Not Found</body></html>\n", "none of its 1 lines is a page's views"),
        (b"\n\n \nen Main_Page many 0\n", "none of its 4 lines is a page's views"),
    ],
    ids=["empty", "error-page", "all-malformed"],
)
def test_a_valid_gzip_without_a_valid_line_is_no_hour_and_gives_no_result(
    workspace: Workspace, engine: str, content: bytes, reason: str
) -> None:
    # A real hour has millions of lines: a header-only CSV recorded as success would hide a broken copy.
    path = workspace.add_dump("2020010115")
    path.write_bytes(gzip.compress(content))
    result = workspace.run("run", "2020010115", WIKITOP_ENGINE=engine)
    assert result.exit_code == 1
    assert not workspace.result("2020010115").exists()
    error = json.loads(workspace.run("status", "2020010115", "--json").output)[0]["error"]
    assert error == (
        f"try 1/3: the dump file {path} is damaged: {reason}: not an hour of page views; "
        "replace it with a good copy"
    )


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b""),
        lambda path: path.write_bytes(b"a,b,c,d\n"),
        lambda path: path.write_bytes(path.read_bytes()[:-2]),
        lambda path: path.write_bytes(path.read_bytes() + b"\xff\xfe"),
    ],
    ids=["emptied", "other-header", "cut-short", "bytes-appended"],
)
def test_a_run_computes_again_a_result_file_damaged_since(
    workspace: Workspace, damage: Callable[[Path], object]
) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B 4 0"])
    assert workspace.run("run", "2020010115").exit_code == 0
    path = workspace.result("2020010115")
    good = path.read_bytes()
    damage(path)
    again = workspace.run("run", "2020010115")
    assert again.exit_code == 0, again.output
    assert "2020010115  computed" in again.stdout
    assert path.read_bytes() == good


def test_a_directory_in_place_of_a_result_file_is_no_result(workspace: Workspace) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B 4 0"])
    assert workspace.run("run", "2020010115").exit_code == 0
    path = workspace.result("2020010115")
    path.unlink()
    path.mkdir()
    shown = workspace.run("top", "2020010115")
    assert (shown.exit_code, shown.stderr.count("\n")) == (1, 1)
    assert "has a recorded result but its file is missing" in shown.stderr
    # Not called cached: computed again, whose write the directory refuses for good (named).
    again = workspace.run("run", "2020010115")
    assert again.exit_code == 1
    assert "cannot write the result" in again.stdout and "check WIKITOP_RESULTS_URL" in again.stdout


def test_a_failed_recompute_with_a_lasting_cause_keeps_the_last_good_result_readable(
    workspace: Workspace,
) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B 4 0", "en B x 0"])
    first = workspace.run("run", "2020010115")
    assert first.exit_code == 0
    assert first.stdout.splitlines()[0].split()[:5] == ["hour", "status", "rows", "bad", "lines"]
    assert first.stdout.splitlines()[1].split()[:4] == ["2020010115", "computed", "2", "1"]
    good = workspace.result("2020010115").read_bytes()

    mistyped = str(workspace.mirror) + "-typo"
    forced = workspace.run("run", "2020010115", "--force", WIKITOP_DUMPS_URL=mistyped)

    assert forced.exit_code == 1
    assert "2020010115  queued" in forced.output
    assert f"the local mirror {mistyped} does not exist" in forced.output
    path = workspace.result("2020010115")
    assert f"; the last good result stays: {path}" in forced.stdout
    assert "1/1 hours have a result (1 of them the last good one: its recompute failed)" in forced.stdout
    assert workspace.result("2020010115").read_bytes() == good
    # The hour waits for its next try, and its last good result is still what readers get.
    shown = workspace.run("top", "2020010115", "--json")
    assert shown.exit_code == 0, shown.output
    assert [(row["page_title"], row["views"]) for row in json.loads(shown.output)] == [("A", 5), ("B", 4)]
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert state["status"] == "queued" and state["data_path"]

    cached = workspace.run("run", "2020010115")
    assert cached.exit_code == 0
    assert cached.stdout.splitlines()[1].split()[:4] == ["2020010115", "computed", "2", "1"]


def test_status_reports_provenance(workspace: Workspace) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B x 0", "", "en C 3 0"])
    workspace.run("run", "2020010115")
    state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]
    assert state["status"] == "success"
    assert (state["try_count"], state["max_tries"]) == (1, 3)
    assert state["data_path"] == str(workspace.result("2020010115"))
    assert (state["lines_read"], state["lines_skipped"], state["rows"], state["top_n"]) == (4, 2, 2, 25)
    assert len(state["blacklist_sha256"]) == 64
    assert state["dump_bytes"] > 0
    assert state["finished_at"].endswith("Z")


def test_never_asked_hour_is_unknown_in_status(workspace: Workspace) -> None:
    output = workspace.run("status", "2020010115").output
    assert output.startswith("2020010115  unknown")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "2020-13-01T00"], "invalid hour '2020-13-01T00': month must be in 1..12"),
        (["run", "20200101"], "invalid hour '20200101': expected YYYYMMDDHH"),
        (["run", "2020010119", "2020010115"], "end hour '2020010115' is before start hour '2020010119'"),
        (["run", "2014010100"], "before 2015-05-01T01"),
        (["run", "2999010100"], "in the future"),
        (["run", "2020010100", "2020020200"], "more than WIKITOP_MAX_RANGE_HOURS=744"),
        (["status", "nonsense"], "invalid hour 'nonsense'"),
    ],
)
def test_usage_errors_exit_2_name_the_value_and_touch_nothing(
    workspace: Workspace, args: list[str], message: str
) -> None:
    result = workspace.run(*args)
    assert result.exit_code == 2
    # One line, which gives the accepted forms when the hour itself is malformed.
    assert result.output.startswith("Error: ") and len(result.output.splitlines()) == 1
    assert message in result.output
    assert ("YYYYMMDDHH" in result.output) is message.startswith("invalid hour")
    assert not workspace.data_dir.exists()


def test_invalid_setting_exits_2_naming_it(workspace: Workspace) -> None:
    result = workspace.run("run", "2020010115", WIKITOP_DOWNLOAD_CONCURRENCY="5")
    assert result.exit_code == 2
    assert "WIKITOP_DOWNLOAD_CONCURRENCY" in result.output


def test_unreadable_blacklist_stops_the_run_clearly(workspace: Workspace) -> None:
    workspace.add_dump("2020010115")
    result = workspace.run("run", "2020010115", WIKITOP_BLACKLIST_URL=str(workspace.root / "missing.txt"))
    assert result.exit_code == 2  # a setting to mend, as a mistyped one is
    assert "cannot read the blacklist file" in result.output
    assert not workspace.result("2020010115").exists()


def test_help_lists_the_commands(workspace: Workspace) -> None:
    result = workspace.run("--help")
    assert result.exit_code == 0
    assert "run" in result.output
    assert "status" in result.output


UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/x"  # port 1: nothing listens, connect is refused


def _wikitop(workspace: Workspace, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `wikitop` command in a real process, as a person would."""
    command = [sys.executable, "-m", "wikitop", *args]
    full_env = {**os.environ, **workspace.env, **env}
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=120)


def _hours_in_mirror(workspace: Workspace, count: int, lines: int) -> list[str]:
    """`count` hours from 2020010100 on, each a generated dump of `lines` lines in the mirror."""
    hours = [f"20200101{hour:02d}" for hour in range(count)]
    for seed, hour in enumerate(hours):
        workspace.add_dump(hour, DumpSpec(lines=lines, domains=30, seed=seed))
    return hours


def _start_run(workspace: Workspace, hours: list[str], jobs: int) -> subprocess.Popen[str]:
    """Start `wikitop run FIRST LAST --jobs J` in a real process, its output piped."""
    command = [sys.executable, "-m", "wikitop", "run", hours[0], hours[-1], "--jobs", str(jobs)]
    env = {**os.environ, **workspace.env}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_runs_over_the_same_hours_compute_each_once_and_both_report_every_hour(
    workspace: Workspace,
) -> None:
    hours = _hours_in_mirror(workspace, 6, lines=150_000)
    # Both at once: each takes some hours while the other computes them.
    runs = [_start_run(workspace, hours, jobs=2) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]

    for run, (stdout, stderr) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, stdout + stderr
        assert stdout.endswith(f"{len(hours)}/{len(hours)} hours have a result\n"), stdout
    computed = [
        line.split()[0] for stdout, _ in outputs for line in stdout.splitlines() if "  computed  " in line
    ]
    assert sorted(computed) == hours  # each hour computed once, by one of the two
    for hour in hours:
        assert read_rows(workspace.result(hour))[1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_finishes_the_hour_being_computed_and_leaves_the_others_queued(
    workspace: Workspace, signum: int
) -> None:
    hours = _hours_in_mirror(workspace, 12, lines=200_000)
    run = _start_run(workspace, hours, jobs=1)
    assert run.stderr is not None
    first_done = run.stderr.readline()  # the first hour's progress line: the second one is under way
    run.send_signal(signum)
    stdout, stderr = run.communicate(timeout=120)

    assert "[1/12]" in first_done, first_done + stderr
    assert run.returncode == 128 + signum, stdout + stderr
    name = signal.Signals(signum).name
    states = {
        state["hour"]: state
        for state in json.loads(_wikitop(workspace, "status", hours[0], hours[-1], "--json").stdout)
    }
    done = [hour for hour in hours if states[hour]["status"] == "success"]
    left = [hour for hour in hours if hour not in done]
    # The hour in flight was finished, not left `running` for its lease; the rest were never claimed.
    assert 1 <= len(done) < len(hours) and done == hours[: len(done)]
    assert all(states[hour]["status"] == "queued" and states[hour]["try_count"] == 0 for hour in left)
    assert f"Interrupted ({name}): the hours being computed were finished, {len(left)} not started" in stderr
    assert stdout.endswith(f"{len(done)}/{len(hours)} hours have a result\n"), stdout
    assert "Traceback" not in stderr

    rerun = _wikitop(workspace, "run", hours[0], hours[-1])
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    computed = [line.split()[0] for line in rerun.stdout.splitlines() if "  computed  " in line]
    assert computed == left  # at once, no lease to wait for, and nothing computed twice


def test_a_data_dir_that_cannot_be_made_is_one_line_naming_the_setting(
    workspace: Workspace, tmp_path: Path
) -> None:
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("")
    workspace.add_dump("2020010115")
    done = _wikitop(workspace, "run", "2020010115", WIKITOP_DATA_DIR=str(in_the_way / "data"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"Error: WIKITOP_DATA_DIR: cannot make {in_the_way}/data/locks: Not a directory; "
        "set it to a directory this user can write"
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://wikitop-results.invalid/x", "name resolution failed (offline?)"),
        ("ftp://127.0.0.1:1/x", "connection refused (is the server running?)"),  # port 1: nothing listens
    ],
    ids=["no-such-host", "refused"],
)
def test_a_results_server_that_cannot_be_reached_is_one_line_naming_the_setting(
    workspace: Workspace, url: str, reason: str
) -> None:
    workspace.add_dump("2020010115")
    done = _wikitop(workspace, "run", "2020010115", WIKITOP_RESULTS_URL=url)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"Error: WIKITOP_RESULTS_URL {url!r}: cannot reach its server: {reason}; "
        "check the network or WIKITOP_RESULTS_URL"
    ]


def test_a_stop_signal_while_the_run_sets_up_is_said_and_exits_143(workspace: Workspace) -> None:
    workspace.add_dump("2020010115")
    with socket.socket() as silent:  # a blacklist server that accepts and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(60)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/blacklist"
        env = {**os.environ, **workspace.env, "WIKITOP_BLACKLIST_URL": url, "WIKITOP_HTTP_TIMEOUT_S": "30"}
        command = [sys.executable, "-m", "wikitop", "run", "2020010115"]
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        connection, _ = silent.accept()  # the run is fetching its blacklist: it has not asked for hours
        with connection:
            run.send_signal(signal.SIGTERM)
            stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 143, stdout + stderr
    assert stderr.splitlines()[-1] == (
        "Interrupted (SIGTERM): before its hours were handed out; they stay as they were; "
        "run the same command again to compute them."
    )
    assert "Traceback" not in stderr


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


@pytest.mark.parametrize(
    "args",
    # `api` and `worker` wait for the database instead (tests/test_state_outage.py).
    [["run", "2020010115"], ["status", "2020010115"], ["serve", "--port"]],
    ids=lambda args: args[0],
)
def test_unreachable_postgres_is_one_line_and_exit_1(workspace: Workspace, args: list[str]) -> None:
    args = [*args, _free_port()] if args[-1] == "--port" else args
    workspace.add_dump("2020010115")
    done = _wikitop(workspace, *args, WIKITOP_STATE_URL=UNREACHABLE_POSTGRES, WIKITOP_WORKER_METRICS_PORT="0")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: cannot use the database: connection failed:")
    assert "Connection refused" in lines[0]
    assert f"WIKITOP_STATE_URL={UNREACHABLE_POSTGRES}" in lines[0]


@pytest.mark.parametrize("command", ["run", "status"])
def test_a_sqlite_state_url_that_cannot_work_is_one_line(workspace: Workspace, command: str) -> None:
    workspace.add_dump("2020010115")
    not_a_database = workspace.root / "notes.txt"
    not_a_database.write_text("not a database\n" * 100)
    a_file = workspace.root / "a-file"
    a_file.write_text("")
    cases = {
        f"sqlite:///{not_a_database}": (1, "Error: cannot use the database: file is not a database"),
        f"sqlite:///{a_file}/state.sqlite3": (
            2,
            f"Error: WIKITOP_STATE_URL: cannot create the directory {a_file}",
        ),
    }
    if command == "status":  # a read opens no database where none exists: nothing to complain of
        del cases[f"sqlite:///{a_file}/state.sqlite3"]
    for url, (code, start) in cases.items():
        done = _wikitop(workspace, command, "2020010115", WIKITOP_STATE_URL=url)
        assert done.returncode == code, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith(start), line
    assert not_a_database.read_text() == "not a database\n" * 100


def test_status_creates_no_database(workspace: Workspace) -> None:
    missing = workspace.root / "nowhere" / "yet" / "state.sqlite3"
    done = _wikitop(workspace, "status", "2020010115", WIKITOP_STATE_URL=f"sqlite:///{missing}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2020010115  unknown")
    assert not missing.parent.parent.exists()


def test_a_redis_broker_without_its_client_is_one_line_naming_the_extra(workspace: Workspace) -> None:
    # A fresh interpreter where `import redis` fails, as it does when the extra is not installed.
    script = "import sys; sys.modules['redis'] = None\nfrom wikitop.cli import main\nmain()\n"
    env = {**os.environ, **workspace.env, "WIKITOP_BROKER_URL": "redis://127.0.0.1:6379/0"}
    done = subprocess.run(
        [sys.executable, "-c", script, "api", "--port", _free_port()],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        'Error: WIKITOP_BROKER_URL names Redis, whose client is not installed: pip install "wikitop[redis]"\n'
    )


def test_toml_syntax_error_is_one_line_and_exit_2(workspace: Workspace) -> None:
    toml = workspace.root / "wikitop.toml"
    toml.write_text("top_n = [\n")
    done = _wikitop(workspace, "status", "2020010115", WIKITOP_CONFIG=str(toml))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"Error: WIKITOP_CONFIG={str(toml)!r}: not valid TOML: {_toml_error(toml)}"
    ]
    assert not workspace.data_dir.exists()


def _toml_error(path: Path) -> str:
    try:
        tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        return str(exc)
    raise AssertionError("the file parses")


def test_status_json_writes_times_as_the_api_does(workspace: Workspace) -> None:
    from wikitop.services import build_services
    from wikitop.settings import Settings
    from wikitop.web.app import create_app

    workspace.add_dump("2020010115", lines=["en A 5 0"])
    assert workspace.run("run", "2020010115").exit_code == 0
    cli_state = json.loads(workspace.run("status", "2020010115", "--json").output)[0]

    settings = Settings.model_validate(
        {name.removeprefix("WIKITOP_").lower(): value for name, value in workspace.env.items()}
    )
    services = build_services(settings)
    try:
        api_state = (
            create_app(settings, services, queue=RecordingQueue())
            .test_client()
            .get("/api/v1/reports/2020010115")
        )
    finally:
        services.close()
    for field in ("created_at", "started_at", "finished_at"):
        assert cli_state[field] == api_state.get_json()[field]
        assert cli_state[field].endswith("Z")
