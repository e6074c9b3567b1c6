"""What the engines share: the output rows, the tally they fill, and reading the uncompressed stream."""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError

Key = tuple[bytes, bytes]


@dataclass(frozen=True)
class RankedPage:
    """One output row (a result file's line, an API row): a page's rank within its domain code, and its views."""

    domain_code: str
    rank: int
    page_title: str
    views: int


@dataclass(frozen=True)
class Ranking:
    """The top pages of every domain code, ordered by domain (code point order) then rank."""

    pages: list[RankedPage]
    lines_read: int
    lines_skipped: int


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
    last_key: Key | None = None

    def ranking(self, blacklist: Blacklist, top_n: int) -> Ranking:
        """Add the side rows to the candidates, then rank each domain's candidates."""
        for (domain, title), views in self.side_rows.items():
            if not blacklist.contains(domain, title):
                self.candidates[domain].append((views, title))
        return Ranking(_final_pages(self.candidates, top_n), self.lines_read, self.lines_skipped)


def _final_pages(candidates: dict[bytes, list[tuple[int, bytes]]], top_n: int) -> list[RankedPage]:
    """Rank each domain's candidates (views desc, title asc) and decode the kept rows for output."""
    pages: list[RankedPage] = []
    for domain in sorted(candidates, key=lambda code: (code.decode("utf-8", "replace"), code)):
        best = sorted(candidates[domain], key=lambda row: (-row[0], row[1]))[:top_n]
        name = domain.decode("utf-8", "replace")
        pages.extend(
            RankedPage(name, rank, title.decode("utf-8", "replace"), views)
            for rank, (views, title) in enumerate(best, start=1)
        )
    return pages


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
