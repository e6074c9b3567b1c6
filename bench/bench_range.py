"""Range benchmark: a 24-hour `wikitop run` against a throttled local Wikimedia, vs the network floor.

The fake server caps each connection at --rate bytes/s (Wikimedia serves about 5 MB/s per
connection) and answers 503 beyond 3 connections, as Wikimedia does. With
WIKITOP_DOWNLOAD_CONCURRENCY=3 the floor is total bytes / (3 x rate); the script prints the run's
wall time, that floor and their ratio.

    python bench/bench_range.py [--hours 24] [--rate 5e6] [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common import HOUR, realistic_dump
from wikitop.hours import dump_path, format_hour
from wikitop.testing.server import FakeWikimedia


def build_mirror(root: Path, hours: int, lines: int) -> int:
    """Link the benchmark hour under `hours` consecutive names; return the total bytes."""
    source = realistic_dump(lines, 1500, 1)
    for offset in range(hours):
        target = root / dump_path(HOUR + timedelta(hours=offset))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    return source.stat().st_size * hours


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--rate", type=float, default=5e6, help="bytes/s per connection")
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--lines", type=int, default=5_700_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        mirror, data_dir = Path(scratch) / "mirror", Path(scratch) / "data"
        total_bytes = build_mirror(mirror, args.hours, args.lines)
        with FakeWikimedia(mirror, max_connections=3, throttle_bytes_per_s=args.rate) as server:
            env = {
                **os.environ,
                "WIKITOP_DATA_DIR": str(data_dir),
                "WIKITOP_DUMPS_URL": server.url,
                "WIKITOP_BLACKLIST_URL": "",
                "WIKITOP_DOWNLOAD_CONCURRENCY": "3",
            }
            last = HOUR + timedelta(hours=args.hours - 1)
            command = [sys.executable, "-m", "wikitop", "run", format_hour(HOUR), format_hour(last)]
            started = time.perf_counter()
            subprocess.run(
                [*command, "--jobs", str(args.jobs)], env=env, check=True, stdout=subprocess.DEVNULL
            )
            elapsed = time.perf_counter() - started
            rejected = sum(1 for request in server.requests if request.status == 503)
            peak = server.max_concurrent
            for request in server.requests:
                duration = (request.finished_at or 0) - request.started_at
                print(
                    f"  {request.path[-28:]} {request.status} {request.body_bytes / 1e6:.1f} MB in {duration:.1f} s"
                )
    floor = total_bytes / (3 * args.rate)
    print(
        f"{args.hours} hours, {total_bytes / 1e6:,.0f} MB, {args.rate / 1e6:.1f} MB/s per connection, --jobs {args.jobs}"
    )
    print(f"wall time                 : {elapsed:.1f} s")
    print(f"floor bytes/(3 x rate)    : {floor:.1f} s")
    print(f"ratio                     : {elapsed / floor:.2f}x")
    print(f"peak connections / 503s   : {peak} / {rejected}")


if __name__ == "__main__":
    main()
