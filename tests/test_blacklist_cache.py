"""The blacklist as a process gets it: parsed once per blacklist, then loaded parsed by later processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wikitop.blacklist import Blacklist
from wikitop.blacklist_cache import BlacklistCache, ParsedCache
from wikitop.download import DownloadSlots, HttpFetcher

BLACKLIST = b"en Main_Page\nde %C3%84pfel\nno-space-line\nfr Paris\n"


def _cache(tmp_path: Path, url: str) -> BlacklistCache:
    fetcher = HttpFetcher("wikitop-tests", 5.0, 0, 0.0, DownloadSlots(tmp_path / "slots", 1))
    return BlacklistCache(url, tmp_path / "data" / "cache", fetcher, 3600.0)


def _parsed_files(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "data" / "cache").glob("blacklist-*"))


def test_a_later_process_loads_the_parsed_blacklist(tmp_path: Path) -> None:
    source = tmp_path / "blacklist.txt"
    source.write_bytes(BLACKLIST)
    first = _cache(tmp_path, str(source)).get()
    assert first == Blacklist.parse(BLACKLIST)
    [parsed] = _parsed_files(tmp_path)
    assert first.sha256 in parsed.name
    # A new cache object stands for the next process: it gets the same blacklist from the parsed file.
    parsed.write_bytes(parsed.read_bytes())
    second = _cache(tmp_path, str(source)).get()
    assert second == first
    assert second.contains(b"de", "Äpfel".encode()) and second.lines_skipped == 1


def test_a_changed_blacklist_is_never_served_from_an_old_parse(tmp_path: Path) -> None:
    source = tmp_path / "blacklist.txt"
    source.write_bytes(BLACKLIST)
    _cache(tmp_path, str(source)).get()
    source.write_bytes(BLACKLIST + b"en London\n")
    changed = _cache(tmp_path, str(source)).get()
    assert changed.contains(b"en", b"London")
    assert len(_parsed_files(tmp_path)) == 2


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe9"], ids=["empty", "garbage", "truncated"])
def test_a_damaged_parsed_file_is_parsed_again(tmp_path: Path, damage: bytes) -> None:
    cache = ParsedCache(tmp_path)
    expected = cache.parse(BLACKLIST)
    [parsed] = tmp_path.glob("blacklist-*")
    parsed.write_bytes(damage)
    assert ParsedCache(tmp_path).parse(BLACKLIST) == expected
    assert ParsedCache(tmp_path).parse(BLACKLIST) == expected  # and the file was written again


def test_an_unwritable_directory_still_gives_the_blacklist(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    assert ParsedCache(blocker / "cache").parse(BLACKLIST) == Blacklist.parse(BLACKLIST)


def test_a_long_lived_cache_reads_a_local_file_again_as_soon_as_it_changes(tmp_path: Path) -> None:
    # A service's cache lives for days: an edited file must apply to the next hour, not a day later.
    source = tmp_path / "blacklist.txt"
    source.write_bytes(BLACKLIST)
    cache = _cache(tmp_path, str(source))
    before = cache.get()
    assert cache.get() is before  # unchanged: not read again
    source.write_bytes(BLACKLIST + b"en London\n")
    edited = cache.get()
    assert edited.contains(b"en", b"London") and not before.contains(b"en", b"London")
    # Replaced by another file of the same size (an editor's save-and-rename): read again too.
    replacement = tmp_path / "replacement.txt"
    replacement.write_bytes(BLACKLIST + b"en Berlin\n")
    replacement.replace(source)
    assert cache.get().contains(b"en", b"Berlin")
