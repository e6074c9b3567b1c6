"""Inflating dump files into blocks (wikitop.inflate): both ways give the same bytes and the same errors."""

from __future__ import annotations

import gzip
import random
import threading
from pathlib import Path

import pytest

from wikitop import inflate
from wikitop.errors import CorruptDumpError
from wikitop.inflate import open_gzip_file


def _payload(size: int) -> bytes:
    rng = random.Random(size)
    return b"".join(b"en P%d %d 0\n" % (rng.randrange(10**6), rng.randrange(99)) for _ in range(size))


def _read_all(path: Path, helper: bool, size: int) -> tuple[bytes, list[int]]:
    with open_gzip_file(path, helper) as stream:
        blocks = list(iter(lambda: stream.read(size), b""))
    return b"".join(blocks), [len(block) for block in blocks]


@pytest.mark.parametrize("helper", [True, False], ids=["helper-thread", "inline"])
@pytest.mark.parametrize("size", [4096, inflate.BLOCK_BYTES, 3 * inflate.BLOCK_BYTES + 5])
def test_blocks_join_to_the_inflated_file_across_gzip_members(
    tmp_path: Path, helper: bool, size: int
) -> None:
    first, second = _payload(150_000), _payload(60_000)  # two members, as `cat a.gz b.gz` makes
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second))
    data, sizes = _read_all(path, helper, size)
    assert data == first + second
    assert max(sizes) <= size


@pytest.mark.parametrize("helper", [True, False], ids=["helper-thread", "inline"])
def test_a_damaged_deflate_stream_is_a_corrupt_dump(tmp_path: Path, helper: bool) -> None:
    compressed = bytearray(gzip.compress(_payload(100_000), compresslevel=1))
    compressed[len(compressed) // 3 : len(compressed) // 3 + 64] = bytes(64)  # inside the deflate data
    path = tmp_path / "damaged.gz"
    path.write_bytes(bytes(compressed))
    with pytest.raises(CorruptDumpError, match="corrupt or truncated gzip stream"):
        _read_all(path, helper, inflate.BLOCK_BYTES)


@pytest.mark.parametrize("helper", [True, False], ids=["helper-thread", "inline"])
def test_a_truncated_file_raises_after_the_blocks_it_holds(tmp_path: Path, helper: bool) -> None:
    compressed = gzip.compress(_payload(200_000))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(CorruptDumpError, match="corrupt or truncated gzip stream"):
        _read_all(path, helper, inflate.BLOCK_BYTES)


def _inflate_threads() -> int:
    return sum(thread.name == "inflate" for thread in threading.enumerate())


def test_closing_early_stops_the_helper_thread(tmp_path: Path) -> None:
    path = tmp_path / "big.gz"
    path.write_bytes(gzip.compress(_payload(400_000)))
    before = _inflate_threads()
    with open_gzip_file(path, helper=True) as stream:
        assert stream.read(4096)
        assert _inflate_threads() == before + 1
    assert _inflate_threads() == before


def test_a_helper_thread_only_while_a_core_is_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.gz"  # more than the blocks inflated ahead: the helper is still there
    path.write_bytes(gzip.compress(_payload(400_000)))
    monkeypatch.setattr(inflate, "_cores", lambda: 2)
    before = _inflate_threads()
    with open_gzip_file(path) as alone:
        assert _inflate_threads() == before + 1  # one hour on 2 cores: inflating and ranking in parallel
        with open_gzip_file(path) as second:
            assert _inflate_threads() == before + 1  # two hours at once: each core has an hour
            assert second.read(100)
        assert alone.read(100)
    with open_gzip_file(path):
        assert _inflate_threads() == before + 1  # the count went down when they closed
