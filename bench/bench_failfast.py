"""Fail-fast benchmark: how long `wikitop run` takes to say that Wikimedia or the blacklist is unreachable.

Offline, a user must learn at once what is wrong, not after minutes of retries. Each case runs
`wikitop run START END` (2 hours) with a fresh data dir and an unreachable host, alternated with
the baseline `wikitop --version` (the process start-up); prints the medians and their ratio.

- `blacklist-dns`: the blacklist's host does not resolve (a name under `.invalid`, RFC 6761);
- `dumps-dns`: the dumps' host does not resolve, the blacklist is a local file;
- `dumps-refused`: the dumps' host refuses connections (a closed port on 127.0.0.1).

    python bench/bench_failfast.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import free_port

WIKITOP = [sys.executable, "-m", "wikitop"]
RANGE = ["2020010115", "2020010116"]


def cases(root: Path) -> dict[str, dict[str, str]]:
    """The settings of each unreachable case."""
    blacklist = root / "blacklist.txt"
    blacklist.write_text("en Main_Page\n")
    closed = f"http://127.0.0.1:{free_port()}/other/pageviews"
    return {
        "blacklist-dns": {"WIKITOP_BLACKLIST_URL": "http://blacklist.wikitop-bench.invalid/blacklist"},
        "dumps-dns": {
            "WIKITOP_BLACKLIST_URL": str(blacklist),
            "WIKITOP_DUMPS_URL": "http://dumps.wikitop-bench.invalid/other/pageviews",
        },
        "dumps-refused": {"WIKITOP_BLACKLIST_URL": str(blacklist), "WIKITOP_DUMPS_URL": closed},
    }


def time_command(command: list[str], env: dict[str, str], data_dir: Path) -> tuple[float, int, str]:
    """Run `command` with a fresh data dir; return wall seconds, exit code and the last stderr line."""
    shutil.rmtree(data_dir, ignore_errors=True)
    started = time.perf_counter()
    run = subprocess.run(
        command, env={**env, "WIKITOP_DATA_DIR": str(data_dir)}, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    lines = (run.stderr or run.stdout).strip().splitlines()
    return elapsed, run.returncode, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    base_env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        settings = cases(root)
        times: dict[str, list[float]] = {name: [] for name in ["start-up", *settings]}
        for run in range(args.runs):
            elapsed, _, _ = time_command([*WIKITOP, "--version"], base_env, data_dir)
            times["start-up"].append(elapsed)
            for name, env in settings.items():
                elapsed, code, last = time_command([*WIKITOP, "run", *RANGE], {**base_env, **env}, data_dir)
                times[name].append(elapsed)
                if run == 0:
                    print(f"{name}: exit {code}: {last}")
        baseline = statistics.median(times["start-up"])
        print(f"\nmedians of {args.runs} alternated runs (2 hours asked):")
        for name, values in times.items():
            print(
                f"  {name:<14} {statistics.median(values):6.2f} s  = {statistics.median(values) / baseline:5.1f}x start-up"
            )


if __name__ == "__main__":
    main()
