"""Scaling curve and comparison table: wikitop against gzip, a plain Python loop and DuckDB SQL.

For generated hours of several sizes (cached under bench/.cache, as bench_engine.py does), each
contender runs as a process of its own, alternating within a run; the table gives median wall
seconds and peak RSS (os.wait4) per contender and size:

1. `wikitop run HOUR --force`, a whole process, without a blacklist (and with the real one when
   ../shared/data/blacklist_domains_and_pages exists next to the repository), then with its Arrow
   engine alone (WIKITOP_ENGINE=arrow, as installed without a C compiler);
2. `gzip -dc FILE > /dev/null`, the floor: only inflating the file;
3. a plain Python loop (gzip.open, split on spaces, dict sums, a heap per domain): the
   straightforward implementation. It does not unquote quoted fields, so a quoted title stays a
   different key, quotes and backslashes included, and a quoted title holding a space is skipped;
4. DuckDB SQL: read_csv (space-delimited, no quote, all varchar, ignore_errors), GROUP BY, then
   ROW_NUMBER() per domain. It does not unquote quoted fields either, drops lines with invalid
   UTF-8 instead of grouping them as bytes, accepts counts such as "+5", "1_000", "0x10" or "1e3"
   (TRY_CAST), skips blank lines without counting them (ignore_errors counts nothing unless
   store_rejects is added), and a `\\r` inside a line aborts the whole query (strict mode; with
   strict_mode = false it instead keeps lines with 5 fields, silently dropping the fifth).
   The generated hours hold no `\\r`, so it runs here.

Neither 3 nor 4 applies a blacklist: compare them with wikitop's first variant. On the smallest
size the top rows of 1, 3 and 4 are compared (en.m and en in full, and how many domains agree).

    python bench/bench_compare.py [--sizes 1M,3M,6M,12M] [--runs 3] [--skip-python-above 6M]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import heapq
import os
import re
import resource
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TOP_N = 25
HEADER = ["domain_code", "rank", "page_title", "views"]
REPO = Path(__file__).resolve().parents[1]
REAL_BLACKLIST = REPO.parent / "shared" / "data" / "blacklist_domains_and_pages"
CHECKED_DOMAINS = ("en.m", "en")


# The contenders 3 and 4. They run in a process of their own (`--contender NAME DUMP OUT`), which
# imports only this module's standard-library imports (and duckdb for 4).


def plain_python_top(dump: str, out: str) -> None:
    """The straightforward loop: sum views per (domain, title), then the top N of each domain."""
    views_by_page: defaultdict[tuple[bytes, bytes], int] = defaultdict(int)
    with gzip.open(dump, "rb") as lines:
        for line in lines:
            fields = line.rstrip(b"\n").split(b" ")
            if len(fields) == 4 and fields[2].isdigit():
                views_by_page[fields[0], fields[1]] += int(fields[2])
    pages_by_domain: defaultdict[bytes, list[tuple[int, bytes]]] = defaultdict(list)
    for (domain, title), views in views_by_page.items():
        pages_by_domain[domain].append((views, title))
    with Path(out).open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for domain in sorted(pages_by_domain):
            # heapq.nlargest cannot break ties by ascending title; nsmallest of (-views, title) can.
            best = heapq.nsmallest(TOP_N, pages_by_domain[domain], key=lambda page: (-page[0], page[1]))
            for rank, (views, title) in enumerate(best, start=1):
                writer.writerow(
                    [domain.decode("utf-8", "replace"), rank, title.decode("utf-8", "replace"), views]
                )


DUCKDB_QUERY = """
COPY (
    WITH parsed AS (
        SELECT domain, title, TRY_CAST(views AS BIGINT) AS views
        FROM read_csv($dump, delim = ' ', quote = '', escape = '', new_line = '\\n', header = false,
                      auto_detect = false, ignore_errors = true,
                      columns = {'domain': 'VARCHAR', 'title': 'VARCHAR', 'views': 'VARCHAR', 'size': 'VARCHAR'})
    ),
    summed AS (
        SELECT domain, title, sum(views) AS views FROM parsed WHERE views IS NOT NULL GROUP BY domain, title
    )
    SELECT domain AS domain_code,
           ROW_NUMBER() OVER (PARTITION BY domain ORDER BY views DESC, title) AS rank,
           title AS page_title, views
    FROM summed
    QUALIFY rank <= $top_n
    ORDER BY domain_code, rank
) TO '{out}' (HEADER)
"""


def duckdb_top(dump: str, out: str) -> None:
    """The same ranking in DuckDB SQL, read straight from the gzip file."""
    import duckdb  # only this contender's process pays for it

    with duckdb.connect() as connection:
        query = DUCKDB_QUERY.replace("{out}", out.replace("'", "''"))
        connection.execute(query, {"dump": dump, "top_n": TOP_N})


CONTENDER_MAINS: dict[str, Callable[[str, str], None]] = {"python": plain_python_top, "duckdb": duckdb_top}


# The driver.


@dataclass(frozen=True)
class Contender:
    """One command to time, and where it leaves its ranking (None: it leaves none)."""

    label: str
    command: list[str]
    env: dict[str, str] | None = None
    result_csv: Path | None = None


@dataclass(frozen=True)
class Figures:
    """Wall seconds and peak RSS of one contender on one size: one run, or the medians and largest peak."""

    seconds: float
    peak_bytes: int
    # The driver's own peak RSS when it started the command: Linux counts it in the child's ru_maxrss,
    # so a peak at or below it only says "at most this much" (gzip's real peak is a few MiB).
    floor_bytes: int
    pipeline_seconds: float | None = None  # wikitop only: its own figure, without start-up

    def peak_mib(self) -> str:
        return f"{'<=' if self.peak_bytes <= self.floor_bytes else ''}{self.peak_bytes / 2**20:.0f}"


def main() -> None:
    args = _parse_args()
    # Imported here, not at the top: the contender processes import this module and must stay lean.
    from common import machine_description, realistic_dump

    print(machine_description())
    print(_code_version())
    load_at_start = _load_average()
    table: list[tuple[int, float, dict[str, Figures | str]]] = []
    python_s_per_mline: float | None = None
    for lines in args.sizes:
        dump = realistic_dump(lines, args.domains, args.seed)
        skip_python = lines > args.skip_python_above
        figures: dict[str, Figures | str] = dict(_compare(dump, lines, args.runs, skip_python, args.sizes[0]))
        if skip_python:
            rate = "?" if python_s_per_mline is None else f"~{python_s_per_mline:.1f}s"
            figures["python loop"] = f"skipped (too slow: {rate} per M lines)"
        elif isinstance(python := figures["python loop"], Figures):
            python_s_per_mline = python.seconds / (lines / 1e6)
        table.append((lines, dump.stat().st_size / 1e6, figures))
    print()
    print(_markdown_table(table, args.runs))
    print()
    if len(table) > 1:
        print(_scaling(table))
        print()
    print(f"load average (1, 5, 15 min): {load_at_start} at start, {_load_average()} at end")
    print("The machine is shared and noisy: compare contenders within a row (they alternate within")
    print("each run), and read absolute seconds as indicative only.")


def _compare(dump: Path, lines: int, runs: int, skip_python: bool, check_at: int) -> dict[str, Figures]:
    """Time the contenders on one dump; when it has `check_at` lines, also compare their rankings."""
    from common import HOUR

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as work:
        contenders = _contenders(dump, HOUR.strftime("%Y%m%d%H"), Path(work), skip_python)
        figures = _measure(contenders, lines, runs, Path(work))
        if lines == check_at:
            _check_agreement(contenders, lines)
    return figures


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=_sizes, default=_sizes("1M,3M,6M,12M"), help="line counts, e.g. 1M,3M"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per size; the table gives medians")
    parser.add_argument("--skip-python-above", type=_line_count, default=6_000_000, metavar="N")
    parser.add_argument("--domains", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def _line_count(text: str) -> int:
    """Parse `1M`, `500k` or `1000000` into a number of lines."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        return int(float(text.rstrip("km")) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a line count: {text!r} (expected e.g. 3M, 500k, 1000000)"
        ) from None


def _sizes(text: str) -> list[int]:
    return sorted({_line_count(part) for part in text.split(",") if part.strip()})


def _contenders(dump: Path, hour: str, work: Path, skip_python: bool) -> list[Contender]:
    """The commands to compare on one dump; `work` holds their data dirs and outputs."""
    mirror = dump.parents[2]
    wikitop = [sys.executable, "-m", "wikitop", "run", hour, "--force"]
    result = Path("reports", hour[:4], f"{hour[:4]}-{hour[4:6]}", f"top-{hour[:8]}-{hour[8:]}.csv")
    # (label, blacklist, engine): the C engine (the default), with the real blacklist, and Arrow alone.
    variants = [("wikitop", "", "auto")]
    if REAL_BLACKLIST.is_file():
        variants.append(("wikitop + blacklist", str(REAL_BLACKLIST), "auto"))
    variants.append(("wikitop, arrow engine", "", "arrow"))
    contenders = [Contender("gzip -dc", ["gzip", "-dc", str(dump)])]
    for number, (label, blacklist, engine) in enumerate(variants):
        data_dir = work / f"wikitop-{number}"
        # Only these settings: none inherited from the caller's environment (WIKITOP_TOP_N, ...).
        env = {
            **{name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")},
            "WIKITOP_DATA_DIR": str(data_dir),
            "WIKITOP_DUMPS_URL": str(mirror),
            "WIKITOP_BLACKLIST_URL": blacklist,
            "WIKITOP_ENGINE": engine,
        }
        contenders.append(Contender(label, wikitop, env, data_dir / result))
    for label, name in (("python loop", "python"), ("duckdb", "duckdb")):
        if name == "python" and skip_python:
            continue
        out = work / f"{name}.csv"
        command = [sys.executable, str(Path(__file__).resolve()), "--contender", name, str(dump), str(out)]
        contenders.append(Contender(label, command, result_csv=out))
    return contenders


def _measure(contenders: list[Contender], lines: int, runs: int, work: Path) -> dict[str, Figures]:
    """Run every contender `runs` times, alternating (each run starts one contender later)."""
    samples: defaultdict[str, list[Figures]] = defaultdict(list)
    for run in range(runs):
        shift = run % len(contenders)
        parts = []
        for contender in contenders[shift:] + contenders[:shift]:
            sample = _run_once(contender, work / "stderr.txt")
            samples[contender.label].append(sample)
            inside = "" if sample.pipeline_seconds is None else f" (pipeline {sample.pipeline_seconds:.1f} s)"
            parts.append(f"{contender.label} {sample.seconds:.2f} s{inside} {sample.peak_mib()} MiB")
        print(f"{lines / 1e6:g}M lines, run {run + 1}: " + " | ".join(parts), flush=True)
    return {label: _summary(runs_of_label) for label, runs_of_label in samples.items()}


def _summary(samples: list[Figures]) -> Figures:
    """Median seconds, largest peak RSS."""
    pipeline = [sample.pipeline_seconds for sample in samples if sample.pipeline_seconds is not None]
    largest = max(samples, key=lambda sample: sample.peak_bytes)
    return Figures(
        seconds=statistics.median(sample.seconds for sample in samples),
        peak_bytes=largest.peak_bytes,
        floor_bytes=largest.floor_bytes,
        pipeline_seconds=statistics.median(pipeline) if pipeline else None,
    )


def _run_once(contender: Contender, stderr_file: Path) -> Figures:
    """Time one run of a contender; its stderr is shown only if it fails."""
    from common import timed

    floor_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with Path(os.devnull).open("wb") as devnull, stderr_file.open("wb") as stderr:
        try:
            seconds, peak = timed(contender.command, contender.env, devnull.fileno(), stderr.fileno())
        except SystemExit:
            print(stderr_file.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
    # `wikitop run` ends with "[1/1] 2020010115 computed: 18416 rows in 1.3 s": the time inside
    # process_hour, without the interpreter's start, imports and settings.
    found = re.search(r"computed: \d+ rows in ([0-9.]+) s", stderr_file.read_text(errors="replace"))
    return Figures(seconds, peak, floor_bytes, float(found.group(1)) if found else None)


Ranking = dict[str, list[tuple[str, int]]]


def _check_agreement(contenders: list[Contender], lines: int) -> None:
    """Print whether the rankings of the Python loop and DuckDB match wikitop's (no blacklist)."""
    rankings = {c.label: _read_ranking(c.result_csv) for c in contenders if c.result_csv is not None}
    rankings.pop("wikitop + blacklist", None)
    reference = rankings.pop("wikitop")
    print(
        f"agreement on {lines / 1e6:g}M lines: top {TOP_N} rows of each domain, against wikitop (no blacklist)"
    )
    for domain in CHECKED_DOMAINS:
        top = ", ".join(f"{title} {views}" for title, views in reference.get(domain, [])[:3])
        print(f"  {domain}: wikitop's first 3: {top}")
        for label, ranking in rankings.items():
            verdict = _difference(reference.get(domain, []), ranking.get(domain, [])) or "identical"
            print(f"    {label}: {verdict}")
    shown: set[str] = set()
    for label, ranking in rankings.items():
        differing = {d for d in reference.keys() | ranking.keys() if reference.get(d) != ranking.get(d)}
        print(f"  all domains, {label}: {len(differing)} of {len(reference)} domain codes differ")
        # Examples, those not shown for the previous contender first.
        for domain in sorted(differing, key=lambda d: (d in shown, d))[:3]:
            print(f"    {domain!r}: {_difference(reference.get(domain, []), ranking.get(domain, []))}")
            shown.add(domain)


def _read_ranking(path: Path) -> Ranking:
    ranking: Ranking = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            ranking[row["domain_code"]].append((row["page_title"], int(row["views"])))
    return ranking


def _difference(expected: list[tuple[str, int]], actual: list[tuple[str, int]]) -> str:
    """Describe the first row where two top lists differ ('' when they are equal)."""
    for rank, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != got:
            return f"rank {rank}: wikitop {want[0]!r} {want[1]}, here {got[0]!r} {got[1]}"
    if len(expected) != len(actual):
        return f"{len(actual)} rows instead of {len(expected)}"
    return ""


def _markdown_table(table: list[tuple[int, float, dict[str, Figures | str]]], runs: int) -> str:
    labels = list(dict.fromkeys(label for _, _, figures in table for label in figures))
    header = ["lines", "gzip MB"]
    for label in labels:
        header += [f"{label} s", f"{label} MiB"]
    header.append("wikitop / gzip")
    lines = [f"| {' | '.join(header)} |", "|" + "---:|" * len(header)]
    for line_count, megabytes, figures in table:
        cells = [f"{line_count / 1e6:g}M", f"{megabytes:.1f}"]
        for label in labels:
            value = figures.get(label, "-")
            if isinstance(value, Figures):
                cells += [f"{value.seconds:.2f}", value.peak_mib()]
            else:
                cells += [value, ""]
        wikitop, floor = figures["wikitop"], figures["gzip -dc"]
        assert isinstance(wikitop, Figures) and isinstance(floor, Figures)
        cells.append(f"{wikitop.seconds / floor.seconds:.2f}x")
        lines.append(f"| {' | '.join(cells)} |")
    lines.append(
        f"\nseconds: median of {runs} run(s), wall time of the whole process; MiB: largest peak RSS "
        "(os.wait4); '<=N': the figure is the driver's own RSS, which Linux counts in every child's peak"
    )
    return "\n".join(lines)


def _scaling(table: list[tuple[int, float, dict[str, Figures | str]]]) -> str:
    """Fit seconds = fixed + slope x lines per contender (least squares); list the peak RSS by size."""
    series: defaultdict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for line_count, _, figures in table:
        millions = line_count / 1e6
        for label, value in figures.items():
            if isinstance(value, Figures):
                series[label].append((millions, value.seconds, value.peak_mib()))
                if value.pipeline_seconds is not None:
                    series[f"{label}, pipeline only"].append((millions, value.pipeline_seconds, ""))
    lines = ["scaling: seconds ~ fixed + slope x millions of lines (least squares over the sizes):"]
    for label, points in series.items():
        if len(points) < 2:
            continue
        fit = statistics.linear_regression([m for m, _, _ in points], [s for _, s, _ in points])
        worst = max(abs(s - (fit.intercept + fit.slope * m)) for m, s, _ in points)
        peaks = ", ".join(peak for _, _, peak in points if peak)
        memory = f"; peak MiB {peaks}" if peaks else ""
        lines.append(
            f"  {label}: {fit.intercept:.2f} s + {fit.slope:.2f} s per M lines "
            f"(largest residual {worst:.2f} s){memory}"
        )
    return "\n".join(lines)


def _code_version() -> str:
    """The commit the measured engine comes from, and whether src/ differs from it."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False)
        return done.stdout.rstrip() if done.returncode == 0 else ""

    commit = git("log", "-1", "--format=%h %s") or "unknown (not a git checkout)"
    changed = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines()]
    dirty = f" + uncommitted changes in {', '.join(changed)}" if changed else ""
    return f"code: {commit[:80]}{dirty}"


def _load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    if sys.argv[1:2] == ["--contender"]:
        _, _, name, dump_file, out_file = sys.argv
        CONTENDER_MAINS[name](dump_file, out_file)
    else:
        main()
