"""Engine benchmark: a whole `wikitop run HOUR --force` process against `gzip -dc FILE > /dev/null`.

Generates a realistic hour (default 5.7M lines, ~1.5k domain codes, Zipf views) into a local mirror,
then alternates the two commands, prints each run, the medians, their ratio and the peak RSS of the
wikitop process. Figures are ratios measured in the same script because the machine is shared.

    python bench/bench_engine.py [--lines 5700000] [--runs 3] [--blacklist FILE] [--engine arrow]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from common import HOUR, realistic_dump, timed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=5_700_000)
    parser.add_argument("--domains", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--blacklist", default="", help="blacklist file (default: none)")
    parser.add_argument(
        "--engine", default="auto", choices=["auto", "native", "arrow"], help="WIKITOP_ENGINE"
    )
    args = parser.parse_args()

    dump = realistic_dump(args.lines, args.domains, args.seed)
    mirror = dump.parents[2]
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "WIKITOP_DATA_DIR": data_dir,
            "WIKITOP_DUMPS_URL": str(mirror),
            "WIKITOP_BLACKLIST_URL": args.blacklist,
            "WIKITOP_ENGINE": args.engine,
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
    print(f"engine: {args.engine}, blacklist: {args.blacklist or 'none'}")
    print(f"median gzip -dc > /dev/null : {gzip_median:.2f} s")
    print(f"median wikitop run --force  : {wikitop_median:.2f} s")
    print(f"ratio wikitop / gzip        : {wikitop_median / gzip_median:.2f}x")
    print(f"peak RSS of wikitop (max)   : {max(peaks) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
