"""The Arrow engine: the general path (any row order) and the sorted path when the C engine is absent.

- Each chunk of lines is parsed on a helper thread into a table of byte columns (arrow_parse.py)
  while this thread reduces the previous chunk.
- Wikimedia's files are sorted by (domain_code, page_title). While the rows keep arriving in strictly
  increasing order, no key can repeat, so every chunk is reduced on its own to its top N per domain
  (found with a partial sort, never a full one). If a row ever arrives out of order, OutOfOrderError
  tells the caller to compute the hour again from the start by the general path: sum every key
  (arrow_sums.py: in partitions, so memory follows the distinct keys), then rank.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wikitop.blacklist import Blacklist
from wikitop.ranking.arrow_parse import parse_chunk
from wikitop.ranking.arrow_sums import PartitionedSums
from wikitop.ranking.rows import Key, Tally, read_blocks


class OutOfOrderError(Exception):
    """Rows arrived out of (domain, title) order: the per-chunk shortcut is not valid for this dump."""


def rank_arrow(
    open_stream: Callable[[], BinaryIO],
    blacklist: Blacklist,
    top_n: int,
    chunk_bytes: int,
    assume_sorted: bool,
) -> Tally:
    """Rank an uncompressed dump; with `assume_sorted`, raise OutOfOrderError at the first key out of order."""
    _use_lean_allocator()
    tally = Tally()
    sums = PartitionedSums()
    with open_stream() as stream:
        for table in _parsed_chunks(stream, chunk_bytes, tally):
            if assume_sorted:
                _reduce_sorted(table, blacklist, top_n, tally)
            else:
                sums.add(table)
    # Each key lives in one part, so the candidates of the parts, together, hold every domain's top N.
    for summed in sums.summed_parts():
        domains, titles = _binary_columns(summed)
        same = pc.equal(domains[1:], domains[:-1])
        _keep_candidates(domains, titles, summed.column("views"), same, blacklist, top_n, tally, False)
    return tally


def _use_lean_allocator() -> None:
    """Allocate Arrow memory with jemalloc where pyarrow has it.

    On a shuffled 5.7M-line hour the general path peaks at ~460 MiB with jemalloc, ~580 MiB with
    Arrow's default (mimalloc) or the system allocator, which keep more freed pages (bench/
    bench_general.py). Arrow serves only this engine in wikitop, so the process-wide choice is its own.
    """
    with contextlib.suppress(NotImplementedError):  # pyarrow built without jemalloc: keep its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _parsed_chunks(stream: BinaryIO, chunk_bytes: int, tally: Tally) -> Iterator[pa.Table]:
    """Yield the parsed tables of successive chunks, parsing the next chunk while this one is used.

    Arrow parses without the GIL, so parsing chunk N+1 on a helper thread overlaps with the
    reduction of chunk N here. Each parse counts into its own Tally, merged in file order.
    """

    def parse(chunk: bytes) -> tuple[pa.Table, Tally]:
        counts = Tally()
        return parse_chunk(chunk, counts), counts

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as pool:
        pending: Future[tuple[pa.Table, Tally]] | None = None
        for chunk in _read_chunks(stream, chunk_bytes):
            upcoming = pool.submit(parse, chunk)
            if pending is not None:
                yield _merged(pending.result(), tally)
            pending = upcoming
        if pending is not None:
            yield _merged(pending.result(), tally)


def _merged(parsed: tuple[pa.Table, Tally], tally: Tally) -> pa.Table:
    table, counts = parsed
    tally.lines_read += counts.lines_read
    tally.lines_skipped += counts.lines_skipped
    for key, views in counts.side_rows.items():
        tally.side_rows[key] += views
    return table


def _read_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """Yield chunks of whole lines."""
    rest = b""
    for block in read_blocks(stream, chunk_bytes):
        cut = block.rfind(b"\n")
        if cut < 0:
            rest += block
            continue
        yield rest + block[: cut + 1]
        rest = block[cut + 1 :]
    if rest:
        yield rest


def _reduce_sorted(table: pa.Table, blacklist: Blacklist, top_n: int, tally: Tally) -> None:
    """Check that a chunk continues the strictly increasing key order, then keep its candidates."""
    if table.num_rows == 0:
        return
    domains, titles = _binary_columns(table)
    same = _check_order(domains, titles, tally)
    _keep_candidates(domains, titles, table.column("views"), same, blacklist, top_n, tally, True)


def _binary_columns(table: pa.Table) -> tuple[pa.BinaryArray, pa.BinaryArray]:
    return table.column("domain").combine_chunks(), table.column("title").combine_chunks()


def _check_order(domains: pa.BinaryArray, titles: pa.BinaryArray, tally: Tally) -> pa.BooleanArray:
    """Raise OutOfOrderError unless keys strictly increase; return which rows share the previous domain."""
    first: Key = (domains[0].as_py(), titles[0].as_py())
    if tally.last_key is not None and not first > tally.last_key:
        raise OutOfOrderError
    d0, d1 = domains[:-1], domains[1:]
    same = pc.equal(d1, d0)
    if len(domains) > 1:
        ordered = pc.or_(pc.greater(d1, d0), pc.and_(same, pc.greater(titles[1:], titles[:-1])))
        if not pc.all(ordered).as_py():
            raise OutOfOrderError
    tally.last_key = (domains[-1].as_py(), titles[-1].as_py())
    return same


def _keep_candidates(
    domains: pa.BinaryArray,
    titles: pa.BinaryArray,
    views_column: pa.ChunkedArray,
    same_domain: pa.BooleanArray,
    blacklist: Blacklist,
    top_n: int,
    tally: Tally,
    titles_sorted: bool,
) -> None:
    """Add the top N non-blacklisted rows of each domain run to the candidates.

    Rows of one domain are contiguous (`same_domain[i]`: row i+1 has row i's domain);
    `titles_sorted` says whether titles ascend within a run.
    """
    views = views_column.to_numpy().astype(np.int64, copy=False)
    changes = np.flatnonzero(~same_domain.to_numpy(zero_copy_only=False))
    starts = [0, *(changes + 1).tolist()]
    ends = [*starts[1:], len(domains)]
    for start, end in zip(starts, ends, strict=True):
        domain: bytes = domains[start].as_py()
        checked = blacklist if domain in blacklist.domain_codes else None
        run = _top_of_run(views[start:end], titles, start, domain, checked, top_n, titles_sorted)
        tally.candidates[domain].extend(run)


def _top_of_run(
    views: np.ndarray,
    titles: pa.BinaryArray,
    offset: int,
    domain: bytes,
    blacklist: Blacklist | None,
    top_n: int,
    titles_sorted: bool,
) -> list[tuple[int, bytes]]:
    """Top N (views, title) of one domain's title-sorted run, skipping blacklisted rows.

    Looks at the K best rows first (a partial sort); when blacklisted rows leave fewer than N,
    K grows by the number removed, until N rows are found or the run is exhausted.
    """
    size = len(views)
    k = top_n
    while True:
        if size <= k:
            index = np.arange(size)
        else:
            kth = np.partition(views, size - k)[size - k]
            index = np.flatnonzero(views >= kth)
        order = _best_first(index, views, titles, offset, titles_sorted)
        kept: list[tuple[int, bytes]] = []
        for i in order:
            title: bytes = titles[offset + i].as_py()
            if blacklist is not None and blacklist.contains(domain, title):
                continue
            kept.append((int(views[i]), title))
            if len(kept) == top_n:
                return kept
        if len(index) == size:
            return kept
        k = top_n + (len(order) - len(kept))


def _best_first(
    index: np.ndarray, views: np.ndarray, titles: pa.BinaryArray, offset: int, titles_sorted: bool
) -> list[int]:
    """Order candidate positions by views descending, then title ascending."""
    if titles_sorted:
        # Within a title-sorted run, position order is title order.
        return index[np.lexsort((index, -views[index]))].tolist()  # type: ignore[no-any-return]
    return sorted(index.tolist(), key=lambda i: (-int(views[i]), titles[offset + i].as_py()))
