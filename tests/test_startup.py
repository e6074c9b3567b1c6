"""Start-up: each command imports only what it uses (bench/bench_startup.py times them; no timing here)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wikitop.hours import dump_path, parse_hour
from wikitop.state import open_state_store

# Runs `wikitop ARGS` in a fresh interpreter and writes, when it exits, the modules it had loaded.
RUN_AND_LIST = """
import atexit, json, sys
listing, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(listing, "w").write(json.dumps(sorted(sys.modules))))
from wikitop.cli import main
main(args, prog_name="wikitop")
"""
IMPORT_AND_LIST = "import json, sys, wikitop.cli; print(json.dumps(sorted(sys.modules)))"
# What the slow imports were: the engine, HTTP, the queue, the web app, storage, the state's ORM.
ENGINE = {"wikitop._native", "wikitop.ranking", "pyarrow", "isal", "numpy"}
SERVICES = {"httpx", "celery", "kombu", "flask", "werkzeug", "gunicorn", "fsspec", "filelock", "limits"}
DATABASE = {"sqlalchemy", "alembic", "psycopg"}
SETTINGS = {"pydantic", "pydantic_settings", "pydantic_core", "dotenv"}
DRAWING = {"rich"}


def loaded_packages(modules: list[str]) -> set[str]:
    """The modules with their top-level packages, so that `sqlalchemy.exc` counts as `sqlalchemy`."""
    return set(modules) | {name.split(".")[0] for name in modules}


def run_wikitop(
    tmp_path: Path, *args: str, **settings: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    listing = tmp_path / "modules.json"
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    env["WIKITOP_DATA_DIR"] = str(tmp_path / "data")
    env |= settings
    run = subprocess.run(
        [sys.executable, "-c", RUN_AND_LIST, str(listing), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run, loaded_packages(json.loads(listing.read_text()))


def test_importing_the_cli_loads_no_backend_engine_or_settings() -> None:
    run = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_LIST], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = loaded_packages(json.loads(run.stdout))
    assert "click" in loaded
    assert loaded & (ENGINE | SERVICES | DATABASE | SETTINGS | DRAWING) == set()


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"], ["top", "--help"]])
def test_help_and_version_load_no_backend_engine_or_settings(tmp_path: Path, args: list[str]) -> None:
    run, loaded = run_wikitop(tmp_path, *args)
    assert run.returncode == 0, run.stderr
    assert "wikitop" in run.stdout
    assert loaded & (ENGINE | SERVICES | DATABASE | SETTINGS | DRAWING) == set()


def test_status_reads_sqlite_without_sqlalchemy_http_queue_engine_or_web(tmp_path: Path) -> None:
    store = open_state_store(f"sqlite:///{tmp_path / 'data' / 'state.sqlite3'}")
    try:
        store.enqueue(["2020010114", "2020010115"], max_tries=3)
    finally:
        store.close()

    run, loaded = run_wikitop(tmp_path, "status", "2020010114", "2020010116")

    assert run.returncode == 0, run.stderr
    assert [line.split()[:2] for line in run.stdout.splitlines()] == [
        ["2020010114", "queued"],
        ["2020010115", "queued"],
        ["2020010116", "unknown"],
    ]
    assert "pydantic" in loaded  # the settings say where the state is
    assert loaded & (ENGINE | SERVICES | DATABASE | DRAWING | {"pydantic_settings"}) == set()


def test_status_of_a_fresh_data_dir_creates_nothing_and_loads_no_sqlalchemy(tmp_path: Path) -> None:
    run, loaded = run_wikitop(tmp_path, "status", "2020010115")

    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:2] == ["2020010115", "unknown"]
    assert not (tmp_path / "data" / "state.sqlite3").exists()
    assert loaded & (ENGINE | SERVICES | DATABASE | DRAWING) == set()


def test_run_from_a_local_mirror_loads_no_metrics_storage_library_or_download_lock(tmp_path: Path) -> None:
    # prometheus_client (no /metrics is served), fsspec (results in a directory) and filelock (no
    # download) were a fifth of `wikitop run`'s start-up.
    dump = tmp_path / "mirror" / dump_path(parse_hour("2020010115"))
    dump.parent.mkdir(parents=True)
    dump.write_bytes(gzip.compress(b"en Main_Page 5 0\nen Other 3 0\n"))

    run, loaded = run_wikitop(
        tmp_path,
        "run",
        "2020010115",
        WIKITOP_DUMPS_URL=str(tmp_path / "mirror"),
        WIKITOP_BLACKLIST_URL="",
    )

    assert run.returncode == 0, run.stderr
    assert "2020010115  computed" in run.stdout
    assert (tmp_path / "data" / "reports" / "2020" / "2020-01" / "top-20200101-15.csv").read_text() == (
        "domain_code,rank,page_title,views\nen,1,Main_Page,5\nen,2,Other,3\n"
    )
    assert {"sqlalchemy", "wikitop._native"} <= loaded
    assert loaded & {"prometheus_client", "fsspec", "filelock", "httpx"} == set()
