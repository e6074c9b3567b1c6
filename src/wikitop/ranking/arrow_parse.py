"""The Arrow engine's parsing: a chunk of dump lines -> a table of valid (domain, title, views) rows.

- Each chunk of lines is parsed by Arrow's CSV reader into byte columns (no UTF-8 decoding, so
  invalid UTF-8 cannot crash anything; text is decoded only for the output rows).
- Lines that Arrow cannot split (a field starting with `"`, or a `\\r`) are unquoted first by
  `split_line`; lines without 4 fields and invalid counts are dropped and counted.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from wikitop.ranking.rows import Tally

_COLUMNS = ["domain", "title", "views", "size"]
# Leading zeros, then at most 19 significant digits: anything longer cannot fit in int64.
_DIGITS = r"^0*[0-9]{1,19}$"
_MAX_VIEWS = 2**63 - 1

EMPTY = pa.table(
    {
        "domain": pa.array([], pa.binary()),
        "title": pa.array([], pa.binary()),
        "views": pa.array([], pa.uint64()),
    }
)


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


def parse_chunk(chunk: bytes, tally: Tally) -> pa.Table:
    """Parse a chunk of whole lines into a table of valid (domain, title, views) rows."""
    chunk = _unquote_chunk(chunk, tally)
    if not chunk:
        return EMPTY
    table, invalid = _read_csv(chunk)
    if table.num_rows == 0:  # every line was malformed
        tally.lines_read += invalid
        tally.lines_skipped += invalid
        return EMPTY
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
    invalid = _InvalidRows()
    try:
        return _arrow_read_csv(chunk, invalid), invalid.count
    except pa.ArrowInvalid:
        # Arrow decodes a bad row as UTF-8 before it calls the handler: a line without 4 fields
        # that holds invalid UTF-8 (rare) fails the chunk. Drop such lines here, then parse again.
        kept, dropped = _drop_malformed_lines(chunk)
        return (_arrow_read_csv(kept, invalid) if kept else EMPTY), dropped


def _arrow_read_csv(chunk: bytes, invalid: _InvalidRows) -> pa.Table:
    return pacsv.read_csv(
        pa.py_buffer(chunk),
        # One block per chunk: a single-chunk table needs no copy to combine, and the parallelism
        # comes from parsing on the prefetch thread while the main thread reduces.
        read_options=pacsv.ReadOptions(column_names=_COLUMNS, block_size=len(chunk) + 1, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=" ",
            quote_char=False,
            escape_char=False,
            ignore_empty_lines=False,
            invalid_row_handler=invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(_COLUMNS, pa.binary()),
            include_columns=_COLUMNS[:3],
        ),
    )


class _InvalidRows:
    """Arrow's invalid-row handler: counts rows without exactly 4 fields and skips them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, row: object) -> str:
        self.count += 1
        return "skip"


def _quiet_undecodable_rows(unraisable: sys.UnraisableHookArgs) -> None:
    """Hide the UnicodeDecodeError Arrow reports when it cannot hand a row to _InvalidRows.

    `_read_csv` recovers from it; every other unraisable exception goes to the previous hook.
    """
    if isinstance(unraisable.object, _InvalidRows) and isinstance(unraisable.exc_value, UnicodeDecodeError):
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook
sys.unraisablehook = _quiet_undecodable_rows


def _drop_malformed_lines(chunk: bytes) -> tuple[bytes, int]:
    """Remove the lines that do not hold exactly 3 spaces; return the rest and how many were removed.

    Lines with quotes or `\\r` were rewritten before, so a line's fields are its spaces plus one.
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
