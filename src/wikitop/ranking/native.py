"""The C engine (wikitop._native): one pass for dumps whose keys arrive sorted (as Wikimedia's do), a hash table for any order."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from wikitop.blacklist import Blacklist, joined_key
from wikitop.errors import CorruptDumpError
from wikitop.ranking.rows import Key, Tally, read_blocks

try:
    from wikitop import _native
except ImportError:  # built without a C compiler: the Arrow engine does all the work
    _native = None  # type: ignore[assignment]

AVAILABLE = _native is not None


# The largest sum of views the C engine keeps (its general path reports one beyond as corrupt).
MAX_SUM = 2**64 - 1


def rank_sorted(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, block_bytes: int
) -> Tally | None:
    """Rank a dump whose keys arrive sorted but for a few rows, or return None (the general path's turn).

    Equal adjacent keys (a file sorted by whole line) are summed. A row whose key decreases (a row
    out of place: appended late, say) is set aside by the pass, up to the engine's SET_ASIDE_MAX,
    beyond which the pass stops and None is returned; see _settle_set_aside for what becomes of them.
    """
    tally = _rank(open_stream, blacklist, top_n, block_bytes, any_order=False)
    if tally is None:
        return None
    unsure = _settle_set_aside(tally, blacklist, top_n)
    if unsure is None:
        return None
    if unsure and not _add_whole_sums(tally, unsure, _sum_keys(open_stream, unsure, block_bytes)):
        return None
    return tally


def _settle_set_aside(tally: Tally, blacklist: Blacklist, top_n: int) -> list[Key] | None:
    """Add the rows set aside by the one pass to their keys' sums; return the keys it cannot settle.

    The engine's side rows are keys holding a space (never in the sorted order: theirs are all side
    rows, summed as such) and rows set aside (no space). A set-aside key among its domain's kept rows
    (the N best of the sorted order) gets its sum there; in a domain that kept fewer than N rows, the
    kept rows are all of its keys, so the key had no row in order and its set-aside sum is its sum.
    Otherwise its rows in order were not kept: their sum is unknown, and so is whether it enters the
    top N. Blacklisted keys are dropped, as every blacklisted row is. None: a sum passed MAX_SUM
    (the general path reports it, as for any other key).
    """
    unsure: list[Key] = []
    aside = [(key, views) for key, views in tally.side_rows.items() if b" " not in key[0] + key[1]]
    for (domain, title), views in aside:
        del tally.side_rows[domain, title]
        if blacklist.contains(domain, title):
            continue
        kept = tally.candidates[domain]
        index = next((i for i, (_, kept_title) in enumerate(kept) if kept_title == title), None)
        if index is not None:
            views += kept[index][0]
            kept[index] = (views, title)
        elif len(kept) < top_n:
            kept.append((views, title))
        else:
            unsure.append((domain, title))
        if views > MAX_SUM:
            return None
    return unsure


def _sum_keys(open_stream: Callable[[], BinaryIO], keys: list[Key], block_bytes: int) -> dict[Key, int]:
    """The views of `keys` summed over the whole dump, in one more pass that ranks nothing."""
    ranker = _native.Ranker(1, [], False, [joined_key(domain, title) for domain, title in keys])
    sums: dict[Key, int] = dict.fromkeys(keys, 0)

    def collect() -> None:
        for domain, title, views in ranker.pop()[1]:
            if (domain, title) in sums:  # keys holding a space come too: not watched
                sums[domain, title] += views

    _read_all(ranker, open_stream, block_bytes, collect)
    return sums


def _add_whole_sums(tally: Tally, keys: list[Key], sums: dict[Key, int]) -> bool:
    """Add the keys whose whole sums were taken to their domains' candidates; False past MAX_SUM (as above)."""
    if any(sums[key] > MAX_SUM for key in keys):
        return False
    for domain, title in keys:
        tally.candidates[domain].append((sums[domain, title], title))
    return True


def rank_any_order(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, block_bytes: int
) -> Tally:
    """Rank a dump whose rows come in any order: every key summed in a C hash table, then ranked."""
    tally = _rank(open_stream, blacklist, top_n, block_bytes, any_order=True)
    assert tally is not None  # an any-order pass never stops early
    return tally


def _rank(
    open_stream: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, block_bytes: int, any_order: bool
) -> Tally | None:
    if _native is None:
        raise RuntimeError("wikitop._native is not built: reinstall wikitop with a C compiler")
    ranker = _native.Ranker(top_n, list(blacklist.keys), any_order)
    tally = Tally()
    if not _read_all(ranker, open_stream, block_bytes, lambda: _collect(ranker, tally)):
        return None
    tally.lines_read, tally.lines_skipped = ranker.lines_read, ranker.lines_skipped
    return tally


def _read_all(
    ranker: _native.Ranker, open_stream: Callable[[], BinaryIO], block_bytes: int, collect: Callable[[], None]
) -> bool:
    """Feed the whole dump to `ranker`, calling `collect` after each block and at the end; False when
    the ranker stops (a sorted pass meeting more rows out of place than it sets aside)."""
    with open_stream() as stream:
        for block in read_blocks(stream, block_bytes):
            if not ranker.feed(block):
                return False
            collect()
    try:
        if not ranker.finish():
            return False
    except OverflowError as exc:
        raise CorruptDumpError(f"{exc}: not a real hour of page views") from exc
    collect()
    return True


def _collect(ranker: _native.Ranker, tally: Tally) -> None:
    runs, side_rows = ranker.pop()
    for domain, rows in runs:
        tally.candidates[domain].extend(rows)
    for domain, title, views in side_rows:
        tally.side_rows[domain, title] += views
