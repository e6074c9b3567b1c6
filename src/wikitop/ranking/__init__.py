"""The engine: parse an hourly dump, drop blacklisted rows, keep the top N pages of each domain code.

Two engines give one answer (tests/test_ranking.py checks both against the same oracle), each with
a sorted path and a general path:
- `native` (C, `_native.c`): one pass over the bytes, without the GIL. Sorted path: for dumps whose
  (domain, title) keys never decrease, as Wikimedia's files do (or a file sorted by whole line,
  whose duplicates sit next to each other and are summed there): it keeps only N rows per domain,
  so memory stays flat whatever the size of the hour. General path: every key summed in a C hash
  table (memory: the distinct keys, ~28 bytes each plus the title), then ranked.
- `arrow` (`ranking/arrow.py`): both paths when the C extension was not built (no compiler at
  install time), or with WIKITOP_ENGINE=arrow.
The native engine runs when it is built (`engine="auto"`). Its one pass sets aside rows whose key
decreases (a few rows out of place) and adds them to their keys' sums, reading the hour once more,
for the few keys whose sums it did not keep, only when one of them might enter a top N
(`native.rank_sorted`); thousands of them (a shuffled file) send the hour, from its start, to the
general path. With Arrow, the first key that decreases does. The gzip stream is inflated by ISA-L
(`wikitop.inflate`) on a helper thread when a core is free, so inflating and ranking one hour use
both cores.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal

from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError
from wikitop.inflate import open_gzip_file
from wikitop.ranking import native
from wikitop.ranking.rows import RankedPage, Ranking, Tally

__all__ = ["Engine", "RankedPage", "Ranking", "rank_dump", "rank_stream"]

Engine = Literal["auto", "native", "arrow"]
# Bytes read from the inflated stream at a time. The C engine is fastest on blocks that stay in the
# cache (ISA-L's threaded reader hands out 1 MiB blocks); Arrow pays a cost per chunk, so it takes more.
NATIVE_CHUNK_BYTES = 1 << 20
ARROW_CHUNK_BYTES = 4 << 20


def rank_dump(
    path: Path, blacklist: Blacklist, top_n: int, chunk_bytes: int | None = None, engine: Engine = "auto"
) -> Ranking:
    """Rank a gzip dump file; a truncated or corrupt gzip raises CorruptDumpError."""

    if path.stat().st_size == 0:
        raise CorruptDumpError(f"{path} is empty: not a gzip stream")

    return rank_stream(lambda: open_gzip_file(path), blacklist, top_n, chunk_bytes, engine)


def rank_stream(
    open_stream: Callable[[], BinaryIO],
    blacklist: Blacklist,
    top_n: int,
    chunk_bytes: int | None = None,
    engine: Engine = "auto",
) -> Ranking:
    """Rank an uncompressed dump; `open_stream` may be called again (for unsorted dumps), twice at most.

    `chunk_bytes` overrides each engine's read size (tests cut lines everywhere with tiny ones).
    """
    if engine == "native" or (engine == "auto" and native.AVAILABLE):
        native_chunk_bytes = chunk_bytes or NATIVE_CHUNK_BYTES
        tally = native.rank_sorted(open_stream, blacklist, top_n, native_chunk_bytes)
        if tally is None:
            tally = native.rank_any_order(open_stream, blacklist, top_n, native_chunk_bytes)
    else:
        arrow_chunk_bytes = chunk_bytes or ARROW_CHUNK_BYTES
        tally = _rank_arrow_sorted(open_stream, blacklist, top_n, arrow_chunk_bytes)
        if tally is None:
            tally = _rank_arrow_any_order(open_stream, blacklist, top_n, arrow_chunk_bytes)
    return tally.ranking(blacklist, top_n)


# The Arrow engine is imported only when used: pyarrow and numpy take a third of a second to import,
# which the command line would pay on every hour that the native engine ranks alone.


def _ask_arrow_for_jemalloc() -> None:
    """Make jemalloc Arrow's C++ default memory pool, unless the user chose one or pyarrow is loaded.

    Arrow's group-by allocates from that pool whatever `pa.set_memory_pool` says, and the pool is
    chosen once, when pyarrow loads (ARROW_DEFAULT_MEMORY_POOL). Its default, mimalloc, keeps more
    freed memory per thread: a shuffled hour's general path peaked ~60 MiB higher with it
    (bench/bench_general.py). Linux only: PyPI's Linux wheels ship jemalloc; elsewhere Arrow would
    print a warning for a pool it lacks.
    """
    if sys.platform == "linux" and "pyarrow" not in sys.modules:
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")


def _rank_arrow_sorted(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, chunk_bytes: int
) -> Tally | None:
    _ask_arrow_for_jemalloc()
    from wikitop.ranking.arrow import OutOfOrderError, rank_arrow

    try:
        return rank_arrow(open_stream, blacklist, top_n, chunk_bytes, assume_sorted=True)
    except OutOfOrderError:
        return None


def _rank_arrow_any_order(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, chunk_bytes: int
) -> Tally:
    from wikitop.ranking.arrow import rank_arrow

    return rank_arrow(open_stream, blacklist, top_n, chunk_bytes, assume_sorted=False)
