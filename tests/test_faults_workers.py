"""The fault suite, workers' part: `wikitop worker` SIGKILLed again and again, a full results disk,
truncated and corrupt dumps. After each, every hour is `success`, its CSV byte-identical to a clean
`wikitop run` of the same dumps, and no hour was downloaded whole twice.

The accounting of downloads, precisely: a download cut short (the worker killed mid-body, a body
truncated by the server) or refused (a corrupt gzip) may be redone, and is; a download that went
through whole and clean is the hour's last request, and there is exactly one such per hour. The
workers here run on the embedded queue, state in SQLite, against tests/support/server.py playing
Wikimedia (which records every request).
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec, write_hour
from support.requirements import missing
from support.server import FakeWikimedia, Fault, RecordedRequest
from support.service import BLACKLIST, Service, publish, relpath, wait_until
from wikitop.hours import parse_hour
from wikitop.state import TaskStatus

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
]


HOURS = [f"20200101{hour:02d}" for hour in range(6)]
FIRST, LAST = HOURS[0], HOURS[-1]
SPEC = DumpSpec(lines=20_000, domains=40)
KILLS = 3  # SIGKILLs of the worker in the loop, each in the middle of a download
RESULT = "%Y/%Y-%m/top-%Y%m%d-%H.csv"


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Every test here builds its settings from a clean environment (conftest's clean_environment)."""


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated dumps of HOURS, laid out as Wikimedia publishes them, written once."""
    root = tmp_path_factory.mktemp("dumps")
    return {hour: write_hour(root, parse_hour(hour), replace(SPEC, seed=i)) for i, hour in enumerate(HOURS)}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, dumps: dict[str, Path]) -> dict[str, bytes]:
    """The result files of a clean `wikitop run FIRST LAST` of the same dumps, a local mirror."""
    root = tmp_path_factory.mktemp("clean")
    (root / "blacklist.txt").write_bytes(BLACKLIST)
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    env |= {
        "WIKITOP_DATA_DIR": str(root / "data"),
        "WIKITOP_DUMPS_URL": str(dumps[FIRST].parents[2]),
        "WIKITOP_BLACKLIST_URL": str(root / "blacklist.txt"),
    }
    command = [sys.executable, "-m", "wikitop", "run", FIRST, LAST]
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return {hour: results_of(root / "data" / "reports", [hour])[hour] for hour in HOURS}


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[FakeWikimedia]:
    with FakeWikimedia(tmp_path / "mirror") as server:
        yield server


def results_of(directory: Path, hours: list[str]) -> dict[str, bytes]:
    """The bytes of each hour's result file under a results directory."""
    return {hour: (directory / parse_hour(hour).strftime(RESULT)).read_bytes() for hour in hours}


def partial_files(directory: Path) -> list[Path]:
    """Files of unfinished results (the writer's temporary `.part` files) under a directory."""
    return [path for path in directory.rglob("*") if path.name.endswith(".part")]


def whole(request: RecordedRequest, dump: Path) -> bool:
    """Tell whether a request answered 200 and sent the dump's every byte."""
    return request.status == 200 and request.body_bytes == dump.stat().st_size


def assert_downloaded_once(
    mirror: FakeWikimedia, dumps: dict[str, Path], faulty: dict[str, int], cut_short: dict[str, int]
) -> None:
    """Each hour's downloads (its requests answered 200; a 503 for too many connections sends no dump):
    `faulty[hour]` served whole but corrupt, `cut_short[hour]` that sent part of the dump, then exactly
    one whole clean download, the last."""
    for hour in HOURS:
        downloads = [request for request in mirror.requests_for(relpath(hour)) if request.status == 200]
        sizes = [request.body_bytes for request in downloads]
        assert downloads and whole(downloads[-1], dumps[hour]), f"{hour}: {sizes}"
        assert sum(not whole(request, dumps[hour]) for request in downloads) == cut_short.get(hour, 0), (
            f"{hour}: {sizes}"
        )
        assert len(downloads) == 1 + faulty.get(hour, 0) + cut_short.get(hour, 0), f"{hour}: {sizes}"


def assert_like_a_clean_run(service: Service, results_dir: Path, clean_run: dict[str, bytes]) -> None:
    states = service.state.get_many(HOURS)
    assert {hour: states[hour].status for hour in HOURS} == dict.fromkeys(HOURS, TaskStatus.SUCCESS)
    assert results_of(results_dir, HOURS) == clean_run
    assert partial_files(results_dir) == []


def half_done(mirror: FakeWikimedia, seen: int) -> RecordedRequest | None:
    """The request after the first `seen` that has sent part of its body and is not over, if any."""
    return next((r for r in mirror.requests[seen:] if r.body_bytes > 0 and r.finished_at is None), None)


@pytest.mark.parametrize("victim", ["worker", "pool process"])
def test_worker_sigkilled_mid_download_again_and_again(
    tmp_path: Path, mirror: FakeWikimedia, dumps: dict[str, Path], clean_run: dict[str, bytes], victim: str
) -> None:
    """Each round SIGKILLs, halfway through a download, either the whole `wikitop worker` (a machine
    lost; it is started again) or only the pool process computing the hour (an out-of-memory kill;
    Celery starts another one)."""
    service = Service(tmp_path, mirror, "")
    service.env["WIKITOP_LEASE_S"] = "3"  # the hour of a killed process is free 3 s after its last heartbeat
    try:
        publish(mirror, dumps, HOURS)
        # Every hour's first download stalls halfway: each kill finds half a dump read.
        for hour in HOURS:
            mirror.set_fault(relpath(hour), Fault.slow(stall_s=5, times=1))
        service.ask(HOURS)
        worker = service.worker(concurrency=1)
        killed: list[str] = []
        for _ in range(KILLS):
            seen = len(mirror.requests)
            wait_until(lambda n=seen: half_done(mirror, n) is not None, "a download half done", service, 60)
            request = half_done(mirror, seen)
            assert request is not None
            hour = next(hour for hour in HOURS if request.path.endswith(relpath(hour)))
            killed.append(hour)
            if victim == "worker":
                service.kill(worker)
                worker = service.worker(concurrency=1)
            else:
                held = service.state.get(hour)
                assert held is not None and held.worker is not None
                os.kill(int(held.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        assert len(set(killed)) == KILLS  # one hour each time: the killed one is not stalled again
        started = time.monotonic()
        service.wait_for(HOURS, timeout_s=120)
        recovery_s = time.monotonic() - started
        assert_like_a_clean_run(service, tmp_path / "data" / "reports", clean_run)
        assert_downloaded_once(mirror, dumps, {}, dict.fromkeys(killed, 1))
        downloads = sum(request.status == 200 for request in mirror.requests)
        print(f"{victim}: {KILLS} SIGKILLs, {downloads} downloads of {len(HOURS)} hours, {recovery_s:.1f} s")
    finally:
        service.close()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, mounted for the test (root only); skip, or fail in CI, where it cannot be."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mount = shutil.which("mount")
    command = [mount or "mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(mountpoint)]
    if os.geteuid() != 0 or mount is None:
        missing("a tmpfs cannot be mounted (needs root and mount(8))", "WIKITOP_TEST_REQUIRE_SERVERS")
    mounted = subprocess.run(command, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        missing(f"a tmpfs cannot be mounted: {mounted.stderr.strip()}", "WIKITOP_TEST_REQUIRE_SERVERS")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=False)


def fill(disk: Path) -> Path:
    """Fill a file system up with one file; return it."""
    filler = disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        with suppress(OSError):
            while True:
                os.write(descriptor, b"\0" * 4096)
    finally:
        os.close(descriptor)
    with pytest.raises(OSError) as full:
        (disk / "probe").write_bytes(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    (disk / "probe").unlink(missing_ok=True)
    return filler


def test_full_results_disk_then_freed(
    tmp_path: Path,
    mirror: FakeWikimedia,
    tiny_disk: Path,
    dumps: dict[str, Path],
    clean_run: dict[str, bytes],
) -> None:
    results_dir = tiny_disk / "reports"
    service = Service(tmp_path, mirror, "")
    service.env["WIKITOP_RESULTS_URL"] = str(results_dir)
    # A result that cannot be stored is written again 2 s later, then 4 s: the disk is freed meanwhile.
    service.env["WIKITOP_RETRY_BACKOFF_S"] = "2"
    try:
        publish(mirror, dumps, HOURS)
        filler = fill(tiny_disk)
        service.worker(concurrency=2)
        service.ask(HOURS)

        def failed_to_write() -> bool:
            return service.worker_log_count("No space left on device") > 0

        wait_until(failed_to_write, "a result write to fail for want of space", service, timeout_s=60)
        assert [path for path in results_dir.rglob("*") if path.is_file()] == []  # no partial result
        filler.unlink()
        service.wait_for(HOURS, timeout_s=120)
        assert_like_a_clean_run(service, results_dir, clean_run)
        assert_downloaded_once(mirror, dumps, {}, {})
    finally:
        service.close()


def test_truncated_and_corrupt_dumps_then_fixed(
    tmp_path: Path, mirror: FakeWikimedia, dumps: dict[str, Path], clean_run: dict[str, bytes]
) -> None:
    service = Service(tmp_path, mirror, "")
    try:
        publish(mirror, dumps, HOURS)
        half = {hour: dumps[hour].stat().st_size // 2 for hour in HOURS}
        truncated = {HOURS[0]: 2, HOURS[1]: 1}  # cut halfway, then cut with no body at all
        mirror.set_fault(relpath(HOURS[0]), Fault.truncate(half[HOURS[0]], times=2))
        mirror.set_fault(relpath(HOURS[1]), Fault.truncate(0, times=1))
        corrupt = {HOURS[2]: 1, HOURS[3]: 2}  # within the 3 tries of an hour
        for hour, times in corrupt.items():
            mirror.set_fault(relpath(hour), Fault.corrupt(times=times))
        # Corrupt until Wikimedia fixes it: the hour fails after its tries, with no result.
        broken = HOURS[4]
        mirror.set_fault(relpath(broken), Fault.corrupt())
        service.worker(concurrency=2)
        service.ask(HOURS)
        service.wait_for([broken], TaskStatus.FAILED, timeout_s=120)
        results_dir = tmp_path / "data" / "reports"
        assert not (results_dir / parse_hour(broken).strftime(RESULT)).exists()
        assert partial_files(results_dir) == []
        mirror.clear_faults()
        service.ask([broken])
        service.wait_for(HOURS, timeout_s=120)
        assert_like_a_clean_run(service, results_dir, clean_run)
        tries = service.settings.max_tries
        assert_downloaded_once(mirror, dumps, {**corrupt, broken: tries}, truncated)
    finally:
        service.close()
