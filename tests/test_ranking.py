"""The ranking rules, one hand-computed case each, then the engine against the oracle on generated dumps.

Every hand-written case runs through the oracle (tests/reference.py) and through the engine's entry
points: `rank_stream` with its default chunks, with 7-byte chunks (lines cut everywhere) and with a
stream that returns short reads, and `rank_dump` on a gzip file.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast
from urllib.parse import unquote_to_bytes

import pytest

from support.dumpgen import DumpSpec, generate_lines, write_dump
from support.reference import Row, parse_line, reference_rank, split_lines
from support.requirements import require_native_engine
from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError
from wikitop.ranking import Engine, Ranking, rank_dump, rank_stream

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Result = tuple[list[Row], int, int]
Ranker = Callable[[bytes, bytes, int], Result]


def as_result(ranking: Ranking) -> Result:
    rows = [(page.domain_code, page.rank, page.page_title, page.views) for page in ranking.pages]
    return rows, ranking.lines_read, ranking.lines_skipped


class ShortReads(io.RawIOBase):
    """An uncompressed stream that hands out at most `most_bytes` per read, as a socket or pipe may."""

    def __init__(self, data: bytes, most_bytes: int) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._most_bytes = most_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        size = min(len(view), self._most_bytes, len(self._data) - self._position)
        view[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


def engine_stream(
    data: bytes, blacklist_data: bytes, top_n: int, engine: Engine, chunk_bytes: int | None = None
) -> Result:
    blacklist = Blacklist.parse(blacklist_data)
    return as_result(rank_stream(lambda: io.BytesIO(data), blacklist, top_n, chunk_bytes, engine))


def engine_dump(
    path: Path,
    data: bytes,
    blacklist_data: bytes,
    top_n: int,
    engine: Engine,
    chunk_bytes: int | None = None,
) -> Result:
    path.write_bytes(gzip.compress(data))
    return as_result(rank_dump(path, Blacklist.parse(blacklist_data), top_n, chunk_bytes, engine))


ENTRY_POINTS = ["stream", "stream-7-byte-chunks", "stream-short-reads", "dump"]


@pytest.fixture(
    params=["reference", *(f"{engine}-{entry}" for engine in ("native", "arrow") for entry in ENTRY_POINTS)]
)
def rank(request: pytest.FixtureRequest, tmp_path: Path) -> Ranker:
    """One way of ranking bytes: the oracle, or one entry point of one engine."""
    if request.param == "reference":
        return reference_rank
    engine, entry = request.param.split("-", 1)
    if engine == "native":
        require_native_engine()
    rankers: dict[str, Ranker] = {
        "stream": lambda data, bl, n: engine_stream(data, bl, n, engine),
        "stream-7-byte-chunks": lambda data, bl, n: engine_stream(data, bl, n, engine, chunk_bytes=7),
        "stream-short-reads": lambda data, bl, n: as_result(
            # A raw stream is a binary file at run time; typing's BinaryIO names only buffered ones.
            rank_stream(lambda: cast(BinaryIO, ShortReads(data, 5)), Blacklist.parse(bl), n, engine=engine)
        ),
        "dump": lambda data, bl, n: engine_dump(tmp_path / "dump.gz", data, bl, n, engine),
    }
    return rankers[entry]


def lines(*dump_lines: bytes | str) -> bytes:
    """Join lines into a dump with a final newline; str lines are UTF-8 encoded."""
    raw = [line.encode() if isinstance(line, str) else line for line in dump_lines]
    return b"".join(line + b"\n" for line in raw)


# Rule 5: top N per domain code, most views first.


def test_top_n_of_each_domain_by_views(rank: Ranker) -> None:
    data = lines("en A 5 0", "en B 7 0", "de X 1 0", "en C 5 0", "fr P 2 0", "fr Q 3 0")
    expected = [("de", 1, "X", 1), ("en", 1, "B", 7), ("en", 2, "A", 5), ("fr", 1, "Q", 3), ("fr", 2, "P", 2)]
    assert rank(data, b"", 2) == (expected, 6, 0)


def test_tie_at_rank_n_keeps_exactly_n_rows_broken_by_code_point_order(rank: Ranker) -> None:
    data = lines("en Zeta 5 0", "en Éclair 5 0", "en Alpha 5 0", "en zulu 5 0", "en Top 9 0", "en Ärger 5 0")
    data += lines("en Beta 5 0")
    assert rank(data, b"", 3)[0] == [("en", 1, "Top", 9), ("en", 2, "Alpha", 5), ("en", 3, "Beta", 5)]
    # Code point order, not locale or case-folded order: Z < z < Ä (U+00C4) < É (U+00C9).
    assert [title for _, _, title, _ in rank(data, b"", 6)[0]] == [
        "Top",
        "Alpha",
        "Beta",
        "Zeta",
        "zulu",
        "Ärger",
    ]


def test_tie_break_is_code_point_order_not_utf16_order(rank: Ranker) -> None:
    # U+FF21 (UTF-8 EF BC A1) sorts before U+1F600 (F0 9F 98 80); in UTF-16 the surrogate D83D would win.
    data = lines("en 😀 5 0", "en Ａ 5 0")
    assert rank(data, b"", 1)[0] == [("en", 1, "Ａ", 5)]


def test_domain_with_fewer_rows_than_n_lists_them_all(rank: Ranker) -> None:
    data = lines("de Solo 4 0", "fr One 1 0", "fr Two 2 0", "en A 1 0", "en B 2 0", "en C 3 0", "en D 4 0")
    expected = [("de", 1, "Solo", 4), ("en", 1, "D", 4), ("en", 2, "C", 3), ("en", 3, "B", 2)]
    expected += [("fr", 1, "Two", 2), ("fr", 2, "One", 1)]
    assert rank(data, b"", 3)[0] == expected


def test_distinct_domain_codes_are_never_merged(rank: Ranker) -> None:
    data = lines("en X 1 0", "en.m X 2 0", '"" X 3 0', "EN X 4 0", "commons.m.m X 5 0", "commons.m X 6 0")
    expected = [("", 1, "X", 3), ("EN", 1, "X", 4), ("commons.m", 1, "X", 6), ("commons.m.m", 1, "X", 5)]
    expected += [("en", 1, "X", 1), ("en.m", 1, "X", 2)]
    assert rank(data, b"", 1)[0] == expected
    assert rank(data, b"en X\n", 1)[0] == [row for row in expected if row[0] != "en"]


def test_zero_views_and_leading_zeros(rank: Ranker) -> None:
    data = lines("en Zero 0 0", "en Padded 007 0", "en Max 9223372036854775807 0")
    expected = [("en", 1, "Max", 2**63 - 1), ("en", 2, "Padded", 7), ("en", 3, "Zero", 0)]
    assert rank(data, b"", 5) == (expected, 3, 0)


def test_long_run_of_leading_zeros_still_fits_int64(rank: Ranker) -> None:
    # `[0-9]+` whose value fits in int64: the number of digits does not matter. The bad line beside it
    # makes sure a chunk with some invalid counts still reads this one.
    data = lines("en A 00000000000000000000001 0", "en B x 0")
    assert rank(data, b"", 5) == ([("en", 1, "A", 1)], 2, 1)


# Rule 3: duplicates are summed wherever they are.


def test_duplicate_rows_far_apart_are_summed(rank: Ranker) -> None:
    filler = [f"fr F{i:02d} 1 0" for i in range(50)]
    data = lines("en A 1 0", "de A 5 0", "en B 3 0", *filler, "en A 4 0", "de A 1 0", '"en" B 1 0')
    expected = [
        ("de", 1, "A", 6),
        ("en", 1, "A", 5),
        ("en", 2, "B", 4),
        ("fr", 1, "F00", 1),
        ("fr", 2, "F01", 1),
    ]
    assert rank(data, b"", 2) == (expected, 56, 0)


def test_adjacent_duplicates_in_a_sorted_dump_are_summed(rank: Ranker) -> None:
    data = lines("en A 1 0", "en A 2 0", "en B 2 0", "en C 1 0", "en C 1 0", "en C 1 0")
    assert rank(data, b"", 2)[0] == [("en", 1, "A", 3), ("en", 2, "C", 3)]


def test_percent_encoded_and_decoded_titles_are_different_rows(rank: Ranker) -> None:
    data = lines("ru Бо 1 0", "ru %D0%91%D0%BE 2 0")
    assert rank(data, b"", 5)[0] == [("ru", 1, "%D0%91%D0%BE", 2), ("ru", 2, "Бо", 1)]


# Rule 1: quoted fields.


def test_quoted_empty_domain_code(rank: Ranker) -> None:
    data = lines('"" Z11550 1 0', "en Z11550 4 0", '"" Z11550 2 0', '"" Other 1 0')
    expected = [("", 1, "Z11550", 3), ("", 2, "Other", 1), ("en", 1, "Z11550", 4)]
    assert rank(data, b"", 5) == (expected, 4, 0)


def test_quoted_fields_unescape_quotes_and_backslashes(rank: Ranker) -> None:
    data = lines(
        rb'en "say \"hi\"" 3 0',
        rb'en "back\\slash" 4 0',
        rb'en "New York" 5 0',
        rb'en "line\nfeed" 2 0',
        rb'en "ends\\" 1 0',
        rb'en "\"" 6 0',
        rb'"en" Plain 7 0',
        rb"en Plain 1 0",
    )
    expected = [("en", 1, "Plain", 8), ("en", 2, '"', 6), ("en", 3, "New York", 5)]
    expected += [("en", 4, "back\\slash", 4), ("en", 5, 'say "hi"', 3), ("en", 6, "line\\nfeed", 2)]
    expected += [("en", 7, "ends\\", 1)]
    assert rank(data, b"", 10) == (expected, 8, 0)


def test_unterminated_quote_makes_the_line_malformed(rank: Ranker) -> None:
    data = lines(rb'en "Open 1 0', rb'en "Open\" 1 0', rb'"en 5 1 0', rb'en Fine 1 "0', "en Fine 1 0")
    assert rank(data, b"", 5) == ([("en", 1, "Fine", 1)], 5, 4)


def test_closing_quote_followed_by_text_makes_the_line_malformed(rank: Ranker) -> None:
    data = lines(rb'en "A"B 1 0', rb'"en"x A 1 0', rb'en A "1"2 0', "en Fine 1 0")
    assert rank(data, b"", 5) == ([("en", 1, "Fine", 1)], 4, 3)


def test_quote_inside_an_unquoted_field_is_ordinary(rank: Ranker) -> None:
    data = lines(rb'en A"B 2 0', rb'en A" 3 0', rb'en "C" 1 0', rb'en C" 4 0', rb'e"n X 5 0')
    expected = [('e"n', 1, "X", 5), ("en", 1, 'C"', 4), ("en", 2, 'A"', 3), ("en", 3, 'A"B', 2)]
    assert rank(data, b"", 5) == ([*expected, ("en", 4, "C", 1)], 5, 0)


@pytest.mark.parametrize(
    ("line", "row"),
    [
        pytest.param(b"en Empty4th 5 ", ("en", 1, "Empty4th", 5), id="empty-4th-field"),
        pytest.param(b" Unquoted 5 0", ("", 1, "Unquoted", 5), id="unquoted-empty-domain"),
        pytest.param(b'en "" 5 0', ("en", 1, "", 5), id="quoted-empty-title"),
        pytest.param(b'en X "5" 0', ("en", 1, "X", 5), id="quoted-count"),
        pytest.param(b'en X 5 "a b"', ("en", 1, "X", 5), id="quoted-4th-field-with-space"),
        pytest.param(b"en X 5 0\r", ("en", 1, "X", 5), id="cr-ends-4th-field"),
        pytest.param(b"en X\r 5 0", ("en", 1, "X\r", 5), id="cr-inside-title"),
    ],
)
def test_four_fields_read_literally(rank: Ranker, line: bytes, row: Row) -> None:
    assert rank(line + b"\n", b"", 5) == ([row], 1, 0)


# Rule 2: malformed lines are skipped and counted.

MALFORMED = {
    "three-fields": b"en Three 1",
    "five-fields": b"en Five 1 0 extra",
    "double-space-before-title": b"en  Double 1 0",
    "double-space-before-count": b"en Double  1 0",
    "trailing-space": b"en Trailing 1 0 ",
    "non-digit-count": b"en Word x1 0",
    "plus": b"en Plus +5 0",
    "minus": b"en Minus -1 0",
    "minus-zero": b"en MinusZero -0 0",
    "decimal": b"en Float 5.0 0",
    "exponent": b"en Exp 1e3 0",
    "underscore": b"en Under 1_000 0",
    "hex": b"en Hex 0x10 0",
    "hex-upper": b"en Hex 0X1F 0",
    "empty-count": b"en Empty  0",
    "arabic-digit": "en Arabic ٣ 0".encode(),
    "superscript-digit": "en Sup ² 0".encode(),
    "int64-overflow": b"en Huge 9223372036854775808 0",
    "uint64-overflow": b"en Huger 18446744073709551616 0",
    "cr-after-count": b"en X 5\r 0",
    "blank": b"",
    "spaces-only": b"   ",
    "tabs": b"en\tTab\t1\t0",
    "one-field": b"garbage",
}


@pytest.mark.parametrize("bad_line", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_line_is_skipped_and_counted(rank: Ranker, bad_line: bytes) -> None:
    data = lines("en Good 2 0", bad_line, "en Good 1 0")
    assert rank(data, b"", 5) == ([("en", 1, "Good", 3)], 3, 1)


def test_last_line_without_newline_is_a_line(rank: Ranker) -> None:
    assert rank(b"en A 1 0\nen B 2 0", b"", 5) == ([("en", 1, "B", 2), ("en", 2, "A", 1)], 2, 0)
    assert rank(b"en A 1 0\nen B 2", b"", 5) == ([("en", 1, "A", 1)], 2, 1)


def test_blank_lines_are_skipped_lines(rank: Ranker) -> None:
    assert rank(b"\n\nen A 1 0\n\n", b"", 5) == ([("en", 1, "A", 1)], 4, 3)


def test_empty_dump_has_no_rows(rank: Ranker) -> None:
    assert rank(b"", b"", 5) == ([], 0, 0)


# Rule 2: invalid UTF-8 never crashes; bytes are compared raw and replaced only in the output.


def test_invalid_utf8_in_titles_and_domains(rank: Ranker) -> None:
    data = lines(b"en Caf\xe9 3 0", b"e\xffn Page 2 0", b"en \xd0 1 0", b'"\xfe" Q 1 0', b"en Caf\xe9 1 0")
    expected = [("en", 1, "Caf\ufffd", 4), ("en", 2, "\ufffd", 1), ("e\ufffdn", 1, "Page", 2)]
    assert rank(data, b"", 5) == ([*expected, ("\ufffd", 1, "Q", 1)], 5, 0)


def test_malformed_lines_with_invalid_utf8_are_skipped_and_counted(rank: Ranker) -> None:
    # Arrow decodes a bad row as UTF-8 to report it: these lines once failed its whole chunk.
    data = lines("en A 5 0", b"en \xff 5", b"\xfe", b"en B \xff 0 x", "en B 3 0", b"en C \xff 0")
    assert rank(data, b"", 5) == ([("en", 1, "A", 5), ("en", 2, "B", 3)], 6, 4)


def test_arrow_recovers_from_an_undecodable_malformed_line_without_noise_on_stderr() -> None:
    script = (
        "import io\n"
        "from wikitop.blacklist import Blacklist\n"
        "from wikitop.ranking import rank_stream\n"
        "data = b'en A 5 0\\nen \\xff 5\\nen B 3 0\\n'\n"
        "ranking = rank_stream(lambda: io.BytesIO(data), Blacklist.empty(), 5, engine='arrow')\n"
        "print(len(ranking.pages), ranking.lines_read, ranking.lines_skipped)\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert (ran.stdout, ran.stderr) == ("2 3 1\n", "")


def test_arrow_engine_asks_for_jemalloc_unless_the_user_chose_a_pool() -> None:
    """Arrow's group-by allocates from its C++ default pool, chosen when pyarrow loads: the engine
    asks for jemalloc then (on Linux), and leaves a pool the user chose alone."""
    script = (
        "import io\n"
        "from wikitop.blacklist import Blacklist\n"
        "from wikitop.ranking import rank_stream\n"
        "rank_stream(lambda: io.BytesIO(b'en A 5 0\\n'), Blacklist.empty(), 5, engine='arrow')\n"
        "import pyarrow\n"
        "print(pyarrow.default_memory_pool().backend_name)\n"
    )
    for chosen, expected in ((None, "jemalloc" if sys.platform == "linux" else None), ("system", "system")):
        env = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"}
        if chosen is not None:
            env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
        ran = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
        )
        if expected is not None:
            assert ran.stdout.strip() == expected
        assert ran.stderr == ""


def test_invalid_utf8_titles_are_grouped_and_tie_broken_as_raw_bytes(rank: Ranker) -> None:
    # \xfe and \xff both print as U+FFFD but are two pages; F0 9F 98 80 (😀) < FF as bytes.
    data = lines(b"en \xfe 1 0", b"en \xff 4 0", "en 😀 5 0", b"en \xfe 1 0", b"en \xff 1 0")
    expected = [("en", 1, "😀", 5), ("en", 2, "\ufffd", 5), ("en", 3, "\ufffd", 2)]
    assert rank(data, b"", 5)[0] == expected


def test_domains_are_ordered_as_printed_and_invalid_utf8_codes_stay_apart(rank: Ranker) -> None:
    # Pages are ordered by the printed domain code (U+FFFD < U+1F600, although the raw FF > F0);
    # \xfe and \xff both print as U+FFFD but are two domain codes, kept apart in raw byte order.
    data = lines(b"\xff X 1 0", "😀 X 2 0", b"\xfe X 3 0")
    assert rank(data, b"", 5)[0] == [("\ufffd", 1, "X", 3), ("\ufffd", 1, "X", 1), ("😀", 1, "X", 2)]


# Rule 4: the blacklist, exact per pair after percent-decoding both sides.


def test_wholly_blacklisted_domain_is_absent(rank: Ranker) -> None:
    data = lines("fr A 1 0", "fr B 2 0", "de A 1 0")
    assert rank(data, b"fr A\nfr B\n", 5)[0] == [("de", 1, "A", 1)]


def test_blacklisted_rows_free_their_ranks(rank: Ranker) -> None:
    data = lines("en A 9 0", "en B 5 0", "en C 4 0", "en D 3 0")
    assert rank(data, b"en A\nen C\n", 2)[0] == [("en", 1, "B", 5), ("en", 2, "D", 3)]


def test_sums_beyond_32_bits_out_of_order_are_exact(rank: Ranker) -> None:
    """Rows out of order with views on both sides of 2**32 (Arrow's general path keeps a chunk's views
    in 32 bits when they fit, 64 otherwise, and sums the two kinds together) and up to 2**63 - 1."""
    data = lines(
        "en B 5 0",
        f"en A {2**40} 0",
        "de X 9 0",
        f"en C {2**63 - 1} 0",
        "en A 1 0",
        f"de X {2**32} 0",
        f"de Y {2**32 - 1} 0",
    )
    expected = [
        ("de", 1, "X", 2**32 + 9),
        ("de", 2, "Y", 2**32 - 1),
        ("en", 1, "C", 2**63 - 1),
        ("en", 2, "A", 2**40 + 1),
    ]
    assert rank(data, b"", 2) == (expected, 7, 0)


def test_blacklisted_pages_at_the_top_make_the_engine_look_deeper(rank: Ranker) -> None:
    """With N = 2, en's six best pages are blacklisted (two through percent-encoding, either side):
    an engine that looks at N rows, then N + removed, ... must get past all six, keep the tie at its
    cut and break it by title; de, with no blacklisted page, keeps its own best two."""
    en = [f"en P{i} {20 - i} 0" for i in range(10)] + ["en Caf%C3%A9 30 0", "en Ölsen 25 0", "en Tie 15 0"]
    de = ["de P0 20 0", "de P1 19 0", "de P2 18 0"]
    blacklist = "\n".join(["en Café", "en %C3%96lsen", "en P0", "en P1", "en P2", "en P3"]).encode()
    expected = [("de", 1, "P0", 20), ("de", 2, "P1", 19), ("en", 1, "P4", 16), ("en", 2, "P5", 15)]
    for ordered in (sorted(de + en), sorted(de + en, reverse=True)):
        assert rank(lines(*ordered), blacklist, 2) == (expected, 16, 0)


def test_blacklist_matches_after_percent_decoding_both_sides(rank: Ranker) -> None:
    data = lines(
        "ru Бо 5 0",
        "ru %D0%91%D0%BE%D1%80%D0%B8%D1%81 4 0",
        "ru Борис_Грызлов 3 0",
        "ru.m Бо 2 0",
        "en Caf%C3%A9 7 0",
        "en 100%25 6 0",
        "en Na%C3%AFve 2 0",
        "en Keep 1 0",
        "de %C3%84rger 1 0",
    )
    blacklist = "ru %D0%91%D0%BE\nru Борис\nen Café\nen 100%\nde %c3%84rger\n".encode()
    expected = [("en", 1, "Na%C3%AFve", 2), ("en", 2, "Keep", 1), ("ru", 1, "Борис_Грызлов", 3)]
    assert rank(data, blacklist, 5)[0] == [*expected, ("ru.m", 1, "Бо", 2)]


def test_blacklist_never_matches_substrings(rank: Ranker) -> None:
    data = lines(
        "en Main_Page 5 0", "en Main 4 0", "en Main_Page_2 3 0", "en.m Main_Page 2 0", "e Main_Page 1 0"
    )
    expected = [("e", 1, "Main_Page", 1), ("en", 1, "Main", 4), ("en", 2, "Main_Page_2", 3)]
    assert rank(data, b"en Main_Page\n", 5)[0] == [*expected, ("en.m", 1, "Main_Page", 2)]


def test_blacklist_title_with_space_matches_quoted_title(rank: Ranker) -> None:
    data = lines('en "Main Page" 3 0', "en Main 1 0")
    assert rank(data, b"en Main Page\n", 5)[0] == [("en", 1, "Main", 1)]


def test_blacklist_entry_with_empty_domain(rank: Ranker) -> None:
    data = lines('"" X 3 0', "en X 1 0")
    assert rank(data, b" X\n", 5)[0] == [("en", 1, "X", 1)]


# Gzip input.


def test_truncated_gzip_raises(tmp_path: Path, engine: Engine) -> None:
    compressed = gzip.compress(lines(*(f"en P{i} {i} 0" for i in range(20_000))))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(CorruptDumpError):
        rank_dump(path, Blacklist.empty(), 25, engine=engine)


def test_gzip_with_a_bad_crc_raises(tmp_path: Path, engine: Engine) -> None:
    compressed = bytearray(gzip.compress(lines("en A 1 0", "en B 2 0")))
    compressed[-8] ^= 0xFF  # the CRC-32 of the trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(CorruptDumpError):
        rank_dump(path, Blacklist.empty(), 25, engine=engine)


@pytest.mark.parametrize(
    "content", [b"", b"en A 1 0\n", b"\x1f\x8b\x08\x00garbage"], ids=["empty", "plain", "bad"]
)
def test_file_that_is_not_a_complete_gzip_raises(tmp_path: Path, content: bytes, engine: Engine) -> None:
    path = tmp_path / "not.gz"
    path.write_bytes(content)
    with pytest.raises(CorruptDumpError):
        rank_dump(path, Blacklist.empty(), 25, engine=engine)


def test_multi_member_gzip_is_read_to_the_end(tmp_path: Path, engine: Engine) -> None:
    path = tmp_path / "members.gz"
    path.write_bytes(gzip.compress(b"en A 1 0\n") + gzip.compress(b"en B 2 0\nen A 5 0\n"))
    assert as_result(rank_dump(path, Blacklist.empty(), 5, engine=engine)) == (
        [("en", 1, "A", 6), ("en", 2, "B", 2)],
        3,
        0,
    )


# The engine against the oracle on generated dumps with many quirks.

_BAD_BYTES = [b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xed\xa0\x80"]


def _quote(field: bytes) -> bytes:
    return b'"' + field.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _malformed(domain: bytes, title: bytes, count: bytes, rng: random.Random) -> bytes:
    return rng.choice(
        [
            domain + b" " + title + b" " + count,
            domain + b" " + title + b" " + count + b" 0 extra",
            domain + b"  " + title + b" " + count + b" 0",
            domain + b" " + title + b" +" + count + b" 0",
            domain + b" " + title + b" -" + count + b" 0",
            domain + b" " + title + b" " + count + b".0 0",
            domain + b" " + title + b" 1e3 0",
            domain + b" " + title + b"  0",
            domain + b" " + title + b" 9223372036854775808 0",
            domain + b' "' + title + b" " + count + b" 0",
            domain + b' "' + title + b'"x ' + count + b" 0",
            domain + b" " + title + b" " + count + b" 0 ",
            b"",
            b"  ",
        ]
    )


def _mutate(line: bytes, rng: random.Random) -> list[bytes]:
    """Return the line, or its variants: duplicated, quoted, with invalid UTF-8, malformed, ..."""
    fields = line.split(b" ")
    if len(fields) != 4 or fields[1].startswith(b'"'):
        return [line]
    domain, title, count, size = fields
    roll = rng.random()
    if roll < 0.06:
        return [line, b" ".join([domain, title, str(rng.randint(0, 9)).encode(), size])]
    if roll < 0.10:
        return [b" ".join([domain, rng.choice(_BAD_BYTES) + title, count, size])]
    if roll < 0.12:
        return [b" ".join([domain + rng.choice(_BAD_BYTES), title, count, size])]
    if roll < 0.15:
        return [b" ".join([_quote(domain), title, count, size])]
    if roll < 0.19:
        spaced = title[:2] + rng.choice([b" ", b'"', b"\\", b" \\\\ "]) + title[2:]
        return [b" ".join([domain, _quote(spaced)[:-1] + rng.choice([b"", b"\\x"]) + b'"', count, size])]
    if roll < 0.21:
        return [b" ".join([domain, title + b'"' + title[:1], count, size])]
    if roll < 0.23:
        return [b" ".join([domain, title, b"0" * 20 + count, size])]
    if roll < 0.28:
        return [_malformed(domain, title, count, rng)]
    return [line]


def quirky_dump(seed: int, line_count: int, shuffle: bool, domains: int = 40) -> bytes:
    """Generate a dump with high quirk rates and our own mutations, sorted or shuffled."""
    spec = DumpSpec(
        lines=line_count, domains=domains, seed=seed, quoted_rate=0.03, malformed_rate=0.03, percent_rate=0.2
    )
    rng = random.Random(seed)
    out: list[bytes] = []
    for line in generate_lines(spec):
        out.extend(_mutate(line.encode("utf-8", "surrogateescape"), rng))
    if shuffle:
        rng.shuffle(out)
    data = b"\n".join(out)
    return data if seed % 2 else data + b"\n"


def _percent_encode(title: bytes, rng: random.Random) -> bytes:
    if title.isascii():
        at = rng.randrange(len(title)) if title else 0
        return title[:at] + b"".join(b"%%%02X" % byte for byte in title[at : at + 1]) + title[at + 1 :]
    return b"".join(b"%%%02X" % byte if byte >= 0x80 or byte == 0x25 else bytes([byte]) for byte in title)


def sampled_blacklist(data: bytes, seed: int, rate: float = 0.15) -> bytes:
    """A blacklist of some of the dump's own pages: as written, percent-encoded, decoded, or near misses."""
    rng = random.Random(seed)
    keys = sorted({parsed[:2] for parsed in map(parse_line, split_lines(data)) if parsed is not None})
    usable = [(domain, title) for domain, title in keys if b" " not in domain and not title.endswith(b"\r")]
    entries = [b"no_space_line", b"", b"xx.unknown Whatever"]
    whole_domain = rng.choice(usable)[0]
    entries += [domain + b" " + title for domain, title in usable if domain == whole_domain]
    for domain, title in rng.sample(usable, int(len(usable) * rate)):
        written = rng.choice(
            [
                title,
                title,
                _percent_encode(title, rng),
                unquote_to_bytes(title),
                title[:-1],
                title + b"_",
            ]
        )
        entries.append(rng.choice([domain, domain, domain + b".m"]) + b" " + written)
    rng.shuffle(entries)
    return b"\n".join(entry + rng.choice([b"", b"", b"\r"]) for entry in entries) + b"\n"


@pytest.mark.parametrize("top_n", [1, 3, 25])
@pytest.mark.parametrize("shuffle", [False, True], ids=["sorted", "shuffled"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engine_matches_reference_on_quirky_dumps(
    tmp_path: Path, seed: int, shuffle: bool, top_n: int, engine: Engine
) -> None:
    data = quirky_dump(seed, 4_000, shuffle)
    blacklist = sampled_blacklist(data, seed)
    expected = reference_rank(data, blacklist, top_n)
    assert expected[0] and expected[2] > 50  # the dump does exercise rows and malformed lines
    assert engine_stream(data, blacklist, top_n, engine) == expected
    assert engine_stream(data, blacklist, top_n, engine, chunk_bytes=997) == expected
    assert engine_dump(tmp_path / "dump.gz", data, blacklist, top_n, engine) == expected


@pytest.mark.parametrize("top_n", [1, 3, 25, 150])
@pytest.mark.parametrize("seed", [3, 4])
def test_engine_matches_reference_on_clean_sorted_dumps(seed: int, top_n: int, engine: Engine) -> None:
    """Generator output as Wikimedia sorts it, so the engine may take its sorted-input shortcut."""
    spec = DumpSpec(
        lines=6_000, domains=30, seed=seed, quoted_rate=0.0, malformed_rate=0.02, percent_rate=0.2
    )
    # Sorted as raw lines, which is key order: the space after a key sorts before any title byte.
    data = lines(*sorted(line.encode("utf-8", "surrogateescape") for line in generate_lines(spec)))
    blacklist = sampled_blacklist(data, seed)
    expected = reference_rank(data, blacklist, top_n)
    assert engine_stream(data, blacklist, top_n, engine, chunk_bytes=1_000) == expected
    # One late row out of order, and one repeating the first key, after many chunks.
    late = data + lines("aa Late 999999 0", data.split(b"\n", 1)[0])
    expected_late = reference_rank(late, blacklist, top_n)
    assert engine_stream(late, blacklist, top_n, engine, chunk_bytes=1_000) == expected_late


class CountingOpener:
    """Opens `data` as a stream and counts how many times the engine asked for it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.opened = 0

    def __call__(self) -> io.BytesIO:
        self.opened += 1
        return io.BytesIO(self.data)


@pytest.mark.parametrize("quoted_rate", [0.0, 0.05], ids=["plain", "quoted"])
def test_sorted_dump_is_ranked_in_one_pass(engine: Engine, quoted_rate: float) -> None:
    """The sorted shortcut is what makes an hour cost one read: it must hold on Wikimedia's order,
    quoted lines included (their keys with spaces are summed on the side)."""
    spec = DumpSpec(lines=5_000, domains=20, seed=9, quoted_rate=quoted_rate, percent_rate=0.2)
    data = lines(*sorted(line.encode("utf-8", "surrogateescape") for line in generate_lines(spec)))
    blacklist = sampled_blacklist(data, 9)
    opener = CountingOpener(data)
    ranking = rank_stream(opener, Blacklist.parse(blacklist), 25, 4_096, engine)
    assert opener.opened == 1
    assert as_result(ranking) == reference_rank(data, blacklist, 25)


def test_whole_line_sorted_dump_with_duplicates_stays_on_the_one_pass(engine: Engine) -> None:
    """Sorted by whole line, a repeated key's lines sit next to each other: both engines sum them
    there (across chunk boundaries too) instead of sending the hour to the general path."""
    spec = DumpSpec(lines=5_000, domains=20, seed=5, quoted_rate=0.0, percent_rate=0.2)
    plain = [line.encode("utf-8", "surrogateescape") for line in generate_lines(spec)]
    rng = random.Random(5)
    again = [line.rsplit(b" ", 2)[0] + b" %d 0" % rng.randrange(10_000) for line in rng.sample(plain, 2_000)]
    data = lines(*sorted(plain + again))
    blacklist = sampled_blacklist(data, 5)
    expected = reference_rank(data, blacklist, 25)
    # The repeats matter: without their sums the answer would differ.
    assert expected != reference_rank(lines(*sorted(plain)), blacklist, 25)
    for chunk_bytes in (4_096, 7):
        opener = CountingOpener(data)
        ranking = rank_stream(opener, Blacklist.parse(blacklist), 25, chunk_bytes, engine)
        assert opener.opened == 1
        assert as_result(ranking) == expected


def test_sums_past_int64_are_exact_and_past_64_bits_fail_the_hour_clearly() -> None:
    require_native_engine()
    most = f"{2**63 - 1}"
    adjacent = lines("de B 1 0", f"en A {most} 0", f"en A {most} 0")  # the sorted path's sum
    apart = lines(f"en A {most} 0", "de B 1 0", f"en A {most} 0")  # the general path's sum
    for data in (adjacent, apart):
        assert engine_stream(data, b"", 5, "native") == reference_rank(data, b"", 5)
        assert engine_stream(data, b"", 5, "native")[0][1] == ("en", 1, "A", 2**64 - 2)
        with pytest.raises(CorruptDumpError, match=r"summed views exceed 2\*\*64 - 1"):
            engine_stream(data + lines(f"en A {most} 0"), b"", 5, "native")


def test_dump_out_of_order_is_read_again_by_the_general_path(engine: Engine) -> None:
    few = lines("en B 5 0", "en C 3 0", "de X 9 0", "en A 4 0")
    # The C engine sets aside up to 4,096 rows out of place (below); a shuffled file has more.
    spec = DumpSpec(lines=20_000, domains=20, seed=3, quoted_rate=0.0, percent_rate=0.1, shuffle=True)
    shuffled = lines(*(line.encode("utf-8", "surrogateescape") for line in generate_lines(spec)))
    for data in (few, shuffled) if engine == "arrow" else (shuffled,):
        opener = CountingOpener(data)
        ranking = rank_stream(opener, Blacklist.empty(), 25, engine=engine)
        assert opener.opened == 2
        assert as_result(ranking) == reference_rank(data, b"", 25)


def test_arrow_general_path_sums_parts_on_the_way_when_keys_repeat_many_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows waiting to be summed are summed part by part once they outgrow COMPACT_ROWS and twice
    the keys summed so far: answers stay exact across those sums (a key's rows before and after)."""
    from wikitop.ranking import arrow_sums

    monkeypatch.setattr(arrow_sums, "COMPACT_ROWS", 500)
    spec = DumpSpec(lines=3_000, domains=12, seed=4, quoted_rate=0.0, percent_rate=0.1)
    plain = [line.encode("utf-8", "surrogateescape") for line in generate_lines(spec)]
    rng = random.Random(4)
    repeated = [rng.choice(plain).rsplit(b" ", 2)[0] + b" %d 0" % rng.randrange(50) for _ in range(9_000)]
    everything = plain + repeated
    rng.shuffle(everything)
    data = lines(*everything)
    blacklist = sampled_blacklist(data, 5)
    compactions = CallCounter(arrow_sums.PartitionedSums._compact)
    monkeypatch.setattr(arrow_sums.PartitionedSums, "_compact", compactions)
    ranking = rank_stream(lambda: io.BytesIO(data), Blacklist.parse(blacklist), 25, 4_096, "arrow")
    assert compactions.calls >= 3
    assert as_result(ranking) == reference_rank(data, blacklist, 25)


class CallCounter:
    """Wraps a method and counts its calls."""

    def __init__(self, method: Callable[..., None]) -> None:
        self.method = method
        self.calls = 0

    def __get__(self, instance: object, owner: type) -> Callable[[], None]:
        def call() -> None:
            self.calls += 1
            self.method(instance)

        return call


def no_general_path(*_args: object) -> None:
    raise AssertionError("the general path ranked the hour")


def test_c_engine_adds_rows_out_of_place_to_their_sums_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row out of place of a kept key, of a domain with fewer than N keys, of a new domain, of a
    blacklisted page: the one pass settles each (top N = 2 here) and reads the dump once."""
    require_native_engine()
    from wikitop.ranking import native

    monkeypatch.setattr(native, "rank_any_order", no_general_path)
    in_order = lines("de Q 4 0", "en A 10 0", "en B 9 0", "en C 8 0", "fr Z 1 0")
    late = lines("en B 2 0", "de Q 3 0", "de R 5 0", "aa New 7 0", "en A 1 0", "en Bad 50 0", "de Q 1 0")
    data = in_order + late
    blacklist = b"en Bad\n"
    expected = reference_rank(data, blacklist, 2)
    # The late rows change the answer: Q's sum (8) and R's, a new domain code, A's and B's sums.
    assert expected != reference_rank(in_order, blacklist, 2)
    for chunk_bytes in (None, 7):
        opener = CountingOpener(data)
        ranking = rank_stream(opener, Blacklist.parse(blacklist), 2, chunk_bytes, "native")
        assert opener.opened == 1
        assert as_result(ranking) == expected


def test_c_engine_sums_unsettled_keys_in_a_second_pass_that_ranks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A late row of a key not among its full domain's kept rows: only the key's whole sum tells
    whether it enters the top N, so one more pass sums that key alone (not the general path)."""
    require_native_engine()
    from wikitop.ranking import native

    monkeypatch.setattr(native, "rank_any_order", no_general_path)
    in_order = lines("en A 10 0", "en B 9 0", "en C 8 0", "en D 7 0", '"en" "E F" 3 0', "en G 6 0")
    for late_row in ("en D 5 0", "en D 1 0", "en Cz 1 0", '"en" "D" 5 0'):
        data = in_order + lines(late_row, "en B 1 0")
        opener = CountingOpener(data)
        ranking = rank_stream(opener, Blacklist.empty(), 2, engine="native")
        assert opener.opened == 2
        assert as_result(ranking) == reference_rank(data, b"", 2)
    # D's late 5 views lift it (12) above A (10): the second pass is what finds its first 7.
    assert reference_rank(in_order + lines("en D 5 0"), b"", 2)[0][0] == ("en", 1, "D", 12)


def test_sums_past_64_bits_through_rows_out_of_place_fail_the_hour_clearly() -> None:
    require_native_engine()
    most = f"{2**63 - 1}"
    kept = lines(f"en A {most} 0", "en B 1 0", f"en A {most} 0", f"en A {most} 0")
    unsettled = lines(
        "en A 5 0", "en B 4 0", f"en C {most} 0", "en D 1 0", f"en C {most} 0", f"en C {most} 0"
    )
    for data, top_n in ((kept, 5), (unsettled, 2)):
        with pytest.raises(CorruptDumpError, match=r"summed views exceed 2\*\*64 - 1"):
            engine_stream(data, b"", top_n, "native")


def test_engine_matches_reference_with_dumpgen_shuffle_and_invalid_utf8(
    tmp_path: Path, engine: Engine
) -> None:
    spec = DumpSpec(
        lines=20_000,
        domains=60,
        seed=7,
        quoted_rate=0.02,
        malformed_rate=0.02,
        percent_rate=0.1,
        invalid_utf8_rate=0.02,
        shuffle=True,
    )
    path = write_dump(tmp_path / "gen.gz", spec)
    data = gzip.decompress(path.read_bytes())
    blacklist = sampled_blacklist(data, 7)
    ranking = rank_dump(path, Blacklist.parse(blacklist), 25, engine=engine)
    assert as_result(ranking) == reference_rank(data, blacklist, 25)


@pytest.mark.slow
@pytest.mark.parametrize("shuffle", [False, True], ids=["sorted", "shuffled"])
def test_engine_matches_reference_across_many_chunks(tmp_path: Path, shuffle: bool, engine: Engine) -> None:
    data = quirky_dump(11, 300_000, shuffle, domains=300)
    blacklist = sampled_blacklist(data, 11, rate=0.02)
    expected = reference_rank(data, blacklist, 25)
    chunk_bytes = 256 << 10
    assert len(data) > 20 * chunk_bytes
    assert engine_dump(tmp_path / "big.gz", data, blacklist, 25, engine, chunk_bytes=chunk_bytes) == expected
    assert engine_stream(data, blacklist, 25, engine, chunk_bytes=chunk_bytes // 4) == expected
