"""Small hand-written dumps of consecutive hours and days, whose moves a person can check by eye.

With N = 5 (`TOP_N`), hour `HOUR`'s `en` ranks Main_Page, A, Special:Search, E, B (D falls out); the
hour before ranked Main_Page, B, A, D, Z, and the same hour the day before A, B, C, X.
"""

from __future__ import annotations

import gzip
from pathlib import Path

from wikitop.hours import dump_path, parse_hour

TOP_N = 5
HOUR = "2020010115"
PREVIOUS = "2020010114"
DAY_BEFORE = "2019123115"
# The hour after HOUR: its day before (2019123116) has no dump, so no result to compare with.
NEXT = "2020010116"
ESCAPE_TITLE = "<script>alert(1)</script>"

# hour -> (domain code, page title, views) lines, in dump order (the file is not sorted).
DUMPS: dict[str, list[tuple[str, str, int]]] = {
    DAY_BEFORE: [("en", "A", 100), ("en", "B", 90), ("en", "C", 80), ("en", "X", 70)],
    PREVIOUS: [
        ("en", "Main_Page", 1000),
        ("en", "B", 300),
        ("en", "A", 200),
        ("en", "D", 50),
        ("en", "Z", 10),
        ("de.b", "Kochbuch", 7),
    ],
    HOUR: [
        ("de.b", "Kochbuch", 30),
        ("de.b", "Hauptseite", 20),
        ("en", "B", 250),
        ("en", "Main_Page", 5000),
        ("en", "Special:Search", 900),
        ("en", "A", 1000),
        ("en", "E", 700),
        ("en", "D", 40),
        ("en", "Z", 20),
        ("en", "-", 5),
        ("en.m", "Caf%C3%A9_au_lait", 60),
        ("en.m", ESCAPE_TITLE, 50),
    ],
    NEXT: [("en", "E", 900), ("en", "A", 800), ("en", "Main_Page", 4000), ("en", "F", 100)],
}


def dump_bytes(hour: str) -> bytes:
    """The gzipped dump of a crafted hour: `domain_code page_title views response_bytes` lines."""
    lines = "".join(f"{code} {title} {views} 0\n" for code, title, views in DUMPS[hour])
    return gzip.compress(lines.encode("utf-8"))


def write_dumps(root: Path, hours: list[str] | None = None) -> None:
    """Write the crafted hours' dumps under `root`, laid out as dumps.wikimedia.org/other/pageviews."""
    for hour in hours or list(DUMPS):
        path = root / dump_path(parse_hour(hour))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(dump_bytes(hour))
