"""Exercise every path of the C engine on small dumps, checking each answer against the oracle.

Run by tests/test_native_memory.py under valgrind and by tests/test_native_sanitizers.py with a
build instrumented by AddressSanitizer and UBSan (`--native PATH`: the extension module to load
instead of the installed one), so it imports nothing heavy (no Arrow, no polars): only the C
engine, the blacklist and the oracle. Exits non-zero on a wrong answer.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import random
import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from wikitop.blacklist import Blacklist
    from wikitop.ranking.rows import Tally

from support.reference import parse_line, reference_rank

TITLES = ["Main_Page", "A", "B_c", "%C3%9Cber", "Über", "x%", "%zz", "Zeta", "ä", "\udcff"]


def line(rng: random.Random, domain: str) -> bytes:
    """One line: mostly valid, sometimes quoted, malformed, huge or with a carriage return."""
    title = f"{rng.choice(TITLES)}_{rng.randrange(400)}"
    views = str(rng.choice([rng.randrange(1, 50), rng.randrange(10**6), 2**63 - 1]))
    kind = rng.random()
    if kind < 0.05:
        return f'{domain} "{title} \\" x" {views} 0'.encode("utf-8", "surrogateescape")
    if kind < 0.08:
        return f"{domain} {title} {views}".encode("utf-8", "surrogateescape")  # 3 fields
    if kind < 0.10:
        return f"{domain} {title} 9{'9' * 20} 0".encode("utf-8", "surrogateescape")  # too large
    if kind < 0.12:
        return f"{domain} {title}\r {views} 0".encode("utf-8", "surrogateescape")
    return f"{domain} {title} {views} 0".encode("utf-8", "surrogateescape")


def dump(seed: int, count: int = 3_000) -> bytes:
    """A dump in key order, as Wikimedia's, so that the C engine ranks it in one pass."""
    rng = random.Random(seed)
    domains = ["aa", "de", "en", "en.m", "", "zh.m.d"]
    by_key: dict[tuple[bytes, bytes], bytes] = {}
    malformed = []
    for _ in range(count):
        raw = line(rng, rng.choice(domains))
        parsed = parse_line(raw)
        if parsed is None:
            malformed.append(raw)
        else:
            by_key.setdefault(parsed[:2], raw)
    lines = [by_key[key] for key in sorted(by_key)]
    for raw in malformed:  # never order-checked: anywhere will do
        lines.insert(rng.randrange(len(lines) + 1), raw)
    return b"\n".join(lines) + (b"\n" if seed % 2 else b"")


def with_repeats(data: bytes, seed: int) -> tuple[bytes, bytes, bytes]:
    """The dump with every 7th line twice: right after itself (keys still never decrease: the sorted
    path sums them), with 40 of those lines moved to the end (the one pass sets them aside, and
    may read the dump again to sum some keys), and shuffled (with more rows out of place than the
    one pass sets aside, the general path's; see main)."""
    lines = data.split(b"\n")
    repeated = [twice for i, line in enumerate(lines) for twice in ([line, line] if i % 7 == 0 else [line])]
    rng = random.Random(seed)
    moved = set(rng.sample(range(len(repeated)), 40))
    late = [line for i, line in enumerate(repeated) if i not in moved] + [repeated[i] for i in sorted(moved)]
    shuffled = repeated[:]
    rng.shuffle(shuffled)
    return joined(repeated), joined(late), joined(shuffled)


def joined(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def blacklist_of(data: bytes) -> bytes:
    """Every fifth page of the dump, plus a blank line and a line without a space."""
    keys = sorted({parsed[:2] for parsed in map(parse_line, data.split(b"\n")) if parsed is not None})
    return b"\n".join([domain + b" " + title for domain, title in keys[::5]] + [b"", b"no_space"])


def load_native(path: str) -> None:
    """Import the extension module built at `path` as wikitop._native, before anything imports it."""
    spec = importlib.util.spec_from_file_location("wikitop._native", path)
    if spec is None or spec.loader is None:
        sys.exit(f"{path} is not an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["wikitop._native"] = module


def expect_error(error: type[Exception] | tuple[type[Exception], ...], call: Callable[[], object]) -> None:
    """Exit unless `call` raises `error`: every misuse must be an exception, never a crash."""
    try:
        call()
    except error:
        return
    sys.exit(f"a misuse of the C engine raised no {error}: {call}")


def misuse(native: ModuleType) -> None:
    """Walk the error paths: a Ranker never initialised, a failed __init__, bad arguments, two threads."""
    ranker = native.Ranker.__new__(native.Ranker)
    for call in (lambda: ranker.feed(b"en a 1 0\n"), ranker.finish, ranker.pop, lambda: ranker.lines_read):
        expect_error(RuntimeError, call)
    expect_error(TypeError, lambda: ranker.__init__(3, [b"en a", b"en b", 4]))
    ranker.__init__(3, [b"en b"])
    expect_error(RuntimeError, lambda: ranker.__init__(3, []))
    for bad in ("en a 1 0\n", None, memoryview(b"en a 1 0\n")[::2]):
        expect_error((TypeError, BufferError), lambda bad=bad: ranker.feed(bad))  # type: ignore[misc]
    expect_error(ValueError, lambda: native.Ranker(0, []))
    block = b"x\n" * 2_000_000

    def feed() -> None:
        with contextlib.suppress(RuntimeError):  # another thread was feeding: refused, as it must be
            ranker.feed(block)

    threads = [threading.Thread(target=feed) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not ranker.feed(b"en a 1 0\nen b 2 0\nen c 3 0") or not ranker.finish():
        sys.exit("a ranker fed by several threads lost its way")
    runs, side_rows = ranker.pop()
    kept = [(domain, sorted(rows)) for domain, rows in runs]
    if (kept, side_rows) != ([(b"en", [(1, b"a"), (3, b"c")])], []) or ranker.lines_read % 2_000_000 != 3:
        sys.exit("a ranker fed by several threads gave a wrong answer")
    expect_error(RuntimeError, lambda: ranker.feed(b""))


def count_general_path() -> list[int]:
    """A list that gets an item each time the C engine's general path ranks a dump."""
    from wikitop.ranking import native

    calls: list[int] = []
    rank_any_order = native.rank_any_order

    def counted(
        open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, block_bytes: int
    ) -> Tally:
        calls.append(1)
        return rank_any_order(open_stream, blacklist, top_n, block_bytes)

    native.rank_any_order = counted
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--native", help="the wikitop._native extension module to load")
    args = parser.parse_args()
    if args.native:
        load_native(args.native)
    # Imported only now, so that they find the module that --native loaded.
    from wikitop import _native
    from wikitop.blacklist import Blacklist
    from wikitop.ranking import rank_stream

    misuse(_native)
    general_path = count_general_path()
    for seed in range(4):
        adjacent, late, shuffled = with_repeats(dump(seed), seed)
        # One pass over a dump in key order; one or two with rows out of place (set aside by the
        # one pass, some summed in a second); two over one in no order, the second on the general
        # path (the sorted one gives up: more rows out of place than it sets aside, once the dump
        # is 4 times as large; fewer runs of it, for valgrind's time). Blocks of 7 bytes cut every
        # line somewhere.
        every = (1, 3, 25)
        cases: list[tuple[bytes, set[int], bool, tuple[int, ...], tuple[int, ...]]] = [
            (dump(seed), {1}, False, every, (7, 1_000, 1 << 20)),
            (adjacent, {1}, False, every, (7, 1_000, 1 << 20)),
            (late, {1, 2}, False, every, (7, 1_000, 1 << 20)),
            (shuffled, {1, 2}, False, every, (7, 1 << 20)),
        ]
        if seed < 2:
            cases.append((with_repeats(dump(seed, 12_000), seed)[2], {2}, True, (3,), (1_000,)))
        for data, passes, general, top_ns, sizes in cases:
            blacklist = blacklist_of(data)
            for top_n in top_ns:
                expected = reference_rank(data, blacklist, top_n)
                for block_bytes in sizes:
                    opened: list[int] = []

                    def open_stream(data: bytes = data, opened: list[int] = opened) -> io.BytesIO:
                        opened.append(1)
                        return io.BytesIO(data)

                    general_path.clear()
                    ranking = rank_stream(
                        open_stream, Blacklist.parse(blacklist), top_n, block_bytes, "native"
                    )
                    rows = [(p.domain_code, p.rank, p.page_title, p.views) for p in ranking.pages]
                    case = f"seed {seed}, {passes} pass(es), top {top_n}, blocks of {block_bytes} bytes"
                    if len(opened) not in passes or bool(general_path) != general:
                        sys.exit(
                            f"the dump was read {len(opened)} times, general path {general_path}: {case}"
                        )
                    if (rows, ranking.lines_read, ranking.lines_skipped) != expected:
                        sys.exit(f"wrong answer: {case}")
    print("native workout: all answers match the oracle")


if __name__ == "__main__":
    main()
