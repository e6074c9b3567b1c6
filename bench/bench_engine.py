"""Engine benchmark: a whole `wikitop run HOUR --force` process against `gzip -dc FILE > /dev/null`.

Generates a realistic hour (default 5.7M lines, ~1.5k domain codes, Zipf views) into a local mirror,
then alternates the two commands, prints each run, the medians, their ratio and the peak RSS of the
wikitop process. Figures are ratios measured in the same script because the machine is shared.

    python bench/bench_engine.py [--lines 5700000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from wikitop.hours import dump_path
from wikitop.testing.dumpgen import DumpSpec, write_dump

HOUR = datetime(2020, 1, 1, 15, tzinfo=UTC)
CACHE = Path(__file__).resolve().parent / ".cache"


def realistic_dump(lines: int, domains: int, seed: int) -> Path:
    """Generate (once, then reuse) the benchmark hour in a local mirror under bench/.cache."""
    mirror = CACHE / f"mirror-{lines}-{domains}-{seed}"
    path = mirror / dump_path(HOUR)
    if not path.exists():
        print(f"generating {lines:,} lines into {path} ...", file=sys.stderr)
        partial = path.with_name(path.name + ".part")
        write_dump(partial, DumpSpec(lines=lines, domains=domains, seed=seed))
        partial.replace(path)
    return path


def timed(
    command: list[str], env: dict[str, str] | None = None, stdout: int | None = None
) -> tuple[float, int]:
    """Run a command; return (wall seconds, peak RSS in bytes of it and its waited-for children)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {process.returncode}")
    return elapsed, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=5_700_000)
    parser.add_argument("--domains", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blacklist", default="", help="blacklist file (default: none)")
    args = parser.parse_args()

    dump = realistic_dump(args.lines, args.domains, args.seed)
    mirror = dump.parents[2]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "WIKITOP_DATA_DIR": data_dir,
            "WIKITOP_DUMPS_URL": str(mirror),
            "WIKITOP_BLACKLIST_URL": args.blacklist,
        }
        wikitop = [sys.executable, "-m", "wikitop", "run", HOUR.strftime("%Y%m%d%H"), "--force"]
        gzip_times, wikitop_times, peaks = [], [], []
        for run in range(1, args.runs + 1):
            with Path(os.devnull).open("wb") as devnull:
                gzip_s, _ = timed(["gzip", "-dc", str(dump)], stdout=devnull.fileno())
                wikitop_s, peak = timed(wikitop, env=env, stdout=devnull.fileno())
            gzip_times.append(gzip_s)
            wikitop_times.append(wikitop_s)
            peaks.append(peak)
            print(
                f"run {run}: gzip -dc {gzip_s:.2f} s   wikitop run {wikitop_s:.2f} s   peak RSS {peak / 2**20:.0f} MiB"
            )
    gzip_median, wikitop_median = statistics.median(gzip_times), statistics.median(wikitop_times)
    print(f"file: {dump.stat().st_size / 1e6:.1f} MB gzip, {args.lines:,} lines, {args.domains} domain codes")
    print(f"median gzip -dc > /dev/null : {gzip_median:.2f} s")
    print(f"median wikitop run --force  : {wikitop_median:.2f} s")
    print(f"ratio wikitop / gzip        : {wikitop_median / gzip_median:.2f}x")
    print(f"peak RSS of wikitop (max)   : {max(peaks) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
