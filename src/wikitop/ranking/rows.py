"""What the engines share: the output rows, the tally they fill, and reading the uncompressed stream."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, count, repeat
from operator import itemgetter
from typing import BinaryIO

from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError

Key = tuple[bytes, bytes]
# A result file's line: domain_code, rank, page_title, views.
Row = tuple[str, int, str, int]


@dataclass(frozen=True)
class RankedPage:
    """One output row (a result file's line, an API row): a page's rank within its domain code, and its views."""

    domain_code: str
    rank: int
    page_title: str
    views: int


@dataclass(frozen=True)
class Ranking:
    """The top pages of every domain code, ordered by domain (code point order) then rank.

    Kept as each domain's rows, best first, as the engine left them: a result file is rendered
    from `rows()` with no object per row (an hour has ~27k); `pages` builds the RankedPages when
    a caller wants them.
    """

    domains: list[tuple[str, list[tuple[int, bytes]]]]
    lines_read: int
    lines_skipped: int

    @property
    def row_count(self) -> int:
        """How many rows the ranking holds (the lines of its result file, header aside)."""
        return sum(len(best) for _, best in self.domains)

    def rows(self) -> Iterator[Row]:
        """Yield `(domain_code, rank, page_title, views)` in file order, titles decoded for output."""
        # Built from C iterators only (zip, repeat, map): no Python code runs per row.
        return chain.from_iterable(
            zip(repeat(name), count(1), map(_decode, map(itemgetter(1), best)), map(itemgetter(0), best))
            for name, best in self.domains
        )

    @cached_property
    def pages(self) -> list[RankedPage]:
        """The rows as RankedPages."""
        return [RankedPage(*row) for row in self.rows()]


@dataclass
class Tally:
    """Running counters and the candidate rows kept so far.

    `candidates` holds, per domain code, rows that may be in its top N; `side_rows` sums the rows
    whose key holds a space (possible only inside quotes), which no sorted-order shortcut covers.
    """

    lines_read: int = 0
    lines_skipped: int = 0
    candidates: dict[bytes, list[tuple[int, bytes]]] = field(default_factory=lambda: defaultdict(list))
    side_rows: dict[Key, int] = field(default_factory=lambda: defaultdict(int))

    def ranking(self, blacklist: Blacklist, top_n: int) -> Ranking:
        """Add the side rows to the candidates, then rank each domain's candidates."""
        for (domain, title), views in self.side_rows.items():
            if not blacklist.contains(domain, title):
                self.candidates[domain].append((views, title))
        return Ranking(_best_rows(self.candidates, top_n), self.lines_read, self.lines_skipped)


def _best_rows(
    candidates: dict[bytes, list[tuple[int, bytes]]], top_n: int
) -> list[tuple[str, list[tuple[int, bytes]]]]:
    """Each domain's best `top_n` candidates (views desc, title asc), domains in code point order."""
    named = sorted((domain.decode("utf-8", "replace"), domain) for domain in candidates)
    best: list[tuple[str, list[tuple[int, bytes]]]] = []
    for name, domain in named:
        rows = candidates[domain]
        # Two sorts with C keys, the second stable: views descending, ties by title ascending.
        rows.sort(key=_TITLE)
        rows.sort(key=_VIEWS, reverse=True)
        best.append((name, rows[:top_n]))
    return best


_VIEWS = itemgetter(0)
_TITLE = itemgetter(1)


def _decode(title: bytes) -> str:
    return title.decode("utf-8", "replace")


def read_blocks(stream: BinaryIO, block_bytes: int) -> Iterator[bytes]:
    """Yield the stream's blocks as read (lines may be cut); decompression errors become CorruptDumpError."""
    while True:
        try:
            block = stream.read(block_bytes)
        except (EOFError, OSError, zlib.error, ValueError) as exc:
            raise CorruptDumpError(f"corrupt or truncated gzip stream: {exc}") from exc
        if not block:
            return
        yield block
