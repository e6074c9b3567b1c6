"""The test doubles themselves: the fake dumps.wikimedia.org server and the dump generator."""

from __future__ import annotations

import dataclasses
import gzip
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

import httpx
import pytest

from support.dumpgen import (
    DumpSpec,
    generate_chunks,
    generate_lines,
    line_counts,
    write_dump,
    write_hour,
)
from support.server import FakeWikimedia, Fault
from wikitop.hours import dump_path

HOUR = datetime(2020, 1, 1, 15, tzinfo=UTC)
DUMP = dump_path(HOUR)
GOOD_LINE = re.compile(rb"\S+ \S+ \d+ 0")


@pytest.fixture(scope="module")
def dump_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = write_dump(tmp_path_factory.mktemp("dump") / "dump.gz", DumpSpec(lines=20_000, domains=30))
    return path.read_bytes()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def server(tmp_path: Path, dump_bytes: bytes) -> Iterator[FakeWikimedia]:
    (tmp_path / DUMP).parent.mkdir(parents=True)
    (tmp_path / DUMP).write_bytes(dump_bytes)
    with FakeWikimedia(tmp_path) as running:
        yield running


def wait_until(check: Callable[[], bool], timeout_s: float = 5) -> None:
    """Poll `check()` until it is true, or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_serves_files_with_content_length_and_records_requests(
    server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/other/pageviews", server.url)
    response = http.get(server.url_for(DUMP), headers={"User-Agent": "wikitop-tests/1.0 (ops@example.org)"})
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(dump_bytes))
    assert "content-encoding" not in response.headers  # a client must not gunzip it on the fly
    assert response.content == dump_bytes
    (request,) = server.requests
    wait_until(lambda: request.finished_at is not None)  # the client may have the body before that
    assert (request.method, request.path, request.status) == ("GET", f"/other/pageviews/{DUMP}", 200)
    assert request.user_agent == "wikitop-tests/1.0 (ops@example.org)"
    assert request.body_bytes == len(dump_bytes)
    assert request.finished_at is not None and request.finished_at >= request.started_at
    assert server.requests_for(DUMP) == [request]


def test_head_gives_the_length_without_a_body(
    server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client
) -> None:
    response = http.head(server.url_for(DUMP))
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == str(len(dump_bytes))


def test_unknown_and_outside_paths_are_404(server: FakeWikimedia, tmp_path: Path, http: httpx.Client) -> None:
    (tmp_path.parent / "secret.txt").write_text("not yours")
    assert http.get(server.url_for("2020/2020-01/pageviews-20200101-160000.gz")).status_code == 404
    assert http.get(f"http://127.0.0.1:{server.port}/{DUMP}").status_code == 404
    assert http.get(f"{server.url}/%2e%2e/secret.txt").status_code == 404


def test_base_path_can_be_the_root(tmp_path: Path, http: httpx.Client) -> None:
    (tmp_path / "blacklist_domains_and_pages").write_text("en Main_Page\n")
    with FakeWikimedia(tmp_path, base_path="") as root_server:
        assert root_server.url == f"http://127.0.0.1:{root_server.port}"
        assert http.get(root_server.url_for("blacklist_domains_and_pages")).text == "en Main_Page\n"


def test_serves_a_blacklist_at_its_own_url(server: FakeWikimedia, http: httpx.Client) -> None:
    (server.root_dir / "blacklist_domains_and_pages").write_text("en Main_Page\n")
    response = http.get(server.url_for("blacklist_domains_and_pages"))
    assert (response.status_code, response.text) == (200, "en Main_Page\n")


def test_not_found_until_published(server: FakeWikimedia, http: httpx.Client) -> None:
    server.set_fault(DUMP, Fault.not_found(times=2))
    assert [http.get(server.url_for(DUMP)).status_code for _ in range(3)] == [404, 404, 200]


@pytest.mark.parametrize("status", [503, 429])
def test_status_n_times_then_success(server: FakeWikimedia, status: int, http: httpx.Client) -> None:
    server.set_fault(DUMP, Fault.status_code(status, times=2, retry_after_s=1))
    responses = [http.get(server.url_for(DUMP)) for _ in range(3)]
    assert [response.status_code for response in responses] == [status, status, 200]
    assert responses[0].headers["retry-after"] == "1"


def test_truncate_closes_after_k_bytes(server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client) -> None:
    server.set_fault(DUMP, Fault.truncate(after_bytes=1000, times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(server.url_for(DUMP))
    assert server.requests[-1].body_bytes == 1000
    assert http.get(server.url_for(DUMP)).content == dump_bytes


def test_corrupt_keeps_the_length_but_breaks_the_gzip(
    server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client
) -> None:
    server.set_fault(DUMP, Fault.corrupt())
    body = http.get(server.url_for(DUMP)).content
    assert len(body) == len(dump_bytes) and body != dump_bytes
    assert body[:10] == dump_bytes[:10]  # the gzip header is intact: only the stream is damaged
    with pytest.raises((OSError, EOFError, zlib.error)):
        gzip.decompress(body)


@pytest.mark.parametrize("before_headers", [False, True], ids=["mid-body", "before-headers"])
def test_slow_stall_triggers_a_client_timeout_and_close_is_fast(
    server: FakeWikimedia, before_headers: bool, http: httpx.Client
) -> None:
    server.set_fault(DUMP, Fault.slow(stall_s=30, before_headers=before_headers))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.get(server.url_for(DUMP), timeout=httpx.Timeout(5, read=0.3))
    assert time.monotonic() - started < 3
    wait_until(lambda: server.in_flight == 1)  # the server is still stalling that request
    closing = time.monotonic()
    server.close()
    assert time.monotonic() - closing < 2
    assert not [thread for thread in threading.enumerate() if thread.name == "fake-wikimedia"]


def test_slow_chunks_take_their_time(server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client) -> None:
    chunks = -(-len(dump_bytes) // (64 * 1024))
    server.set_fault(DUMP, Fault.slow(chunk_delay_s=0.1))
    started = time.monotonic()
    assert http.get(server.url_for(DUMP)).content == dump_bytes
    assert time.monotonic() - started >= 0.1 * chunks * 0.9


def test_503_above_the_connection_cap(server: FakeWikimedia, http: httpx.Client) -> None:
    server.set_fault(DUMP, Fault.slow(stall_s=0.5, after_bytes=0, times=3))
    statuses: list[int] = []

    def fetch() -> None:
        statuses.append(http.get(server.url_for(DUMP)).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: server.in_flight == 3)
    assert http.get(server.url_for(DUMP)).status_code == 503
    for thread in threads:
        thread.join()
    assert statuses == [200, 200, 200]
    assert server.max_concurrent == 4
    wait_until(lambda: server.in_flight == 0)
    server.reset_stats()
    assert (server.requests, server.max_concurrent) == ([], 0)


def test_throttle_is_roughly_honoured(server: FakeWikimedia, dump_bytes: bytes, http: httpx.Client) -> None:
    server.throttle_bytes_per_s = len(dump_bytes) / 0.5  # the whole file in half a second
    started = time.monotonic()
    assert http.get(server.url_for(DUMP)).content == dump_bytes
    assert 0.4 < time.monotonic() - started < 2.5


# The generator ------------------------------------------------------------------------------------

QUIRKY = DumpSpec(
    lines=10_000,
    domains=40,
    seed=3,
    malformed_rate=0.02,
    quoted_rate=0.02,
    percent_rate=0.05,
    invalid_utf8_rate=0.02,
)


def dump_lines(spec: DumpSpec) -> list[bytes]:
    data = b"".join(generate_chunks(spec))
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def key(line: bytes) -> tuple[bytes, bytes]:
    domain, _, rest = line.partition(b" ")
    return domain, rest.split(b" ", 1)[0]


def test_generator_is_deterministic_per_seed(tmp_path: Path) -> None:
    spec = DumpSpec(lines=3_000, domains=20, seed=5)
    assert (
        write_dump(tmp_path / "a.gz", spec).read_bytes() == write_dump(tmp_path / "b.gz", spec).read_bytes()
    )
    assert dump_lines(spec) != dump_lines(DumpSpec(lines=3_000, domains=20, seed=6))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.gz", "b.gz"]  # no partial file left


def test_generator_sorts_by_domain_and_title_with_exact_counts() -> None:
    lines = dump_lines(QUIRKY)
    assert len(lines) == QUIRKY.lines
    keys = [key(line) for line in lines if b" " in line]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    # Every line but the empty (malformed) ones names its domain; each domain has its planned count.
    per_domain = Counter(domain.decode() for domain, _ in keys)
    missing = Counter(line_counts(QUIRKY))
    missing.subtract(per_domain)
    assert min(missing.values()) >= 0 and missing.total() == lines.count(b"")
    assert (b"en", b"Main_Page") in set(keys)


def test_generator_produces_the_requested_quirks() -> None:
    lines = dump_lines(QUIRKY)
    expected = QUIRKY.lines * 0.02
    quoted = [line for line in lines if re.fullmatch(rb'\S+ "\\"\S+\\"_\(said\)" \d+ 0', line)]
    assert 0.6 * expected < len(quoted) < 1.4 * expected
    invalid = [line for line in lines if not is_utf8(line)]
    assert 0.6 * expected < len(invalid) < 1.4 * expected
    malformed = [line for line in lines if not GOOD_LINE.fullmatch(line)]
    assert 0.6 * expected < len(malformed) < 1.4 * expected
    assert b"" in malformed and any(len(line.split(b" ")) == 5 for line in malformed)
    assert any(re.fullmatch(rb"\S+ \S+ x\d+ 0", line) for line in malformed)
    encoded = [key(line)[1] for line in lines if GOOD_LINE.fullmatch(line) and b"%" in line]
    assert encoded and all(is_utf8(unquote_to_bytes(title)) for title in encoded)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def test_generator_without_quirks_is_clean() -> None:
    spec = DumpSpec(
        lines=5_000, domains=30, seed=9, malformed_rate=0, quoted_rate=0, percent_rate=0, invalid_utf8_rate=0
    )
    lines = dump_lines(spec)
    assert all(GOOD_LINE.fullmatch(line) and is_utf8(line) for line in lines)
    assert not [line for line in lines if b"%" in line or b'"' in line]


def test_views_are_zipf_distributed() -> None:
    lines = dump_lines(DumpSpec(lines=20_000, domains=30))
    views = [int(line.rsplit(b" ", 2)[1]) for line in lines if GOOD_LINE.fullmatch(line)]
    assert 0.4 < views.count(1) / len(views) < 0.8
    assert max(views) > 1_000


def test_shuffle_gives_the_same_lines_in_another_order() -> None:
    shuffled = dump_lines(dataclasses.replace(QUIRKY, shuffle=True))
    ordered = dump_lines(QUIRKY)
    assert shuffled != ordered
    assert sorted(shuffled) == sorted(ordered)


def test_generate_lines_are_the_chunks_split() -> None:
    spec = DumpSpec(lines=2_000, domains=10, invalid_utf8_rate=0.01)
    text = "".join(line + "\n" for line in generate_lines(spec))
    assert text.encode("utf-8", "surrogateescape") == b"".join(generate_chunks(spec))


def test_write_hour_uses_the_wikimedia_layout(tmp_path: Path) -> None:
    spec = DumpSpec(lines=1_000, domains=10)
    path = write_hour(tmp_path, HOUR, spec)
    assert path == tmp_path / "2020" / "2020-01" / "pageviews-20200101-150000.gz"
    assert gzip.decompress(path.read_bytes()) == b"".join(generate_chunks(spec))


def test_domain_shares_look_like_a_real_hour() -> None:
    counts = line_counts(DumpSpec(lines=5_700_000, domains=1500))
    assert len(counts) == 1500 and sum(counts.values()) == 5_700_000
    biggest = sorted(counts, key=counts.__getitem__, reverse=True)
    assert biggest[:4] == ["en.m", "en", "de.m", "ja.m"]
    assert 0.3 < (counts["en.m"] + counts["en"]) / 5_700_000 < 0.4
    assert min(counts.values()) >= 1
