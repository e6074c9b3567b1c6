"""The engine on real dump excerpts, against answers published with them and against the oracle.

The excerpts live outside the repository (../shared/data, or WIKITOP_SHARED_DATA); a clone without
them skips these tests.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from support.reference import reference_rank
from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError
from wikitop.ranking import Engine, Ranking, rank_dump, rank_stream

SHARED_DATA = Path(
    os.environ.get("WIKITOP_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
SAMPLES = SHARED_DATA / "samples"
FULL_BLACKLIST_SHA256 = "c84e61119e5cee11469af4e454a50064761444a51b3a733fe20777eac163f447"
EVERYTHING = 1_000_000  # a top N larger than any sample, so that no row is cut

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not SHARED_DATA.is_dir(),
        reason=f"real dump excerpts not found at {SHARED_DATA} (set WIKITOP_SHARED_DATA to their folder)",
    ),
]


def rows_of(ranking: Ranking) -> list[tuple[str, int, str, int]]:
    return [(page.domain_code, page.rank, page.page_title, page.views) for page in ranking.pages]


def rank_bytes(data: bytes, blacklist: Blacklist, top_n: int, engine: Engine) -> Ranking:
    return rank_stream(lambda: io.BytesIO(data), blacklist, top_n, engine=engine)


@pytest.fixture(scope="module")
def full_blacklist_data() -> bytes:
    return (SHARED_DATA / "blacklist_domains_and_pages").read_bytes()


@pytest.fixture(scope="module")
def full_blacklist(full_blacklist_data: bytes) -> Blacklist:
    return Blacklist.parse(full_blacklist_data)


@pytest.fixture(scope="module")
def nmy_sample() -> bytes:
    return (SAMPLES / "nmy_pageviews-sample.txt").read_bytes()


def test_full_blacklist_parses_with_its_published_checksum(full_blacklist: Blacklist) -> None:
    assert full_blacklist.sha256 == FULL_BLACKLIST_SHA256
    assert len(full_blacklist.domain_codes) == 756


def test_nmy_sample_filtered_by_its_blacklist(nmy_sample: bytes, engine: Engine) -> None:
    # The published 3,661 rows / 5,539 views come from matching titles without percent-decoding. Rule 4
    # decodes both sides, so two more rows go: als.m Karl_der_Gro%C3%9Fe (3) and ang.m H%C4%93afodtramet (8).
    blacklist_data = (SAMPLES / "nmy_blacklist-domain-and-pages.txt").read_bytes()
    ranking = rank_bytes(nmy_sample, Blacklist.parse(blacklist_data), EVERYTHING, engine)
    assert (len(ranking.pages), sum(page.views for page in ranking.pages)) == (3_659, 5_528)
    assert (rows_of(ranking), ranking.lines_read, ranking.lines_skipped) == reference_rank(
        nmy_sample, blacklist_data, EVERYTHING
    )


def test_nmy_sample_published_answer_without_the_encoded_blacklist_lines(
    nmy_sample: bytes, engine: Engine
) -> None:
    blacklist_data = (SAMPLES / "nmy_blacklist-domain-and-pages.txt").read_bytes()
    plain_lines = b"\n".join(line for line in blacklist_data.split(b"\n") if b"%" not in line)
    ranking = rank_bytes(nmy_sample, Blacklist.parse(plain_lines), EVERYTHING, engine)
    assert (len(ranking.pages), sum(page.views for page in ranking.pages)) == (3_661, 5_539)


def test_nmy_sample_top_25_without_blacklist(nmy_sample: bytes, engine: Engine) -> None:
    ranking = rank_bytes(nmy_sample, Blacklist.empty(), 25, engine)
    assert len(ranking.pages) == 651
    assert sum(page.views for page in ranking.pages) == 2_214
    assert rows_of(ranking)[0] == ("aa", 1, "Main_Page", 19)
    assert ranking.lines_skipped == 2  # the two blank lines
    assert (rows_of(ranking), ranking.lines_read, ranking.lines_skipped) == reference_rank(
        nmy_sample, b"", 25
    )


def test_full_blacklist_removes_one_line_of_the_flood_sample(
    full_blacklist: Blacklist, engine: Engine
) -> None:
    path = SAMPLES / "mflood_sample_pageviews_flood_grep.txt.gz"
    kept = rank_dump(path, full_blacklist, EVERYTHING, engine=engine)
    everything = rank_dump(path, Blacklist.empty(), EVERYTHING, engine=engine)
    removed = {(p.domain_code, p.page_title, p.views) for p in everything.pages} - {
        (p.domain_code, p.page_title, p.views) for p in kept.pages
    }
    assert removed == {("en", "London_Beer_Flood", 2)}
    assert len(kept.pages) == len(everything.pages) - 1
    assert kept.lines_skipped == 1  # `pl incomplete_line_example`


def test_truncated_real_gzip_is_refused(engine: Engine) -> None:
    with pytest.raises(CorruptDumpError):
        rank_dump(
            SAMPLES / "mflood_sample_pageviews_CORRUPT_truncated.txt.gz", Blacklist.empty(), 25, engine=engine
        )


@pytest.mark.parametrize("top_n", [1, 25, EVERYTHING])
def test_mycaule_tail_matches_reference(
    full_blacklist: Blacklist, full_blacklist_data: bytes, top_n: int, engine: Engine
) -> None:
    path = SAMPLES / "mycaule_pageviews-20200601-010000_tail1000.gz"
    ranking = rank_dump(path, full_blacklist, top_n, engine=engine)
    expected = reference_rank(gzip.decompress(path.read_bytes()), full_blacklist_data, top_n)
    assert (rows_of(ranking), ranking.lines_read, ranking.lines_skipped) == expected
    assert ranking.lines_read == 1_000


def test_mycaule_tail_keeps_every_zu_line(engine: Engine) -> None:
    path = SAMPLES / "mycaule_pageviews-20200601-010000_tail1000.gz"
    ranking = rank_dump(path, Blacklist.empty(), EVERYTHING, engine=engine)
    assert sum(page.domain_code == "zu" for page in ranking.pages) == 41


@pytest.mark.parametrize("top_n", [1, 3, 25])
def test_liocharity_head_matches_reference(
    full_blacklist: Blacklist, full_blacklist_data: bytes, top_n: int, engine: Engine
) -> None:
    data = (SAMPLES / "liocharity_pageviews-20210101-020000_head20.txt").read_bytes()
    ranking = rank_bytes(data, full_blacklist, top_n, engine)
    expected = reference_rank(data, full_blacklist_data, top_n)
    assert (rows_of(ranking), ranking.lines_read, ranking.lines_skipped) == expected
    assert ranking.lines_read == 20
