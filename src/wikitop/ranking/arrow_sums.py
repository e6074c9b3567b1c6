"""The Arrow engine's general path: every key's views summed, in partitions, so that memory follows the
distinct keys of the hour instead of copies of it.

Rows are split by a hash of their title into PARTITIONS parts as chunks are parsed. Equal keys land in
the same part, so each part is summed (Arrow's group-by) and ranked on its own at the end, one part at a
time: the peak is the parsed rows plus one part's group-by, instead of the whole hour concatenated,
then grouped, then sorted (three copies and a hash table). A part whose rows waiting to be summed
outgrow both COMPACT_ROWS and twice its summed rows is summed on the way, so a file that repeats its
keys many times stays bounded by its distinct keys too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PARTITIONS = 16
# Rows a part may hold unsummed: a real hour (~6M lines, nearly all keys distinct) is summed only
# once, at the end; summing earlier would only repeat the work on rows that do not repeat.
COMPACT_ROWS = 1_000_000


class PartitionedSums:
    """Rows of (domain, title, views) in any order, summed per key part by part."""

    def __init__(self) -> None:
        self._parts: list[list[pa.Table]] = [[] for _ in range(PARTITIONS)]
        self._waiting = [0] * PARTITIONS
        self._summed = [0] * PARTITIONS

    def add(self, table: pa.Table) -> None:
        """Split a parsed chunk into the parts, summing a part that has grown too large."""
        if table.num_rows == 0:
            return
        part = _partition_of(table.column("title"))
        for index in np.unique(part).tolist():
            rows = table.filter(pa.array(part == index))
            self._parts[index].append(rows)
            self._waiting[index] += rows.num_rows
            if self._waiting[index] > max(COMPACT_ROWS, 2 * self._summed[index]):
                summed = sum_by_key(self._parts[index])
                self._parts[index] = [summed]
                self._summed[index], self._waiting[index] = summed.num_rows, 0

    def summed_parts(self) -> Iterator[pa.Table]:
        """Yield each part summed per key, its rows grouped by domain; each part is freed once yielded."""
        for index in range(PARTITIONS):
            tables, self._parts[index] = self._parts[index], []
            if tables:
                yield _grouped_by_domain(sum_by_key(tables))


def sum_by_key(tables: list[pa.Table]) -> pa.Table:
    """Sum views per (domain, title)."""
    summed = (
        pa.concat_tables(tables)
        .group_by(["domain", "title"], use_threads=False)
        .aggregate([("views", "sum")])
    )
    return summed.rename_columns({"views_sum": "views"})


def _grouped_by_domain(summed: pa.Table) -> pa.Table:
    """Put the rows of each domain next to each other.

    Titles within a domain stay in no particular order (sorting millions of strings costs seconds);
    the ranking breaks ties by comparing the few candidate titles themselves.
    """
    codes = pc.dictionary_encode(summed.column("domain")).combine_chunks().indices.to_numpy()
    return summed.take(np.argsort(codes, kind="stable"))


def _partition_of(titles: pa.ChunkedArray) -> np.ndarray:
    """A part index per row, from its title's length and first and last bytes (equal titles, equal parts)."""
    array = titles.combine_chunks()
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[array.offset : array.offset + len(array) + 1]
    lengths = np.diff(offsets).astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(1, np.uint8)
    if data.size == 0:
        data = np.zeros(1, np.uint8)
    filled = lengths > 0
    first = np.where(filled, data[np.minimum(offsets[:-1], data.size - 1)], 0).astype(np.int64)
    last = np.where(filled, data[np.clip(offsets[1:] - 1, 0, data.size - 1)], 0).astype(np.int64)
    return (lengths * 31 + first * 7 + last) % PARTITIONS
