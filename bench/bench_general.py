"""General-path benchmark: hours whose lines are not in Wikimedia's key order, against `gzip -dc`.

Shapes, all made from the same generated hour (default 5.7M lines, ~1.5k domain codes):
- ordered: Wikimedia's key order (the C engine's sorted path, for reference);
- dupsorted: the hour plus 10% of its keys again (count 1), sorted by whole line, so that each
  duplicate sits next to its key;
- shuffled: the lines in random order;
- quoted-late: the ordered hour plus one quoted row out of place as its last line (a domain code
  with fewer than N pages: the C engine settles it in its one pass);
- late-unsettled: the ordered hour plus a last line of a new page of its largest domain code (a
  page whose earlier views the one pass did not keep: the C engine reads the hour once more to sum
  that page alone).
For each shape, alternating runs of `gzip -dc FILE > /dev/null` and of a whole
`wikitop run HOUR --force` process per variant: `auto` (the C engine when built), `arrow`
(WIKITOP_ENGINE=arrow, as without a C compiler) and, with `--before SRC`, `before` (auto, with
PYTHONPATH=SRC: another checkout's sources, e.g. the main branch's, built in place) and
`arrow-before` (the same sources with WIKITOP_ENGINE=arrow). Prints each
run, then per shape and variant the medians, the ratio to gzip's median, the spread of the per-run
ratios and the peak RSS.

    python bench/bench_general.py [--runs 3] [--shapes shuffled,quoted-late] [--blacklist FILE]
        [--before ../main/src]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import CACHE, HOUR, machine_description, realistic_dump, timed
from wikitop.hours import dump_path

SHAPES = ["ordered", "dupsorted", "shuffled", "quoted-late", "late-unsettled"]

# Run in a child process: reading and reordering 5.7M lines takes ~1 GiB, which would otherwise
# become the floor of every later child's ru_maxrss (see common.timed).
_MAKE_SHAPE = """
import random, sys
from isal import igzip
source, target, shape = sys.argv[1:]
with open(source, "rb") as file:
    lines = igzip.decompress(file.read()).split(b"\\n")[:-1]
rng = random.Random(1)
if shape == "dupsorted":
    lines += [line.rsplit(b" ", 2)[0] + b" 1 0" for line in rng.sample(lines, len(lines) // 10)]
    lines.sort()
elif shape == "shuffled":
    rng.shuffle(lines)
elif shape == "quoted-late":
    lines.append(b'"aa" "Late_row" 5 0')
elif shape == "late-unsettled":
    from collections import Counter
    largest = Counter(line.split(b" ", 1)[0] for line in lines).most_common(1)[0][0]
    lines.append(largest + b" Late_row 5 0")
with open(target, "wb") as file:
    file.write(igzip.compress(b"\\n".join(lines) + b"\\n", 2))
"""


def shape_dump(shape: str, ordered: Path, lines: int, domains: int, seed: int) -> Path:
    """The dump of one shape in a local mirror of its own (made once, then reused)."""
    if shape == "ordered":
        return ordered
    path = CACHE / f"general-{shape}-{lines}-{domains}-{seed}" / dump_path(HOUR)
    if not path.exists():
        print(f"making the {shape} hour: {path} ...", file=sys.stderr)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        subprocess.run([sys.executable, "-c", _MAKE_SHAPE, str(ordered), str(partial), shape], check=True)
        partial.replace(path)
    return path


def variants(names: list[str], before: str) -> dict[str, dict[str, str]]:
    """Environment changes of each measured variant."""
    found = {"auto": {"WIKITOP_ENGINE": "auto"}, "arrow": {"WIKITOP_ENGINE": "arrow"}}
    if before:
        found["before"] = {"WIKITOP_ENGINE": "auto", "PYTHONPATH": str(Path(before).resolve())}
        found["arrow-before"] = {"WIKITOP_ENGINE": "arrow", "PYTHONPATH": str(Path(before).resolve())}
    return {name: found[name] for name in names if name in found}


def measure(
    dump: Path, runs: int, envs: dict[str, dict[str, str]], blacklist: str
) -> dict[str, list[tuple[float, int]]]:
    """Alternate gzip -dc and each variant `runs` times; return (seconds, peak RSS) per command."""
    mirror = dump.parents[2]
    wikitop = [sys.executable, "-m", "wikitop", "run", HOUR.strftime("%Y%m%d%H"), "--force"]
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in ["gzip", *envs]}
    with tempfile.TemporaryDirectory() as data_dir, Path(os.devnull).open("wb") as devnull:
        base = {
            **os.environ,
            "WIKITOP_DATA_DIR": data_dir,
            "WIKITOP_DUMPS_URL": str(mirror),
            "WIKITOP_BLACKLIST_URL": blacklist,
        }
        base.pop("PYTHONPATH", None)
        # One unmeasured run of each first: the first parses the blacklist and caches it under the
        # data dir, which the variants share (its peak would otherwise be the first variant's).
        for env in envs.values():
            timed(wikitop, env={**base, **env}, stdout=devnull.fileno())
        for run in range(1, runs + 1):
            results["gzip"].append(timed(["gzip", "-dc", str(dump)], stdout=devnull.fileno()))
            for name, env in envs.items():
                results[name].append(timed(wikitop, env={**base, **env}, stdout=devnull.fileno()))
            print(
                f"  run {run}: "
                + "   ".join(
                    f"{name} {times[-1][0]:.2f} s {times[-1][1] / 2**20:.0f} MiB"
                    for name, times in results.items()
                )
            )
    return results


def report(shape: str, results: dict[str, list[tuple[float, int]]]) -> list[str]:
    """One table row per variant: medians, ratio to gzip, spread of the per-run ratios, peak RSS."""
    gzip_times = [seconds for seconds, _ in results["gzip"]]
    gzip_median = statistics.median(gzip_times)
    rows = []
    for name, runs in results.items():
        if name == "gzip":
            continue
        times = [seconds for seconds, _ in runs]
        ratios = [seconds / gzip for seconds, gzip in zip(times, gzip_times, strict=True)]
        rows.append(
            f"| {shape} | {name} | {gzip_median:.2f} | {statistics.median(times):.2f} | "
            f"**{statistics.median(times) / gzip_median:.2f}x** | {min(ratios):.2f}-{max(ratios):.2f}x | "
            f"{max(peak for _, peak in runs) / 2**20:.0f} MiB |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=5_700_000)
    parser.add_argument("--domains", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, from {SHAPES}")
    parser.add_argument("--variants", default="auto,arrow,before", help="comma-separated")
    parser.add_argument("--blacklist", default="", help="blacklist file (default: none)")
    parser.add_argument("--before", default="", help="a checkout's src directory to measure as `before`")
    args = parser.parse_args()

    print(machine_description())
    ordered = realistic_dump(args.lines, args.domains, args.seed)
    envs = variants(args.variants.split(","), args.before)
    table = [
        "| shape | variant | gzip -dc s | wikitop s | ratio | ratio spread | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for shape in args.shapes.split(","):
        dump = shape_dump(shape, ordered, args.lines, args.domains, args.seed)
        print(f"{shape}: {dump.stat().st_size / 1e6:.1f} MB gzip")
        table += report(shape, measure(dump, args.runs, envs, args.blacklist))
    print(f"{args.lines:,} lines, {args.domains} domain codes, blacklist: {args.blacklist or 'none'}")
    print(f"medians of {args.runs} alternating runs")
    print("\n".join(table))


if __name__ == "__main__":
    main()
