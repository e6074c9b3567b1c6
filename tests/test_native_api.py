"""The C engine's Ranker API: every misuse is a Python exception, and any bytes rank as the oracle does."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from itertools import pairwise
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.reference import parse_line, reference_rank, split_lines
from support.requirements import require_native_engine
from wikitop.blacklist import Blacklist
from wikitop.errors import CorruptDumpError
from wikitop.ranking import native

if native.AVAILABLE:
    from wikitop import _native


@pytest.fixture(autouse=True)
def _native_engine() -> None:
    require_native_engine()


def run_isolated(script: str) -> list[str]:
    """Run `script` in a fresh interpreter, so that a crash fails this test instead of ending pytest."""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"exit status {run.returncode}\n{run.stdout}{run.stderr[-3000:]}"
    outcomes: list[str] = json.loads(run.stdout)
    return outcomes


# Calls every entry point of a Ranker named `ranker`, printing what each one raised (or returned).
_CALL_EVERYTHING = """
def outcome(call):
    try:
        return f"returned {call()!r}"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"

calls = [
    lambda: ranker.feed(b"en a 1 0\\n"),
    ranker.finish,
    ranker.pop,
    lambda: ranker.lines_read,
    lambda: ranker.lines_skipped,
]
print(json.dumps([outcome(call) for call in calls]))
"""


def test_a_ranker_made_without_init_refuses_every_call() -> None:
    outcomes = run_isolated(
        "import json\nfrom wikitop._native import Ranker\nranker = Ranker.__new__(Ranker)\n"
        + _CALL_EVERYTHING
    )
    assert outcomes == ["RuntimeError: Ranker not initialised: call Ranker(top_n, blacklist_keys)"] * 5


def test_after_a_memory_error_every_call_raises_instead_of_reading_freed_memory() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("caps the address space with RLIMIT_AS and reads /proc: Linux only")
    # One line that never ends, fed again and again: the carried-over line doubles its buffer until
    # an allocation fails under the capped address space.
    script = """
import json, resource
from wikitop._native import Ranker
ranker = Ranker(3, [])
ranker.feed(b"en a 1 0\\nen b 2 0\\nen c")
block = b"x" * (64 << 20)
with open("/proc/self/statm") as statm:
    in_use = int(statm.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (in_use + (768 << 20), resource.RLIM_INFINITY))
try:
    for _ in range(64):
        ranker.feed(block)
except MemoryError:
    pass
else:
    raise SystemExit("feed() never ran out of memory")
"""
    outcomes = run_isolated(script + _CALL_EVERYTHING)
    broken = (
        "RuntimeError: Ranker is unusable after an earlier MemoryError: rank the dump again with a new Ranker"
    )
    assert outcomes == [broken] * 5


def test_a_failed_init_can_be_retried_and_a_second_init_is_refused() -> None:
    ranker = _native.Ranker.__new__(_native.Ranker)
    with pytest.raises(TypeError, match="blacklist and watch keys must be bytes"):
        ranker.__init__(2, [b"en b", "en c"])  # type: ignore[misc]
    ranker.__init__(2, [b"en b"])  # type: ignore[misc]
    assert ranker.feed(b"en a 1 0\nen b 5 0\nen c 3 0\n")
    assert ranker.finish()
    assert ranker.pop() == ([(b"en", [(1, b"a"), (3, b"c")])], [])
    with pytest.raises(RuntimeError, match="Ranker is already initialised"):
        ranker.__init__(5, [])  # type: ignore[misc]
    assert ranker.lines_read == 3


def test_a_watching_ranker_hands_over_the_rows_of_its_keys_only() -> None:
    ranker = _native.Ranker(1, [b"en a"], False, [b"en a", b"de b"])
    data = b'en a 1 0\nen b 2 0\nde b 3 0\n"en" "a" 4 0\nde b 5 0\nen a 6 0\nfr a 7 0\nbad\n'
    assert ranker.feed(data[:20]) and ranker.feed(data[20:]) and ranker.finish()
    # In file order, whatever the order of the keys; the blacklist plays no part; nothing is ranked.
    rows = [(b"en", b"a", 1), (b"de", b"b", 3), (b"en", b"a", 4), (b"de", b"b", 5), (b"en", b"a", 6)]
    assert ranker.pop() == ([], rows)
    assert (ranker.lines_read, ranker.lines_skipped) == (8, 1)
    with pytest.raises(TypeError, match="watch must be a list of bytes or None"):
        _native.Ranker(1, [], False, (b"en a",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="blacklist and watch keys must be bytes"):
        _native.Ranker(1, [], False, ["en a"])  # type: ignore[list-item]


def test_feed_after_finish_is_refused() -> None:
    ranker = _native.Ranker(1, [])
    assert ranker.finish()
    with pytest.raises(RuntimeError, match=r"feed\(\) after finish\(\)"):
        ranker.feed(b"en a 1 0\n")


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda ranker: ranker.feed("en a 1 0\n"), TypeError),
        (lambda ranker: ranker.feed(None), TypeError),
        (lambda ranker: ranker.feed(17), TypeError),
        (lambda ranker: ranker.feed(memoryview(b"en a 1 0\n")[::2]), BufferError),  # not contiguous
        (lambda ranker: _native.Ranker("3", []), TypeError),  # type: ignore[arg-type]
        (lambda ranker: _native.Ranker(3, (b"en a",)), TypeError),  # type: ignore[arg-type]
        (lambda ranker: _native.Ranker(3, [b"en a", 7]), TypeError),  # type: ignore[list-item]
        (lambda ranker: _native.Ranker(0, []), ValueError),
        (lambda ranker: _native.Ranker(2**70, []), OverflowError),
    ],
)
def test_wrong_arguments_raise(make: Callable[[_native.Ranker], object], error: type[Exception]) -> None:
    ranker = _native.Ranker(2, [])
    with pytest.raises(error):
        make(ranker)
    # The ranker is unharmed: a bad argument changes nothing.
    assert ranker.feed(bytearray(b"en a 1 0\n")) and ranker.finish()
    assert ranker.pop() == ([(b"en", [(1, b"a")])], [])


def test_a_second_feed_while_one_runs_in_another_thread_is_refused() -> None:
    ranker = _native.Ranker(1, [])
    block = b"x\n" * 20_000_000  # malformed lines: a few tenths of a second without the GIL
    feeding = threading.Event()

    def feed_in_background() -> None:
        feeding.set()
        ranker.feed(block)

    # With a long switch interval the feeding thread keeps the GIL from feeding.set() until feed()
    # releases it, with the busy flag already taken: the main thread then wakes inside that window.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000)
    try:
        background = threading.Thread(target=feed_in_background)
        background.start()
        feeding.wait()
        refused = []
        for call in (lambda: ranker.feed(b""), ranker.pop, ranker.finish, lambda: ranker.lines_read):
            with pytest.raises(RuntimeError) as raised:
                call()
            refused.append(str(raised.value))
    finally:
        sys.setswitchinterval(interval)
        background.join()
    busy = "Ranker is already feeding in another thread: use one Ranker from one thread at a time"
    assert refused == [busy] * 4
    assert ranker.lines_read == ranker.lines_skipped == 20_000_000  # the first feed ran to its end


# ---- any bytes, cut anywhere, rank as the oracle does ----------------------------------------------

# Plain pieces are drawn ten times as often as quirky ones, so that most lines are valid.
_PLAIN = [b"en", b"en.m", b"de", b"a", b"%C3%9C", b"%zz", b"\xc3", b"_", b"Z", b"\r"]
_QUIRKS = [b'"', b"\\", b" "]
_VIEWS = [b"0", b"1", b"007", b"42", b"9223372036854775807", b"9223372036854775808", b"", b"-1", b"1x"]


def _field() -> st.SearchStrategy[bytes]:
    """A field, sometimes quoted with escapes and spaces inside (a key with a space is a side row)."""
    plain = st.lists(st.sampled_from(_PLAIN * 10 + _QUIRKS), max_size=4).map(b"".join)
    inside = st.lists(st.sampled_from([*_PLAIN, b" ", b'\\"', b"\\\\", b"\\"]), max_size=4).map(b"".join)
    return st.one_of(plain, plain, plain, inside.map(lambda text: b'"' + text + b'"'))


def _line() -> st.SearchStrategy[bytes]:
    """A dump line, mostly valid; quotes, spaces, odd views and random bytes make some quirky or malformed."""
    views = st.one_of(st.integers(0, 10**6).map(lambda n: str(n).encode()), st.sampled_from(_VIEWS))
    fields = st.tuples(_field(), _field(), views, st.sampled_from([b"0", b"12", b""]))
    return st.one_of(
        fields.map(b" ".join), fields.map(b" ".join), fields.map(b" ".join), st.binary(max_size=12)
    )


def _in_key_order(lines: list[bytes]) -> list[bytes]:
    """Sort the valid lines by key in their own slots (a repeated key's lines next to each other);
    malformed ones stay where they are."""
    valid = [(parsed[:2], line) for line in lines if (parsed := parse_line(line)) is not None]
    ordered = iter(line for _, line in sorted(valid, key=lambda keyed: keyed[0]))
    return [line if parse_line(line) is None else next(ordered) for line in lines]


@st.composite
def _fed_dumps(draw: st.DrawFn) -> tuple[bytes, list[int], bytes, int]:
    """(dump, cut offsets, blacklist, top_n): random bytes, or lines mostly in key order."""
    if draw(st.integers(0, 3)) == 0:
        data = draw(st.binary(max_size=400))
    else:
        lines = draw(st.lists(_line(), max_size=60))
        if draw(st.integers(0, 3)):
            lines = _in_key_order(lines)
        data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n"]))
    # A read of 0 bytes means the end of the stream: cut strictly inside the dump.
    cuts = sorted(set(draw(st.lists(st.integers(1, max(len(data) - 1, 1)), max_size=12))))
    keys = sorted({parsed[:2] for parsed in map(parse_line, split_lines(data)) if parsed is not None})
    listed = draw(st.lists(st.sampled_from(keys), max_size=6)) if keys else []
    encode = draw(st.booleans())  # the blacklist percent-encodes its titles: decoded on both sides
    blacklist = b"\n".join(d + b" " + (quote_from_bytes(t).encode() if encode else t) for d, t in listed)
    return data, cuts, blacklist, draw(st.integers(1, 4))


class _CutStream(io.BytesIO):
    """A stream whose reads end at the given offsets, whatever size is asked for."""

    def __init__(self, data: bytes, cuts: list[int]) -> None:
        super().__init__(data)
        self._ends: Iterator[int] = iter([*cuts, len(data)])

    def read(self, size: int | None = -1, /) -> bytes:
        end = next(self._ends, len(self.getbuffer()))
        return super().read(max(end - self.tell(), 0))


def _keys_never_decrease(data: bytes) -> bool:
    """What the oracle says of the C engine's one-pass condition: ordered keys (no space in them) never
    decrease (a key may repeat right after itself)."""
    keys = [parsed[:2] for parsed in map(parse_line, split_lines(data)) if parsed is not None]
    ordered = [key for key in keys if b" " not in key[0] and b" " not in key[1]]
    return all(a <= b for a, b in pairwise(ordered))


def _sums_fit_64_bits(data: bytes) -> bool:
    """Whether every key's summed views fit in 64 bits (beyond, the C engine refuses the hour)."""
    sums: dict[tuple[bytes, bytes], int] = {}
    for parsed in map(parse_line, split_lines(data)):
        if parsed is not None:
            sums[parsed[:2]] = sums.get(parsed[:2], 0) + parsed[2]
    return all(views < 2**64 for views in sums.values())


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fed_dumps())
def test_any_bytes_fed_in_any_blocks_rank_as_the_oracle_does(
    fed: tuple[bytes, list[int], bytes, int],
) -> None:
    data, cuts, blacklist_data, top_n = fed
    blacklist = Blacklist.parse(blacklist_data)
    tally = native.rank_sorted(lambda: _CutStream(data, cuts), blacklist, top_n, block_bytes=1 << 20)
    if tally is None:
        assert not (_keys_never_decrease(data) and _sums_fit_64_bits(data)), (
            "the C engine gave up on a dump whose keys never decrease"
        )
        return
    # Keys that decrease now and then are set aside and added to their sums (or summed whole in a
    # second pass): the answer is the oracle's all the same.
    ranking = tally.ranking(blacklist, top_n)
    rows = [(p.domain_code, p.rank, p.page_title, p.views) for p in ranking.pages]
    assert (rows, ranking.lines_read, ranking.lines_skipped) == reference_rank(data, blacklist_data, top_n)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fed_dumps())
def test_any_bytes_in_any_order_rank_as_the_oracle_does_on_the_general_path(
    fed: tuple[bytes, list[int], bytes, int],
) -> None:
    data, cuts, blacklist_data, top_n = fed
    blacklist = Blacklist.parse(blacklist_data)
    if not _sums_fit_64_bits(data):
        with pytest.raises(CorruptDumpError, match="exceed 2"):
            native.rank_any_order(lambda: _CutStream(data, cuts), blacklist, top_n, block_bytes=1 << 20)
        return
    tally = native.rank_any_order(lambda: _CutStream(data, cuts), blacklist, top_n, block_bytes=1 << 20)
    ranking = tally.ranking(blacklist, top_n)
    rows = [(p.domain_code, p.rank, p.page_title, p.views) for p in ranking.pages]
    assert (rows, ranking.lines_read, ranking.lines_skipped) == reference_rank(data, blacklist_data, top_n)
