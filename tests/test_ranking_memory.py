"""The general path's memory follows the distinct keys of the hour, not copies of the file.

A child process ranks a big shuffled hour (every key out of order: the general path from the first
rows) and reports how far its peak RSS rose above where it stood once everything was imported.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec, write_dump
from support.requirements import require_native_engine
from wikitop.ranking import Engine

LINES = 1_500_000
# A few dozen bytes per distinct key (the C engine: ~28 bytes and the title; Arrow: its columns),
# plus a fixed allowance for the chunks in flight and the allocators' slack. The path before this
# bound held the whole hour several times over (~250 bytes per line).
BYTES_PER_KEY = 100
FIXED_BYTES = 64 << 20

_RANK_AND_REPORT = """
import json, resource, sys
from pathlib import Path
from wikitop.blacklist import Blacklist
from wikitop.ranking import rank_dump
import wikitop.ranking.native, wikitop.ranking.arrow  # both engines' imports before the baseline
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
ranking = rank_dump(Path(sys.argv[1]), Blacklist.empty(), 25, engine=sys.argv[2])
print(json.dumps({"growth": peak() - before, "lines": ranking.lines_read, "rows": len(ranking.pages)}))
"""


@pytest.fixture(scope="module")
def shuffled_hour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A generated hour in random order, and its number of distinct keys."""
    path = tmp_path_factory.mktemp("memory") / "shuffled.gz"
    write_dump(path, DumpSpec(lines=LINES, domains=300, seed=13, shuffle=True), compresslevel=1)
    with gzip.open(path) as dump:
        keys = {tuple(line.split(b" ", 2)[:2]) for line in dump}
    return path, len(keys)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["native", "arrow"])
def test_general_path_peak_memory_is_bounded_by_the_distinct_keys(
    shuffled_hour: tuple[Path, int], engine: Engine
) -> None:
    if engine == "native":
        require_native_engine()
    path, distinct_keys = shuffled_hour
    ran = subprocess.run(
        [sys.executable, "-c", _RANK_AND_REPORT, str(path), engine],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(ran.stdout)
    assert report["lines"] == LINES and report["rows"] > 1_000  # it did rank the whole hour
    bound = FIXED_BYTES + BYTES_PER_KEY * distinct_keys
    assert report["growth"] < bound, f"{report['growth'] / distinct_keys:.0f} bytes per distinct key"
