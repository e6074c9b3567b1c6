"""The C engine's one pass on its own: two builds of `_native.c` ranking the same inflated hour.

The benchmark hour (5.7M lines, Wikimedia's key order) is inflated once into memory and cut into
the 1 MiB blocks the engine gets from `wikitop.inflate`; then, alternating in one loop, each build's
`Ranker` ranks those blocks (feed + pop per block, then finish), and ISA-L inflates the hour again:
the baseline, the other half of an hour's CPU. Reports CPU seconds (medians), each build's ratio to
the inflate and to the other build, and checks that both builds give the same rows and counts.

Builds are compiled here with setup.py's flags: `--before REV` takes `_native.c` from a git revision
(default HEAD), the "after" is the checkout's file; `--define` adds `-D` flags to the after build
(`WIKITOP_SCALAR_SCAN`: the scanner of CPUs without SSE2). `--any-order` ranks on the general path
(the hash table) instead, e.g. with `--dump` a shuffled hour made by bench_general.py.

    python bench/bench_parse.py [--runs 9] [--before REV] [--define WIKITOP_SCALAR_SCAN]
        [--blacklist FILE] [--dump FILE.gz] [--any-order]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path
from types import ModuleType

from isal import isal_zlib

from common import machine_description, realistic_dump
from wikitop.blacklist import Blacklist

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "wikitop" / "_native.c"
FLAGS = ["-shared", "-fPIC", "-O3", "-std=c11", "-Wall", "-Wextra", "-Werror"]
BLOCK = 1 << 20


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", default="HEAD", help="git revision of the 'before' build")
    parser.add_argument("--define", action="append", default=[], help="-D flag of the after build")
    parser.add_argument("--blacklist", default="", help="blacklist file both builds skip")
    parser.add_argument("--dump", default="", help="gzip dump to rank (default: the benchmark hour)")
    parser.add_argument("--any-order", action="store_true", help="rank on the general path")
    args = parser.parse_args()
    dump = Path(args.dump) if args.dump else realistic_dump(5_700_000, 1500, 1)
    compressed = dump.read_bytes()
    blocks = _blocks(isal_zlib.decompress(compressed, wbits=16 + isal_zlib.MAX_WBITS))
    keys = list(Blacklist.parse(Path(args.blacklist).read_bytes()).keys) if args.blacklist else []
    with tempfile.TemporaryDirectory() as build_dir:
        before_source = Path(build_dir) / "before.c"
        before_source.write_text(_git_show(args.before, "src/wikitop/_native.c"))
        builds = {
            f"before ({args.before})": _build(before_source, Path(build_dir) / "before", []),
            "after" + "".join(f" -D{name}" for name in args.define): _build(
                SOURCE, Path(build_dir) / "after", args.define
            ),
        }
        answers = {name: _rank(module, blocks, keys, args.any_order)[1] for name, module in builds.items()}
        assert len(set(map(repr, answers.values()))) == 1, "the builds disagree"
        cpu: dict[str, list[float]] = {name: [] for name in ["ISA-L inflate", *builds]}
        for run in range(args.runs):
            started = time.process_time()
            isal_zlib.decompress(compressed, wbits=16 + isal_zlib.MAX_WBITS)
            cpu["ISA-L inflate"].append(time.process_time() - started)
            order = list(builds.items())
            for name, module in order[run % 2 :] + order[: run % 2]:
                cpu[name].append(_rank(module, blocks, keys, args.any_order)[0])
    print(
        f"{machine_description()}; {dump.name}: {sum(map(len, blocks)) / 1e6:.0f} MB inflated, "
        f"blacklist {args.blacklist or 'none'}, {'general path' if args.any_order else 'one pass'}, "
        f"medians of {args.runs}"
    )
    inflate = statistics.median(cpu["ISA-L inflate"])
    first = statistics.median(next(iter(cpu[name] for name in builds)))
    for name, seconds in cpu.items():
        median = statistics.median(seconds)
        print(
            f"  {name}: {median:.3f} s CPU (min {min(seconds):.3f}, max {max(seconds):.3f}) "
            f"= {median / inflate:.2f}x the inflate, {median / first:.2f}x the before build"
        )


def _blocks(data: bytes) -> list[bytes]:
    return [data[start : start + BLOCK] for start in range(0, len(data), BLOCK)]


def _rank(
    module: ModuleType, blocks: list[bytes], keys: list[bytes], any_order: bool
) -> tuple[float, object]:
    """CPU seconds of one ranking of the blocks, and what it found."""
    started = time.process_time()
    ranker = module.Ranker(25, keys, any_order)
    popped = []
    for block in blocks:
        ranker.feed(block)
        popped.append(ranker.pop())
    ranker.finish()
    popped.append(ranker.pop())
    seconds = time.process_time() - started
    return seconds, (popped, ranker.lines_read, ranker.lines_skipped)


def _git_show(revision: str, path: str) -> str:
    shown = subprocess.run(
        ["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return shown.stdout


def _build(source: Path, out_dir: Path, defines: list[str]) -> ModuleType:
    out_dir.mkdir()
    module_path = out_dir / f"_native{sysconfig.get_config_var('EXT_SUFFIX')}"
    paths = sysconfig.get_paths()
    includes = [f"-I{paths['include']}", f"-I{paths['platinclude']}"]
    flags = [*FLAGS, *(f"-D{name}" for name in defines)]
    subprocess.run(["cc", *flags, *includes, str(source), "-o", str(module_path)], check=True)
    spec = importlib.util.spec_from_file_location("wikitop._native", module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == "__main__":
    main()
