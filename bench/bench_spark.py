"""Spark local[2] against `wikitop run --jobs 2`: 8 realistic hours from a local mirror.

    python bench/bench_spark.py [--hours 8] [--lines 5700000] [--runs 3] [--no-dataframe]

Each run is a whole process (the JVM and Spark's Python workers included) on a new data dir, the
forms alternating; the figures are medians. Forms:
- `wikitop run START END --jobs 2` (the baseline);
- `wikitop spark START END --master local[2]` (Spark hands the hours to executors running wikitop's
  engine: what wikitop ships);
- the prototype's DataFrame map-reduce in local[2] (`--dataframe-job`, below): read the text, split
  on spaces, sum views by (hour, domain, title), rank per (hour, domain) with a window, keep 25.
  It follows only some of the README's rules (no quoted fields, no blacklist, titles decoded as
  UTF-8 by Spark, results collected rather than written): a lower bound of what a DataFrame job
  with every rule would cost.
Peak memory is the largest sum of the resident memory of the process and all its descendants,
sampled every 50 ms (psutil).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psutil

from common import HOUR, realistic_dump
from wikitop.hours import dump_path, format_hour

SAMPLE_S = 0.05
MIB = 1 << 20


def build_mirror(root: Path, hours: int, lines: int) -> Path:
    """A local mirror of `hours` hours, each a hard link to the one generated realistic hour."""
    source = realistic_dump(lines, 1500, 1)
    for offset in range(hours):
        target = root / dump_path(HOUR + timedelta(hours=offset))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            os.link(source, target)
    return root


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (0 for those gone meanwhile)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run a command; return its wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, tree_rss(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_S)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}:\n{stderr[-2000:]}")
    return elapsed, peak


def commands(first: str, last: str, mirror: Path, dataframe: bool) -> dict[str, list[str]]:
    wikitop = [sys.executable, "-m", "wikitop"]
    forms = {
        "wikitop run --jobs 2": [*wikitop, "run", first, last, "--jobs", "2"],
        "wikitop spark --master local[2] (executors run wikitop's engine)": [
            *wikitop, "spark", first, last, "--master", "local[2]",
        ],
    }  # fmt: skip
    if dataframe:
        forms["DataFrame map-reduce, local[2] (some rules only)"] = [
            sys.executable, __file__, "--dataframe-job", str(mirror),
        ]  # fmt: skip
    return forms


def dataframe_job(mirror: Path) -> None:
    """The prototype's map-reduce on every dump of the mirror, as a DataFrame job in local[2]."""
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F  # noqa: N812

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    lines = spark.read.text(str(mirror / "*" / "*" / "*.gz")).withColumn("hour", F.input_file_name())
    fields = F.split("value", " ")
    rows = lines.where((F.size(fields) == 4) & fields[2].rlike("^[0-9]{1,18}$")).select(
        "hour",
        fields[0].alias("domain"),
        fields[1].alias("title"),
        fields[2].cast("long").alias("views"),
    )
    summed = rows.groupBy("hour", "domain", "title").agg(F.sum("views").alias("views"))
    order = Window.partitionBy("hour", "domain").orderBy(F.desc("views"), F.asc("title"))
    top = summed.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= 25)
    count = top.count()
    spark.stop()
    print(f"{count} rows")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=int, default=8)
    parser.add_argument("--lines", type=int, default=5_700_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-dataframe", action="store_true", help="leave out the DataFrame form")
    parser.add_argument("--dataframe-job", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dataframe_job:
        dataframe_job(args.dataframe_job)
        return
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as work:
        mirror = build_mirror(Path(work) / "mirror", args.hours, args.lines)
        first, last = format_hour(HOUR), format_hour(HOUR + timedelta(hours=args.hours - 1))
        forms = commands(first, last, mirror, not args.no_dataframe)
        figures: dict[str, list[tuple[float, int]]] = {name: [] for name in forms}
        for run in range(args.runs):
            for name, command in forms.items():
                env = {
                    **os.environ,
                    "WIKITOP_DATA_DIR": str(Path(work) / f"data-{run}-{len(figures[name])}-{hash(name)}"),
                    "WIKITOP_DUMPS_URL": str(mirror),
                    "WIKITOP_BLACKLIST_URL": "",
                }
                figures[name].append(measure(command, env))
                seconds, peak = figures[name][-1]
                print(f"run {run + 1}: {name}: {seconds:.1f} s, {peak / MIB:,.0f} MiB", file=sys.stderr)
        print_table(figures, args.hours)


def print_table(figures: dict[str, list[tuple[float, int]]], hours: int) -> None:
    baseline = statistics.median(seconds for seconds, _ in next(iter(figures.values())))
    print("| form | wall s | hours per minute | vs `wikitop run` | peak memory (process tree) |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in figures.items():
        seconds = statistics.median(wall for wall, _ in runs)
        peak = statistics.median(rss for _, rss in runs)
        print(
            f"| {name} | {seconds:.1f} | {hours * 60 / seconds:.1f} | {seconds / baseline:.2f}x "
            f"| {peak / MIB:,.0f} MiB |"
        )


if __name__ == "__main__":
    main()
