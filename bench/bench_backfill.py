"""Backfill benchmark: `wikitop run START END --force --jobs J` over 8 hours, and one whole hour.

Three sections, each against `gzip -dc FILE > /dev/null` of one hour in the same loop (alternating
runs; the machine is shared, so read the ratios of medians and their spread):

- range: a local mirror of 8 realistic hours (5.4M-5.68M lines each, generated once under
  bench/.cache), `wikitop run` of all 8 with `--jobs 1` and `--jobs 2`; the baseline is
  `gzip -dc` of the mirror's largest hour.
- http (not run by default): the same 8 hours downloaded over HTTP from a fake Wikimedia on
  loopback (this process serves them, unthrottled, at most 3 connections, as Wikimedia allows;
  WIKITOP_DOWNLOAD_CONCURRENCY=3): each hour ranked while it downloads.
- hour: `wikitop run HOUR --force` of the 5.7M-line benchmark hour, with `--blacklist FILE`.

Peak RSS is that of the whole process tree (the wikitop process and any children it starts, summed,
sampled every 20 ms) or the kernel's high-water mark of the largest process, whichever is larger.
Each command runs once unmeasured first (its bytecode cache, under the data dir, and the page
cache warm up), with Python's bytecode cache on as an installed wikitop has it.
`--before PYTHON` also runs, alternating in the same loop, another interpreter's wikitop (e.g. a
virtualenv of the main branch) for a "before"; `--python` is the "after" (default: this one).

    python bench/bench_backfill.py [--runs 5] [--sections range,http,hour] [--jobs 1,2]
        [--blacklist FILE] [--range-blacklist FILE] [--before PYTHON] [--python PYTHON]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil

from common import HOUR, machine_description, realistic_dump, realistic_mirror
from wikitop.hours import dump_path

RANGE_HOURS = 8
SAMPLE_S = 0.02


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sections", default="range,hour")
    parser.add_argument("--jobs", default="1,2", help="--jobs values of the range section")
    parser.add_argument("--blacklist", default="", help="blacklist file of the hour section")
    parser.add_argument("--range-blacklist", default="", help="blacklist file of the range section")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose wikitop runs")
    parser.add_argument("--before", default="", help="interpreter of the code to compare with")
    args = parser.parse_args()
    sections = args.sections.split(",")
    pythons = {"after": args.python, **({"before": args.before} if args.before else {})}
    print(machine_description())
    with tempfile.TemporaryDirectory() as data_dir:
        if "range" in sections:
            jobs = [int(value) for value in args.jobs.split(",")]
            bench_range(pythons, jobs, args.range_blacklist, args.runs, Path(data_dir))
        if "http" in sections:
            jobs = [int(value) for value in args.jobs.split(",")]
            bench_http(pythons, jobs, args.range_blacklist, args.runs, Path(data_dir))
        if "hour" in sections:
            bench_hour(pythons, args.blacklist, args.runs, Path(data_dir))


def bench_range(pythons: dict[str, str], jobs: list[int], blacklist: str, runs: int, data_dir: Path) -> None:
    """Alternate `gzip -dc` of one hour with `wikitop run` of the 8 hours at each --jobs."""
    mirror, moments = realistic_mirror(RANGE_HOURS)
    largest = mirror / dump_path(moments[-1])
    env = _env(data_dir / "range", mirror, blacklist)
    first, last = (moment.strftime("%Y%m%d%H") for moment in (moments[0], moments[-1]))
    commands = {
        f"{label} --jobs {count}": [python, "-m", "wikitop", "run", first, last, "--force", f"--jobs={count}"]
        for label, python in pythons.items()
        for count in jobs
    }
    print(f"range: {RANGE_HOURS} hours in {mirror}, blacklist {blacklist or 'none'}, {pythons}")
    _alternate(largest, commands, env, runs)


def bench_http(pythons: dict[str, str], jobs: list[int], blacklist: str, runs: int, data_dir: Path) -> None:
    """The range section's 8 hours downloaded from a local fake Wikimedia (3 connections, no throttle)."""
    from support.server import FakeWikimedia

    mirror, moments = realistic_mirror(RANGE_HOURS)
    largest = mirror / dump_path(moments[-1])
    first, last = (moment.strftime("%Y%m%d%H") for moment in (moments[0], moments[-1]))
    commands = {
        f"{label} http --jobs {count}": [
            python,
            "-m",
            "wikitop",
            "run",
            first,
            last,
            "--force",
            f"--jobs={count}",
        ]
        for label, python in pythons.items()
        for count in jobs
    }
    with FakeWikimedia(mirror, max_connections=3) as server:
        env = {**_env(data_dir / "http", mirror, blacklist), "WIKITOP_DUMPS_URL": server.url}
        env["WIKITOP_DOWNLOAD_CONCURRENCY"] = "3"
        print(
            f"http: {RANGE_HOURS} hours served by a fake Wikimedia at {server.url}, blacklist {blacklist or 'none'}"
        )
        _alternate(largest, commands, env, runs)
        print(f"  downloads served: {len(server.requests)} (one per hour and run; its CPU is this process's)")


def bench_hour(pythons: dict[str, str], blacklist: str, runs: int, data_dir: Path) -> None:
    """Alternate `gzip -dc` of the benchmark hour with a whole `wikitop run HOUR --force`."""
    dump = realistic_dump(5_700_000, 1500, 1)
    env = _env(data_dir / "hour", dump.parents[2], blacklist)
    commands = {
        f"{label} run HOUR --force": [python, "-m", "wikitop", "run", HOUR.strftime("%Y%m%d%H"), "--force"]
        for label, python in pythons.items()
    }
    print(f"hour: {dump}, blacklist {blacklist or 'none'}, {pythons}")
    _alternate(dump, commands, env, runs)


def _env(data_dir: Path, mirror: Path, blacklist: str) -> dict[str, str]:
    # An installed wikitop runs from compiled bytecode (pip compiles it at install): so do the
    # commands here, with their bytecode cached under the data dir (never in a checkout), even
    # where the environment says not to write it.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **environment,
        "PYTHONPYCACHEPREFIX": str(data_dir / "pycache"),
        "WIKITOP_DATA_DIR": str(data_dir),
        "WIKITOP_DUMPS_URL": str(mirror),
        "WIKITOP_BLACKLIST_URL": blacklist,
    }


def _alternate(dump: Path, commands: dict[str, list[str]], env: dict[str, str], runs: int) -> None:
    """Run gzip -dc and each command in turn, `runs` times; print each run, then medians and ratios."""
    times: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    peaks: dict[str, list[int]] = defaultdict(list)
    gzip = ["gzip", "-dc", str(dump)]
    # One unmeasured run of each first: it compiles the bytecode cache and reads the files into memory.
    for command in [gzip, *commands.values()]:
        _measure(command, env)
    for run in range(1, runs + 1):
        names = list(commands)
        # Rotate the order so that no command always follows the same neighbour.
        names = names[run % len(names) :] + names[: run % len(names)]
        for name in ["gzip -dc", *names]:
            seconds, cpu_s, peak = _measure(commands.get(name, gzip), env)
            times[name].append(seconds)
            cpu[name].append(cpu_s)
            peaks[name].append(peak)
        line = [
            f"{name} {times[name][-1]:.2f} s (CPU {cpu[name][-1]:.2f} s)" for name in ["gzip -dc", *names]
        ]
        print(f"  run {run}: " + "   ".join(line), flush=True)
    baseline = statistics.median(times["gzip -dc"])
    baseline_cpu = statistics.median(cpu["gzip -dc"])
    print(
        f"  median gzip -dc of one hour: {baseline:.2f} s ({_spread(times['gzip -dc'])}), CPU {baseline_cpu:.2f} s"
    )
    for name in commands:
        median, median_cpu = statistics.median(times[name]), statistics.median(cpu[name])
        print(
            f"  {name}: median {median:.2f} s ({_spread(times[name])}) = {median / baseline:.2f}x gzip -dc; "
            f"CPU {median_cpu:.2f} s = {median_cpu / baseline_cpu:.2f}x; peak RSS {max(peaks[name]) / 2**20:.0f} MiB"
        )


def _spread(values: list[float]) -> str:
    return f"min {min(values):.2f}, max {max(values):.2f}"


def _measure(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run a command to its end; return (wall seconds, CPU seconds, peak RSS in bytes of its process tree).

    CPU seconds (user + system, the command and its children) say what the work costs whatever
    else the machine is doing; wall seconds are what a user waits.
    """
    started = time.perf_counter()
    with Path(os.devnull).open("wb") as devnull:
        process = subprocess.Popen(command, env=env, stdout=devnull, stderr=devnull)
    sampled = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(process.pid, done, sampled))
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} exited with {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_utime + usage.ru_stime, max(sampled[0], usage.ru_maxrss * 1024)


def _sample_tree(pid: int, done: threading.Event, peak: list[int]) -> None:
    """Record in peak[0] the largest sum of RSS over the process and its children seen."""
    try:
        root = psutil.Process(pid)
        while not done.wait(SAMPLE_S):
            members = [root, *root.children(recursive=True)]
            total = 0
            for member in members:
                try:
                    total += member.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total)
    except psutil.Error:
        return


if __name__ == "__main__":
    main()
