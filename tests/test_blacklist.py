"""Blacklist parsing and matching: split at the first space, exact pairs, percent-decoding on both sides."""

from __future__ import annotations

import hashlib
import random
from urllib.parse import unquote_to_bytes

import pytest

from support.requirements import require_native_engine
from wikitop.blacklist import Blacklist


def test_line_is_split_at_the_first_space() -> None:
    blacklist = Blacklist.parse(b"en Main Page\nde A B C\n")
    assert blacklist.contains(b"en", b"Main Page")
    assert blacklist.contains(b"de", b"A B C")
    assert not blacklist.contains(b"en", b"Main")
    assert not blacklist.contains(b"en Main", b"Page")


def test_matching_is_exact_never_by_substring() -> None:
    blacklist = Blacklist.parse(b"en Main_Page\n")
    assert blacklist.contains(b"en", b"Main_Page")
    near_misses = [(b"en", b"Main"), (b"en", b"Main_Page_2"), (b"en", b"main_page"), (b"en.m", b"Main_Page")]
    for domain, title in [*near_misses, (b"e", b"Main_Page")]:
        assert not blacklist.contains(domain, title)


def test_crlf_line_endings_are_stripped() -> None:
    blacklist = Blacklist.parse(b"en A\r\nen B\r\n")
    assert blacklist.contains(b"en", b"A")
    assert blacklist.contains(b"en", b"B")
    assert not blacklist.contains(b"en", b"A\r")


def test_blank_lines_and_lines_without_space_add_nothing() -> None:
    blacklist = Blacklist.parse(b"\n\nen A\n\nno_space_here\nen B")
    assert len(blacklist) == 2
    assert blacklist.contains(b"en", b"B")  # last line without a newline
    assert not blacklist.contains(b"no_space_here", b"")
    assert blacklist.lines_skipped == 1


def test_trailing_space_is_part_of_the_title() -> None:
    blacklist = Blacklist.parse(b"en X \n")
    assert blacklist.contains(b"en", b"X ")
    assert not blacklist.contains(b"en", b"X")


def test_line_starting_with_a_space_has_the_empty_domain_code() -> None:
    blacklist = Blacklist.parse(b" Z11550\n")
    assert blacklist.contains(b"", b"Z11550")
    assert not blacklist.contains(b"en", b"Z11550")


@pytest.mark.parametrize(
    ("entry", "title"),
    [
        pytest.param("ru %D0%91%D0%BE", "Бо", id="encoded-entry-decoded-title"),
        pytest.param("ru Бо", "%D0%91%D0%BE", id="decoded-entry-encoded-title"),
        pytest.param("ru %d0%91%d0%be", "%D0%91%D0%BE", id="lower-and-upper-case-hex"),
        pytest.param("ru %D0%91о", "Б%D0%BE", id="partly-encoded-both"),
        pytest.param("en 100%", "100%25", id="literal-percent"),
        pytest.param("en 100%ZZ", "100%ZZ", id="invalid-escape-stays"),
        pytest.param("en A+B", "A+B", id="plus-is-not-a-space"),
        pytest.param("en A%20B", "A B", id="encoded-space"),
    ],
)
def test_titles_match_after_percent_decoding_both_sides(entry: str, title: str) -> None:
    blacklist = Blacklist.parse(entry.encode() + b"\n")
    assert blacklist.contains(entry.split(" ")[0].encode(), title.encode())


def test_percent_decoding_does_not_make_near_misses_match() -> None:
    blacklist = Blacklist.parse(b"ru %D0%91%D0%BE\nen A+B\n")
    assert not blacklist.contains(b"ru", "Борис".encode())
    assert not blacklist.contains(b"ru", b"%D0%91")
    assert not blacklist.contains(b"en", b"A B")


def test_domain_codes_are_not_percent_decoded() -> None:
    blacklist = Blacklist.parse(b"%65n X\n")
    assert not blacklist.contains(b"en", b"X")
    assert blacklist.contains(b"%65n", b"X")


def test_decoded_bytes_need_not_be_utf8() -> None:
    blacklist = Blacklist.parse(b"en %FF\nde \xfe\n")
    assert blacklist.contains(b"en", b"\xff")
    assert blacklist.contains(b"de", b"%FE")


def test_sha256_is_of_the_raw_bytes() -> None:
    lf, crlf = b"en A\nen B\n", b"en A\r\nen B\r\n"
    assert Blacklist.parse(lf).sha256 == hashlib.sha256(lf).hexdigest()
    assert Blacklist.parse(crlf).sha256 == hashlib.sha256(crlf).hexdigest()
    assert Blacklist.parse(lf).sha256 != Blacklist.parse(crlf).sha256
    assert Blacklist.parse(lf).keys == Blacklist.parse(crlf).keys


def test_empty_blacklist_removes_nothing() -> None:
    blacklist = Blacklist.empty()
    assert len(blacklist) == 0
    assert not blacklist.contains(b"", b"")
    assert not blacklist.contains(b"en", b"Main_Page")
    assert blacklist.sha256 == hashlib.sha256(b"").hexdigest()


def test_native_percent_decoding_matches_the_standard_library() -> None:
    require_native_engine()
    from wikitop._native import percent_decode

    rng = random.Random(5)
    alphabet = b"%%%0aAFfgZ9 \xd0\x00"
    samples = [bytes(rng.choice(alphabet) for _ in range(rng.randrange(10))) for _ in range(50_000)]
    samples += [b"%", b"%4", b"%41", b"%%41", b"%4%41", b"%G1", b"%e2%82%ac", b"%E2%82%AC%"]
    assert [percent_decode(sample) for sample in samples] == [unquote_to_bytes(s) for s in samples]
