"""Helpers shared by the benchmarks: the cached generated hour, timing a whole process, a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from wikitop.hours import dump_path

# The benchmarks generate their hours with the tests' generator (tests/support, never shipped).
TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

HOUR = datetime(2020, 1, 1, 15, tzinfo=UTC)
CACHE = Path(__file__).resolve().parent / ".cache"


def realistic_dump(lines: int, domains: int, seed: int) -> Path:
    """Generate (once, then reuse) the benchmark hour in a local mirror under bench/.cache."""
    mirror = CACHE / f"mirror-{lines}-{domains}-{seed}"
    path = mirror / dump_path(HOUR)
    if not path.exists():
        print(f"generating {lines:,} lines into {path} ...", file=sys.stderr)
        _generate(path, lines, domains, seed)
    return path


def realistic_mirror(hours: int, domains: int = 1500) -> tuple[Path, list[datetime]]:
    """Generate (once, then reuse) `hours` consecutive realistic hours from HOUR's day in one mirror.

    Hour i has 5.4M + i * 40k lines (5.4M-5.7M, as real hours of 2020) and its own seed, so that
    no two hours are the same file.
    """
    mirror = CACHE / f"range-{hours}-{domains}"
    moments = [HOUR.replace(hour=0) + timedelta(hours=i) for i in range(hours)]
    for i, moment in enumerate(moments):
        path = mirror / dump_path(moment)
        if not path.exists():
            lines, seed = 5_400_000 + i * 40_000, 100 + i
            print(f"generating {lines:,} lines into {path} ...", file=sys.stderr)
            _generate(path, lines, domains, seed)
    return mirror, moments


def _generate(path: Path, lines: int, domains: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    # In a child process: generating takes hundreds of MiB, and every later child's ru_maxrss
    # starts at this process's peak RSS, which would inflate the figures of `timed`.
    generate = [sys.executable, "-c", _GENERATE, str(partial), str(lines), str(domains), str(seed)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    subprocess.run(generate, check=True, env=env)
    partial.replace(path)


_GENERATE = """
import sys
from pathlib import Path
from support.dumpgen import DumpSpec, write_dump
path, lines, domains, seed = Path(sys.argv[1]), *map(int, sys.argv[2:])
write_dump(path, DumpSpec(lines=lines, domains=domains, seed=seed))
"""


def timed(
    command: list[str],
    env: dict[str, str] | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
) -> tuple[float, int]:
    """Run a command; return (wall seconds, peak RSS in bytes of it and its waited-for children).

    The peak is never below this process's own peak RSS so far: Linux carries the parent's
    high-water mark into the child's ru_maxrss across fork and exec. Keep the calling process small.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    return elapsed, usage.ru_maxrss * 1024


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def machine_description() -> str:
    """The CPU, the usable cores, Python and the load: what a figure was measured on."""
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {len(os.sched_getaffinity(0))} usable CPUs ({os.cpu_count()} online), {model}, "
        f"Python {sys.version.split()[0]}; load average {load}"
    )
