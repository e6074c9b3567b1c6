"""The Arrow engine: the general path (any row order) and the sorted path when the C engine is absent.

- Each chunk of lines is parsed by Arrow's multi-threaded CSV reader into byte columns (no UTF-8
  decoding, so invalid UTF-8 cannot crash anything; text is decoded only for the output rows).
- Lines that need Python (a field starting with `"`, or a `\\r`) are unquoted first; see `split_line`.
- Wikimedia's files are sorted by (domain_code, page_title). While the rows keep arriving in strictly
  increasing order, no key can repeat, so every chunk is reduced on its own to its top N per domain
  (found with a partial sort, never a full one). If a row ever arrives out of order, OutOfOrderError
  tells the caller to compute the hour again from the start by the general path: aggregate every
  row, then rank.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from wikitop.blacklist import Blacklist
from wikitop.ranking.rows import Key, Tally, read_blocks

_COLUMNS = ["domain", "title", "views", "size"]
# Leading zeros, then at most 19 significant digits: anything longer cannot fit in int64.
_DIGITS = r"^0*[0-9]{1,19}$"
_MAX_VIEWS = 2**63 - 1

_EMPTY = pa.table(
    {
        "domain": pa.array([], pa.binary()),
        "title": pa.array([], pa.binary()),
        "views": pa.array([], pa.uint64()),
    }
)


class OutOfOrderError(Exception):
    """Rows arrived out of (domain, title) order: the per-chunk shortcut is not valid for this dump."""


def split_line(line: bytes) -> list[bytes] | None:
    """Split a line into fields on single spaces, unquoting fields that start with `"`.

    Inside quotes `\\"` is `"` and `\\\\` is `\\` (any other backslash stays). A quoted field ends at its
    closing quote, so anything but a space or the end of the line right after it, or an
    unterminated quote, makes the line malformed: None.
    """
    fields: list[bytes] = []
    current = bytearray()
    at_start, i, n = True, 0, len(line)
    while i < n:
        byte = line[i]
        if byte == 0x20:
            fields.append(bytes(current))
            current.clear()
            at_start = True
            i += 1
        elif byte == 0x22 and at_start:
            end = _read_quoted(line, i + 1, current)
            if end < 0 or (end < n and line[end] != 0x20):
                return None
            at_start, i = False, end
        else:
            current.append(byte)
            at_start = False
            i += 1
    fields.append(bytes(current))
    return fields


def _read_quoted(line: bytes, i: int, out: bytearray) -> int:
    """Append the quoted field starting at `i` (after the opening quote); return the index after it, or -1."""
    n = len(line)
    while i < n:
        byte = line[i]
        if byte == 0x5C and i + 1 < n and line[i + 1] in (0x22, 0x5C):
            out.append(line[i + 1])
            i += 2
        elif byte == 0x22:
            return i + 1
        else:
            out.append(byte)
            i += 1
    return -1


def parse_record(line: bytes) -> tuple[bytes, bytes, int] | None:
    """Parse one line the slow, general way: (domain, title, views), or None when malformed."""
    fields = split_line(line)
    if fields is None or len(fields) != 4:
        return None
    views = fields[2]
    if not views.isdigit() or not views.isascii() or int(views) > _MAX_VIEWS:
        return None
    return fields[0], fields[1], int(views)


def rank_arrow(
    open_stream: Callable[[], BinaryIO],
    blacklist: Blacklist,
    top_n: int,
    chunk_bytes: int,
    assume_sorted: bool,
) -> Tally:
    """Rank an uncompressed dump; with `assume_sorted`, raise OutOfOrderError at the first key out of order."""
    tally = Tally()
    unsorted_tables: list[pa.Table] = []
    with open_stream() as stream:
        for table in _parsed_chunks(stream, chunk_bytes, tally):
            if assume_sorted:
                _reduce_sorted(table, blacklist, top_n, tally)
            else:
                unsorted_tables.append(table)
    summed = _aggregate(unsorted_tables) if unsorted_tables else _EMPTY
    if summed.num_rows:
        domains, titles = _binary_columns(summed)
        same = pc.equal(domains[1:], domains[:-1])
        _keep_candidates(domains, titles, summed.column("views"), same, blacklist, top_n, tally, False)
    return tally


def _parsed_chunks(stream: BinaryIO, chunk_bytes: int, tally: Tally) -> Iterator[pa.Table]:
    """Yield the parsed tables of successive chunks, parsing the next chunk while this one is used.

    Arrow parses without the GIL, so parsing chunk N+1 on a helper thread overlaps with the
    reduction of chunk N here. Each parse counts into its own Tally, merged in file order.
    """

    def parse(chunk: bytes) -> tuple[pa.Table, Tally]:
        counts = Tally()
        return _parse_chunk(chunk, counts), counts

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


def _parse_chunk(chunk: bytes, tally: Tally) -> pa.Table:
    """Parse a chunk of whole lines into a table of valid (domain, title, views) rows."""
    chunk = _unquote_chunk(chunk, tally)
    if not chunk:
        return _EMPTY
    table, invalid = _read_csv(chunk)
    if table.num_rows == 0:  # every line was malformed
        tally.lines_read += invalid
        tally.lines_skipped += invalid
        return _EMPTY
    views, valid = _parse_views(table.column("views"))
    table = table.set_column(2, "views", views)
    if valid is not None:
        table = table.filter(valid)
    skipped = invalid + (0 if valid is None else len(valid) - pc.sum(valid).as_py())
    tally.lines_read += table.num_rows + skipped
    tally.lines_skipped += skipped
    return table


def _read_csv(chunk: bytes) -> tuple[pa.Table, int]:
    """Split a chunk on single spaces into (domain, title, views); drop and count lines without 4 fields."""
    try:
        return _arrow_read_csv(chunk), 0
    except pa.ArrowInvalid:
        # A line without 4 fields (a few per hour at most). Not an invalid_row_handler: Arrow
        # decodes the bad row as UTF-8 before calling it, which fails on invalid bytes.
        kept, dropped = _drop_malformed_lines(chunk)
        return (_arrow_read_csv(kept) if kept else _EMPTY), dropped


def _arrow_read_csv(chunk: bytes) -> pa.Table:
    return pacsv.read_csv(
        pa.py_buffer(chunk),
        # One block per chunk: a single-chunk table needs no copy to combine, and the parallelism
        # comes from parsing on the prefetch thread while the main thread reduces.
        read_options=pacsv.ReadOptions(column_names=_COLUMNS, block_size=len(chunk) + 1, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(_COLUMNS, pa.binary()),
            include_columns=_COLUMNS[:3],
        ),
    )


def _drop_malformed_lines(chunk: bytes) -> tuple[bytes, int]:
    """Remove the lines that do not hold exactly 3 spaces; return the rest and how many were removed.

    Lines with quotes or `\r` were rewritten before, so a line's fields are its spaces plus one.
    """
    buffer = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(buffer == 0x0A)
    if not chunk.endswith(b"\n"):
        ends = np.append(ends, len(chunk))
    starts = np.concatenate(([0], ends[:-1] + 1))
    spaces = np.flatnonzero(buffer == 0x20)
    per_line = np.searchsorted(spaces, ends) - np.searchsorted(spaces, starts)
    pieces, position = [], 0
    for bad in np.flatnonzero(per_line != 3).tolist():
        pieces.append(chunk[position : starts[bad]])
        position = int(ends[bad]) + 1
    pieces.append(chunk[position:])
    return b"".join(pieces), len(pieces) - 1


def _parse_views(column: pa.ChunkedArray) -> tuple[pa.ChunkedArray, pa.ChunkedArray | None]:
    """Cast the views column to uint64; when some values are not valid counts, also return a mask."""
    # Fast path: Arrow's integer cast rejects signs, spaces and empties, but accepts hex ("0x10").
    try:
        views = pc.cast(column, pa.uint64())
        hexadecimal = (
            pc.any(pc.match_substring(column, "x")).as_py() or pc.any(pc.match_substring(column, "X")).as_py()
        )
        if not hexadecimal and (pc.max(views).as_py() or 0) <= _MAX_VIEWS:
            return views, None
    except pa.ArrowInvalid:
        pass
    # Byte-wise checks (no UTF-8 validation): all ASCII digits, at most 19 of them.
    text = column.cast(pa.string(), safe=False)
    valid = pc.and_(pc.ascii_is_decimal(text), pc.less_equal(pc.binary_length(column), 19))
    if pc.any(pc.and_(pc.ascii_is_decimal(text), pc.greater(pc.binary_length(column), 19))).as_py():
        valid = pc.match_substring_regex(column, _DIGITS)  # leading zeros before 19 digits: rare
    cleaned = pc.if_else(valid, column, pa.scalar(b"0", pa.binary()))
    views = pc.cast(cleaned, pa.uint64())
    valid = pc.and_(valid, pc.less_equal(views, pa.scalar(_MAX_VIEWS, pa.uint64())))
    return views, valid


def _unquote_chunk(chunk: bytes, tally: Tally) -> bytes:
    """Rewrite lines that Arrow cannot split (quoted fields, `\\r`) so that it can, or set them aside.

    A line whose unquoted fields hold no space or `\\r` is rewritten in place, keeping the file's order.
    Otherwise its key can never equal a key of the Arrow path (those hold no space or `\\r`), so it
    is summed on the side and joins the candidates at the end. Malformed ones are counted.
    """
    starts = _special_line_starts(chunk)
    if not starts:
        return chunk
    pieces: list[bytes] = []
    position = 0
    for start in starts:
        end = chunk.find(b"\n", start)
        end = len(chunk) if end < 0 else end
        pieces.append(chunk[position:start])
        position = end + 1
        record = parse_record(chunk[start:end])
        if record is None:
            tally.lines_read += 1
            tally.lines_skipped += 1
        elif any(b" " in part or b"\r" in part for part in record[:2]):
            tally.lines_read += 1
            tally.side_rows[record[0], record[1]] += record[2]
        else:
            pieces.append(b"%s %s %d 0\n" % record)
    pieces.append(chunk[position:])
    return b"".join(pieces)


def _special_line_starts(chunk: bytes) -> list[int]:
    """Return the sorted start offsets of lines with a field starting with `"` or holding a `\\r`."""
    if b'"' not in chunk and b"\r" not in chunk:
        return []
    buffer = np.frombuffer(chunk, dtype=np.uint8)
    quotes = np.flatnonzero(buffer == 0x22)
    previous = buffer[np.maximum(quotes - 1, 0)]
    at_field_start = quotes[(quotes == 0) | (previous == 0x20) | (previous == 0x0A)]
    hits = np.union1d(at_field_start, np.flatnonzero(buffer == 0x0D))
    return sorted({chunk.rfind(b"\n", 0, int(hit)) + 1 for hit in hits.tolist()})


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


def _aggregate(tables: list[pa.Table]) -> pa.Table:
    """Sum views per (domain, title) over all rows, grouped by domain: the path for unsorted dumps.

    Titles within a domain stay in no particular order (sorting 6M strings costs seconds);
    `_top_of_run` then breaks ties by comparing the few candidate titles themselves.
    """
    summed = pa.concat_tables(tables).group_by(["domain", "title"]).aggregate([("views", "sum")])
    summed = summed.rename_columns({"views_sum": "views"})
    codes = pc.dictionary_encode(summed.column("domain")).combine_chunks().indices.to_numpy()
    return summed.take(np.argsort(codes, kind="stable"))


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
