"""The C engine (wikitop._native) for dumps whose keys arrive sorted, as Wikimedia's do."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import BinaryIO

from wikitop.blacklist import Blacklist
from wikitop.ranking.rows import Tally, read_blocks

try:
    from wikitop import _native
except ImportError:  # built without a C compiler: the Arrow engine does all the work
    _native = None  # type: ignore[assignment]

AVAILABLE = _native is not None


def rank_sorted(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, block_bytes: int
) -> Tally | None:
    """Rank a dump in one pass, or return None as soon as a key arrives out of order."""
    if _native is None:
        raise RuntimeError("wikitop._native is not built: reinstall wikitop with a C compiler")
    ranker = _native.Ranker(top_n, blacklist_keys(blacklist))
    tally = Tally()
    with open_stream() as stream:
        for block in read_blocks(stream, block_bytes):
            if not ranker.feed(block):
                return None
            _collect(ranker, tally)
    if not ranker.finish():
        return None
    _collect(ranker, tally)
    tally.lines_read, tally.lines_skipped = ranker.lines_read, ranker.lines_skipped
    return tally


@functools.lru_cache(maxsize=2)
def blacklist_keys(blacklist: Blacklist) -> list[bytes]:
    """The blacklist as the C engine takes it: `domain + b" " + title` (domains hold no space).

    Built once per blacklist and process (0.04 s for the real one), not once per hour.
    """
    return [domain + b" " + title for domain, title in blacklist.pairs]


def _collect(ranker: _native.Ranker, tally: Tally) -> None:
    runs, side_rows = ranker.pop()
    for domain, rows in runs:
        tally.candidates[domain].extend(rows)
    for domain, title, views in side_rows:
        tally.side_rows[domain, title] += views
