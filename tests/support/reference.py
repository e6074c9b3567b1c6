"""The test oracle: a deliberately simple pure-Python implementation of wikitop's ranking rules.

Written from the rules, not from the engine: one line at a time, a dict of sums, sorted(). Slow and
obvious on purpose, so that a disagreement with the engine points at the engine (or at the rules).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

Row = tuple[str, int, str, int]

_COUNT = re.compile(rb"[0-9]+")
_INT64_MAX = 2**63 - 1
_ESCAPABLE = b'"\\'


def split_lines(data: bytes) -> list[bytes]:
    """Split a dump into lines: a trailing newline ends the last line, a missing one does not lose it."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def _quoted_field(line: bytes, start: int) -> tuple[bytes, int] | None:
    """Read the quoted field opening at `start`; return (value, index after the closing quote) or None."""
    value = bytearray()
    i = start + 1
    while i < len(line):
        byte = line[i : i + 1]
        if byte == b"\\" and line[i + 1 : i + 2] != b"" and line[i + 1 : i + 2] in _ESCAPABLE:
            value += line[i + 1 : i + 2]
            i += 2
        elif byte == b'"':
            return bytes(value), i + 1
        else:
            value += byte
            i += 1
    return None  # unterminated quote


def split_fields(line: bytes) -> list[bytes] | None:
    """Split a line at single spaces, honouring CSV-style quoted fields; None when the quoting is broken."""
    fields: list[bytes] = []
    i = 0
    while True:
        if line[i : i + 1] == b'"':
            quoted = _quoted_field(line, i)
            if quoted is None:
                return None
            value, i = quoted
            if i < len(line) and line[i : i + 1] != b" ":
                return None  # closing quote followed by something other than a space
        else:
            end = line.find(b" ", i)
            end = len(line) if end == -1 else end
            value, i = line[i:end], end
        fields.append(value)
        if i == len(line):
            return fields
        i += 1  # skip the single separating space; the next field may be empty


def parse_line(line: bytes) -> tuple[bytes, bytes, int] | None:
    """Return (domain, title, views) of a dump line, or None when the line is malformed."""
    fields = split_fields(line)
    if fields is None or len(fields) != 4:
        return None
    domain, title, count, _size = fields
    if not _COUNT.fullmatch(count):
        return None
    views = int(count)
    if views > _INT64_MAX:
        return None
    return domain, title, views


def parse_blacklist(data: bytes) -> set[tuple[bytes, bytes]]:
    """Return the blacklist's (domain, percent-decoded title) pairs; each line is split at its first space."""
    pairs = set()
    for line in data.split(b"\n"):
        domain, space, title = line.removesuffix(b"\r").partition(b" ")
        if space:
            pairs.add((domain, unquote_to_bytes(title)))
    return pairs


def reference_rank(data: bytes, blacklist_data: bytes, top_n: int) -> tuple[list[Row], int, int]:
    """Rank an uncompressed dump: (rows as (domain, rank, title, views), lines_read, lines_skipped)."""
    blacklist = parse_blacklist(blacklist_data)
    views_by_page: dict[tuple[bytes, bytes], int] = {}
    lines = split_lines(data)
    skipped = 0
    for line in lines:
        parsed = parse_line(line)
        if parsed is None:
            skipped += 1
            continue
        domain, title, views = parsed
        views_by_page[(domain, title)] = views_by_page.get((domain, title), 0) + views

    pages_by_domain: dict[bytes, list[tuple[bytes, int]]] = {}
    for (domain, title), views in views_by_page.items():
        if (domain, unquote_to_bytes(title)) not in blacklist:
            pages_by_domain.setdefault(domain, []).append((title, views))

    rows: list[Row] = []
    # Pages are ordered by the domain code as printed (code point order); raw bytes only break ties
    # between codes whose invalid UTF-8 prints the same.
    for domain in sorted(pages_by_domain, key=lambda raw: (_text(raw), raw)):
        best = sorted(pages_by_domain[domain], key=lambda page: (-page[1], page[0]))[:top_n]
        for rank, (title, views) in enumerate(best, start=1):
            rows.append((_text(domain), rank, _text(title), views))
    return rows, len(lines), skipped


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")
