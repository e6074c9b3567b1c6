"""The Arrow engine: the general path (any row order) and the sorted path when the C engine is absent.

- Each chunk of lines is parsed on a helper thread into a table of byte columns (arrow_parse.py)
  while this thread reduces the previous chunk.
- Wikimedia's files are sorted by (domain_code, page_title). While the keys never decrease, a key can
  repeat only right after itself (a file sorted by whole line), where it is summed, so every chunk
  is reduced on its own to the rows that may be in a top N (arrow_select.py; a chunk's last key
  waits for the next chunk). If a key ever decreases, OutOfOrderError tells the caller
  to compute the hour again from the start by the general path: sum every key (arrow_sums.py: in
  partitions, so memory follows the distinct keys), then select.
- The candidates of every chunk or part, together, hold every domain's top N: one more selection
  over them gives each domain's final candidates, which Tally.ranking orders.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wikitop.blacklist import Blacklist
from wikitop.ranking.arrow_parse import EMPTY, parse_chunk
from wikitop.ranking.arrow_select import select_candidates
from wikitop.ranking.arrow_sums import PartitionedSums, sum_by_key
from wikitop.ranking.rows import Tally, read_blocks

_COLUMNS = ["domain", "title", "views"]


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
    candidates: list[pa.Table] = []
    carry = EMPTY
    # One helper thread: it parses the next chunk while this thread reduces one, then sums parts
    # beside this thread (Arrow and numpy release the GIL, so the two use two cores).
    with open_stream() as stream, ThreadPoolExecutor(max_workers=1, thread_name_prefix="arrow") as helper:
        for table in _parsed_chunks(stream, chunk_bytes, tally, helper):
            if assume_sorted:
                chunk_candidates, carry = _reduce_sorted(table, carry, blacklist, top_n)
                candidates.append(chunk_candidates)
            else:
                sums.add(table)
        candidates.append(select_candidates(carry, blacklist, top_n))
        # Each key lives in one part, so the candidates of the parts, together, hold every domain's top N.
        candidates.extend(_summed_candidates(sums, blacklist, top_n, helper))
    _add_candidates(candidates, top_n, tally)
    return tally


def _use_lean_allocator() -> None:
    """Allocate Arrow memory with jemalloc where pyarrow has it, unless the user chose a pool.

    On a shuffled 5.7M-line hour the general path peaks at ~460 MiB with jemalloc, ~580 MiB with
    Arrow's default (mimalloc) or the system allocator, which keep more freed pages (bench/
    bench_general.py). Arrow serves only this engine in wikitop, so the process-wide choice is its own.
    This covers pyarrow's calls; Arrow's C++ pool (its group-by's) is chosen when pyarrow loads (see
    wikitop.ranking._ask_arrow_for_jemalloc), where the user's ARROW_DEFAULT_MEMORY_POOL also wins.
    """
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    with contextlib.suppress(NotImplementedError):  # pyarrow built without jemalloc: keep its default
        pa.set_memory_pool(pa.jemalloc_memory_pool())


def _parsed_chunks(
    stream: BinaryIO, chunk_bytes: int, tally: Tally, helper: ThreadPoolExecutor
) -> Iterator[pa.Table]:
    """Yield the parsed tables of successive chunks, parsing the next chunk while this one is used.

    Arrow parses without the GIL, so parsing chunk N+1 on a helper thread overlaps with the
    reduction of chunk N here. Each parse counts into its own Tally, merged in file order.
    """

    def parse(chunk: bytes) -> tuple[pa.Table, Tally]:
        counts = Tally()
        return parse_chunk(chunk, counts), counts

    pending: Future[tuple[pa.Table, Tally]] | None = None
    for chunk in _read_chunks(stream, chunk_bytes):
        upcoming = helper.submit(parse, chunk)
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


def _reduce_sorted(
    table: pa.Table, carry: pa.Table, blacklist: Blacklist, top_n: int
) -> tuple[pa.Table, pa.Table]:
    """Reduce a chunk that continues the key order to its candidates; return them and the chunk's last key.

    Keys may only repeat right after themselves (a file sorted by whole line): such rows are summed
    here. The last key's row is held back (`carry`) and opens the next chunk, whose first rows may
    be that key's too.
    """
    table = pa.concat_tables([carry, table]).combine_chunks()
    if table.num_rows == 0:
        return table, table
    repeats = _check_order(table.column("domain").chunk(0), table.column("title").chunk(0))
    if repeats.any():
        starts = np.flatnonzero(np.concatenate(([True], ~repeats)))
        views = np.add.reduceat(table.column("views").chunk(0).to_numpy(), starts)
        table = table.take(starts).set_column(2, "views", pa.array(views, pa.uint64()))
    last = table.num_rows - 1
    return select_candidates(table.slice(0, last), blacklist, top_n), table.slice(last)


def _check_order(domains: pa.BinaryArray, titles: pa.BinaryArray) -> np.ndarray:
    """Raise OutOfOrderError unless keys never decrease; return which rows repeat the key before them."""
    if len(domains) < 2:
        return np.zeros(0, dtype=bool)
    same_domain = pc.equal(domains[1:], domains[:-1])
    later_title = pc.greater_equal(titles[1:], titles[:-1])
    ordered = pc.or_(pc.greater(domains[1:], domains[:-1]), pc.and_(same_domain, later_title))
    if not pc.all(ordered).as_py():
        raise OutOfOrderError
    same_key = pc.and_(same_domain, pc.equal(titles[1:], titles[:-1]))
    return np.asarray(same_key.to_numpy(zero_copy_only=False), dtype=bool)


def _summed_candidates(
    sums: PartitionedSums, blacklist: Blacklist, top_n: int, helper: ThreadPoolExecutor
) -> Iterator[pa.Table]:
    """Each part summed and reduced to its candidates, two at a time: one on `helper`, one here.

    Arrow's group-by and numpy's sorts release the GIL, so two parts use two cores; more at once
    would only raise the peak memory (each part in flight holds its group-by).
    """

    def reduce(tables: list[pa.Table]) -> pa.Table:
        return select_candidates(sum_by_key(tables), blacklist, top_n)

    parts = sums.take_parts()
    for tables in parts:
        elsewhere = helper.submit(reduce, tables)
        here = next(parts, None)
        if here is not None:
            yield reduce(here)
        yield elsewhere.result()


def _add_candidates(candidates: list[pa.Table], top_n: int, tally: Tally) -> None:
    """Reduce the candidates of every chunk or part to each domain's final candidates, into `tally`."""
    if not candidates:
        return
    final = select_candidates(pa.concat_tables(table.select(_COLUMNS) for table in candidates), None, top_n)
    rows = zip(*(final.column(name).to_pylist() for name in _COLUMNS), strict=True)
    for domain, title, views in rows:
        tally.candidates[domain].append((views, title))
