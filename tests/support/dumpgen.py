"""Generate realistic hourly pageview dumps: sorted, Zipf-distributed, with the real files' quirks."""

from __future__ import annotations

import functools
import io
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import quote

import numpy as np
import polars as pl
from isal import igzip_threaded

from wikitop.hours import dump_path

# Byte 0xFF never occurs in UTF-8. Polars only holds valid UTF-8, so U+10FFFF stands in for it until the
# lines are bytes; both sort after every other character, so the stand-in keeps the byte order intact.
INVALID_BYTE = b"\xff"
_STAND_IN = "\U0010ffff"

# Shares of all lines of the busiest domain codes, after real hours of 2020: the English Wikipedia
# (mobile and desktop) has about 35% of the lines; the other codes share the rest by a power law.
_HEAD_SHARES = {
    "en.m": 0.185, "en": 0.165, "de.m": 0.040, "ja.m": 0.035, "de": 0.030, "fr.m": 0.028, "es.m": 0.028,
    "ru.m": 0.026, "commons.m": 0.024, "ja": 0.022, "fr": 0.022, "it.m": 0.020, "es": 0.018, "ru": 0.018,
    "zh.m": 0.012, "pt.m": 0.012, "it": 0.012, "pl.m": 0.011, "zh": 0.011, "en.d": 0.010, "pl": 0.009,
    "pt": 0.008, "en.m.d": 0.008,
}  # fmt: skip
_LANGS = [
    "en", "de", "ja", "fr", "es", "ru", "it", "zh", "pt", "pl", "nl", "fa", "ar", "tr",
    "id", "sv", "ko", "uk", "he", "vi", "cs", "fi", "hu", "th", "no", "ro", "ca", "el",
    "sr", "da", "bg", "hi", "ms", "sk", "hr", "az", "lt", "sl", "et", "bn", "kk", "uz",
    "hy", "ka", "eu", "gl", "ta", "ur", "ml", "te", "mr", "lv", "bs", "sh", "eo", "la",
    "simple", "be", "mk", "sq", "is", "af", "cy", "ga", "tl", "sw", "nn", "ky", "mn", "kn",
    "gu", "pa", "ne", "si", "my", "km", "lo", "am", "tg", "tt", "ba", "ce", "cv", "ast",
    "an", "oc", "br", "lb", "fy", "li", "nds", "als", "bar", "ceb", "war", "arz", "azb", "ckb",
    "ps", "sd", "yo", "ha", "ig", "zu", "xh", "so", "jv", "su", "min", "ban", "ilo", "pam",
    "bcl", "hif", "io", "ia", "vo", "ie", "nov", "lfn", "sco", "gd", "gv", "kw", "fo", "se",
    "sah", "os", "ab", "av", "lez", "krc", "kbd", "ady", "udm", "kv", "koi", "mhr", "mrj", "myv",
    "mdf", "xal", "tyv", "bxr", "cu", "crh", "gag", "tk", "ug", "bo", "dz", "dv", "pi", "sa",
    "bh", "new", "bpy", "mai", "wuu", "gan", "lzh", "yue", "hak", "cdo", "nah", "qu", "ay", "gn",
    "ht", "mg", "ny", "rw", "sn", "st", "tn", "ts", "ve", "wo", "ff", "ln", "kg", "lg",
    "ak", "tw", "ee", "bm", "rn", "sg", "ki", "om", "ti",
]  # fmt: skip
_PROJECTS = {
    "": 1.0, ".m": 1.0, ".d": 0.03, ".m.d": 0.025, ".s": 0.008, ".m.s": 0.005, ".q": 0.004, ".m.q": 0.003,
    ".b": 0.004, ".m.b": 0.002, ".voy": 0.002, ".m.voy": 0.0015, ".n": 0.001, ".m.n": 0.0008, ".v": 0.001,
}  # fmt: skip
_SPECIALS = ["commons", "meta.m", "meta", "species.m", "wikidata", "wikidata.m", "mediawiki"]
_CYRILLIC = {
    "ru", "uk", "sr", "bg", "be", "kk", "mk", "ky", "mn", "tg", "tt", "ba", "ce", "cv", "sah", "os", "ab",
    "av", "lez", "krc", "kbd", "udm", "kv", "koi", "mhr", "myv",
}  # fmt: skip
_CJK = {"ja", "zh", "ko", "wuu", "gan", "lzh", "yue", "hak", "cdo"}
_ARABIC = {"ar", "fa", "ur", "arz", "azb", "ckb", "ps", "sd", "ug", "he"}
_SCRIPTS = ("latin", "cyrillic", "cjk", "arabic")
_NAMESPACES = ["Special:", "File:", "Category:", "User:", "Talk:", "Template:", "Wikipedia:", "Portal:"]
_SUFFIXES = ["_(film)", "_(album)", "_(disambiguation)", "_(band)", "_(song)", "_(TV_series)", ".jpg", ".svg"]
_FIXED_TITLES = ["Main_Page", "-", "Special:Search"]
_LATER_WORDS_P = [0.3, 0.4, 0.2, 0.07, 0.03]  # how many words follow the first one in a title
_TOKENS = 2 + len(_LATER_WORDS_P)  # a title: [namespace] first word, later words, [suffix]
_RANK_BITS = 19
_VOCAB_WORDS = 30_000
_WORD_ZIPF = 1.1  # exponent of the power law words are drawn by
_CHUNK_LINES = 400_000


@dataclass(frozen=True)
class DumpSpec:
    """What to generate: line count, number of domain codes, quirk rates, order and random seed."""

    lines: int = 100_000  # exactly this many lines, the empty malformed ones included
    domains: int = 300  # the busiest domain codes first: en.m, en, de.m, ja.m, de, ...
    seed: int = 0
    zipf_a: float = 1.9  # view counts follow Zipf's law with this exponent (most pages: 1 view)
    quoted_rate: float = 0.0005  # share of titles written "\"Title\"_(said)"
    malformed_rate: float = 0.0002  # share of lines broken: missing or extra fields, "x12" views, empty
    percent_rate: float = 0.01  # share of titles percent-encoded (which changes non-ASCII ones)
    invalid_utf8_rate: float = 0.00001  # share of titles with a 0xFF byte inside
    shuffle: bool = False  # the same lines in random order instead of sorted


def domain_codes(count: int) -> list[str]:
    """Return the `count` busiest domain codes shaped like Wikimedia's (en.m, en, de.m, ja.m, ...), sorted."""
    return sorted(_ranked_shares(count))


def line_counts(spec: DumpSpec) -> dict[str, int]:
    """Return how many lines each domain code gets in the dump of `spec` (they sum to `spec.lines`)."""
    if not 0 < spec.domains <= spec.lines:
        raise ValueError(f"need 0 < domains <= lines, got domains={spec.domains}, lines={spec.lines}")
    shares = _ranked_shares(spec.domains)
    codes = sorted(shares)
    weights = np.array([shares[code] for code in codes])
    # One line each, and the rest by share, the largest remainders rounding up.
    exact = weights / weights.sum() * (spec.lines - spec.domains)
    counts = 1 + np.floor(exact).astype(np.int64)
    counts[np.argsort(np.floor(exact) - exact, kind="stable")[: spec.lines - int(counts.sum())]] += 1
    return dict(zip(codes, counts.tolist(), strict=True))


@functools.cache
def _ranked_shares(count: int) -> dict[str, float]:
    """Return the `count` busiest domain codes, busiest first, with their (unnormalized) shares of lines."""
    rng = random.Random("wikitop-domains")  # the same codes whatever the seed, as in consecutive real hours
    scores = dict.fromkeys(_SPECIALS, 0.0003)
    for rank, lang in enumerate(_LANGS):
        for project, weight in _PROJECTS.items():
            scores[lang + project] = weight / (rank + 1) ** 2
    tail = sorted((code for code in scores if code not in _HEAD_SHARES), key=lambda c: (-scores[c], c))
    while len(_HEAD_SHARES) + len(tail) < count:
        code = "".join(rng.choices(string.ascii_lowercase, k=rng.choice([3, 4])))
        code += rng.choice(list(_PROJECTS))
        if code not in scores:
            scores[code] = 1e-6
            tail.append(code)
    tail_scores = sum(scores[code] for code in tail)
    ranked = dict(_HEAD_SHARES)
    ranked.update({code: scores[code] / tail_scores * (1 - sum(_HEAD_SHARES.values())) for code in tail})
    return dict(list(ranked.items())[:count])


def _script(code: str) -> int:
    """Return the index in _SCRIPTS of the script a domain's titles are written in."""
    lang = code.split(".")[0]
    for index, langs in enumerate((_CYRILLIC, _CJK, _ARABIC), start=1):
        if lang in langs:
            return index
    return 0


def _word_parts(script: str) -> tuple[list[str], list[str], list[int]]:
    """Return a script's syllables, its word endings, and the choice of syllable counts before an ending."""
    # No ending letter occurs in a syllable, so no word begins another one: two titles then compare
    # word by word as their strings compare, which lets rows sort on integers (see _sort_keys).
    if script == "cjk":
        kanji_endings = [chr(0x4E00 + 97 * i) for i in range(40)]
        kanji = [chr(c) for c in range(0x4E01, 0x4E01 + 3900) if chr(c) not in kanji_endings]
        return kanji + [chr(c) for c in range(0x30A1, 0x30F6)], kanji_endings, [1, 1, 2, 3]
    if script == "arabic":
        return [c + v for c in "بتجدسعمهوكفقشزخ" for v in "اي"], list("نةرل"), [2, 3, 3, 4]
    consonants, vowels, endings = {
        "latin": ("bcdfghkmpvwz", "aeiouy", "nsrtl"),
        "cyrillic": ("бвгдзкмпхжчш", "аеиоуыя", "нсртл"),
    }[script]
    extra = ["é", "ü", "ñ"] if script == "latin" else []
    return [c + v for c in consonants for v in vowels] + extra, list(endings), [1, 2, 2, 3, 3]


def _draw_words(rng: np.random.Generator, script: str, size: int) -> pl.Series:
    """Draw `size` words of a script: a few syllables and an ending each (not all distinct)."""
    syllables, endings, lengths = _word_parts(script)
    count = pl.Series(rng.choice(lengths, size))
    parts = [
        pl.when(count > j).then(pl.lit(pl.Series(syllables)).gather(rng.integers(len(syllables), size=size)))
        for j in range(max(lengths))
    ]
    ending = pl.lit(pl.Series(endings)).gather(rng.integers(len(endings), size=size))
    return pl.select(pl.concat_str([*parts, ending], ignore_nulls=True)).to_series()


@functools.cache
def _vocabulary(script: str) -> tuple[pl.Series, pl.Series]:
    """Return _VOCAB_WORDS distinct words of a script (years among them) in a fixed random order,
    capitalized and as written."""
    rng = np.random.default_rng(list(script.encode()))
    years = pl.Series([str(year) for year in range(1000, 2031)])
    words = pl.concat([years, _draw_words(rng, script, _VOCAB_WORDS * 3 // 2)]).unique(maintain_order=True)
    capitalized = words.str.slice(0, 1).str.to_uppercase() + words.str.slice(1)
    # A capitalized word must not begin a namespace either ("Cat" and "Category:").
    starts = [namespace[:end] for namespace in _NAMESPACES for end in range(1, len(namespace))]
    kept = pl.DataFrame({"capitalized": capitalized, "written": words})
    kept = kept.filter(~pl.col("capitalized").is_in(starts))
    kept = kept[rng.permutation(len(kept))[:_VOCAB_WORDS]]
    assert len(kept) == _VOCAB_WORDS
    return kept["capitalized"], kept["written"]


# The layout of title pieces: namespaces, suffixes, first words (capitalized), later words ("_" + word),
# and last the empty piece that fills a title's unused places.
_FIRST_WORDS = len(_NAMESPACES) + len(_SUFFIXES)
_LATER_WORDS = _FIRST_WORDS + len(_SCRIPTS) * _VOCAB_WORDS
_NO_PIECE = _LATER_WORDS + 2 * len(_SCRIPTS) * _VOCAB_WORDS


@functools.cache
def _pieces() -> tuple[pl.Series, np.ndarray]:
    """Return the distinct title pieces in byte order ("" first), and the index in it of each piece of
    the layout above; a title is then a row of indexes, which compare as the pieces do."""
    later = [("_" + words).rename("") for script in _SCRIPTS for words in _vocabulary(script)]
    first = [_vocabulary(script)[0].rename("") for script in _SCRIPTS]
    layout = pl.concat([pl.Series(_NAMESPACES + _SUFFIXES), *first, *later, pl.Series([""])])
    table = layout.unique().sort()
    index = layout.rank("dense").to_numpy().astype(np.int32) - 1
    assert len(layout) == _NO_PIECE + 1 and len(table) < 1 << _RANK_BITS and index[_NO_PIECE] == 0
    return table, index


def _zipf_ranks(rng: np.random.Generator, size: int, count: int, exponent: float = 1.0) -> np.ndarray:
    """Draw ranks in [0, count) with P(rank) roughly proportional to (rank + 1) ** -exponent."""
    if exponent == 1.0:
        ranks = np.power(count, rng.random(size))
    else:  # inverse of the CDF of the continuous power law on [1, count]
        low = 1 - exponent
        ranks = np.power(1 + rng.random(size) * (count**low - 1), 1 / low)
    return np.minimum(ranks.astype(np.int64) - 1, count - 1)


def _draw_pieces(rng: np.random.Generator, script: np.ndarray) -> np.ndarray:
    """Draw one title per row of `script`: [namespace] first word, later words, [suffix], left-aligned,
    as indexes into the table of pieces."""
    size, rows = len(script), np.arange(len(script))
    pieces = np.full((size, _TOKENS), _NO_PIECE, dtype=np.int32)
    pieces[:, 0] = _FIRST_WORDS + _VOCAB_WORDS * script + _zipf_ranks(rng, size, _VOCAB_WORDS, _WORD_ZIPF)
    count = rng.choice(len(_LATER_WORDS_P), size=size, p=_LATER_WORDS_P)
    for j in range(1, len(_LATER_WORDS_P)):
        written = rng.random(size) < 0.5  # later words are capitalized only half the time
        form = _LATER_WORDS + _VOCAB_WORDS * (2 * script + written)
        word = form + _zipf_ranks(rng, size, _VOCAB_WORDS, _WORD_ZIPF)
        pieces[:, j] = np.where(j <= count, word, _NO_PIECE)
    suffixed = rows[rng.random(size) < 0.06]
    pieces[suffixed, count[suffixed] + 1] = len(_NAMESPACES) + _zipf_ranks(rng, len(suffixed), len(_SUFFIXES))
    spaced = rows[rng.random(size) < 0.12]
    pieces[spaced, 1:] = pieces[spaced, :-1]
    pieces[spaced, 0] = _zipf_ranks(rng, len(spaced), len(_NAMESPACES))
    sorted_pieces: np.ndarray = _pieces()[1][pieces]
    return sorted_pieces


def _sort_keys(d: np.ndarray, pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pack the domain index and a title's pieces into three integers that sort as the line does."""
    ranks, bits = pieces.astype(np.int64), _RANK_BITS
    return (
        (d << 2 * bits) | (ranks[:, 0] << bits) | ranks[:, 1],
        (ranks[:, 2] << 2 * bits) | (ranks[:, 3] << bits) | ranks[:, 4],
        (ranks[:, 5] << bits) | ranks[:, 6],
    )


def _mix(values: np.ndarray) -> np.ndarray:
    """Scramble 64-bit integers (splitmix64's finalizer), so that a few of them hash well together."""
    z = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


@dataclass(frozen=True)
class _Rows:
    """Generated rows of a run, as columns: domain index, title pieces, views and quirk roll."""

    d: np.ndarray
    pieces: np.ndarray
    views: np.ndarray
    roll: np.ndarray

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(self.d[index], self.pieces[index], self.views[index], self.roll[index])

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        columns = zip(*((part.d, part.pieces, part.views, part.roll) for part in parts), strict=True)
        return _Rows(*(np.concatenate(column) for column in columns))

    def sort_keys(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _sort_keys(self.d, self.pieces)

    def hashes(self) -> np.ndarray:
        k1, k2, k3 = (key.view(np.uint64) for key in self.sort_keys())
        return _mix(k1 ^ _mix(k2 ^ _mix(k3)))


def _candidates(spec: DumpSpec, rng: np.random.Generator, d: np.ndarray, scripts: np.ndarray) -> _Rows:
    """Draw one candidate row for each domain index in `d`."""
    views = np.minimum(rng.zipf(spec.zipf_a, size=len(d)), 5_000_000).astype(np.int64)
    return _Rows(d, _draw_pieces(rng, scripts[d]), views, rng.random(len(d)))


def _first_occurrences(values: np.ndarray) -> np.ndarray:
    """Return the indexes of the first occurrence of each distinct value, in ascending order."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    return np.sort(order[np.concatenate([[True], ordered[1:] != ordered[:-1]])])


def _contains(ordered: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Tell, for each of `values`, whether the sorted array `ordered` holds it."""
    if not len(ordered):
        return np.zeros(len(values), dtype=bool)
    found: np.ndarray = ordered[np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)] == values
    return found


def _first_per_domain(d: np.ndarray, wanted: np.ndarray, start: int) -> np.ndarray:
    """Return the indexes of the first `wanted[d - start]` rows of each domain index d."""
    order = np.argsort(d, kind="stable")
    group = d[order] - start
    counts = np.bincount(group, minlength=len(wanted))
    position = np.arange(len(d)) - (np.cumsum(counts) - counts)[group]
    first: np.ndarray = order[position < wanted[group]]
    return first


def _drawn_rows(
    spec: DumpSpec, rng: np.random.Generator, run: range, wanted: np.ndarray, scripts: np.ndarray
) -> _Rows:
    """Draw distinct titles for the domains d of `run` until each has `wanted[d - run.start]`; sort them."""
    kept = [_candidates(spec, rng, np.zeros(0, dtype=np.int64), scripts)]
    seen = np.zeros(0, dtype=np.uint64)  # sorted hashes of the kept titles
    missing, draws = wanted, wanted + wanted // 8
    while missing.any():
        drawn = _candidates(spec, rng, np.repeat(np.arange(run.start, run.stop), draws), scripts)
        # A hash collision between distinct titles only costs a redraw; equal titles always collide.
        hashes = drawn.hashes()
        new = _first_occurrences(hashes)
        new = new[~_contains(seen, hashes[new])]
        kept.append(drawn.take(new))
        seen = np.sort(np.concatenate([seen, hashes[new]]), kind="stable")
        gained = np.bincount(drawn.d[new] - run.start, minlength=len(run))
        # Domains still short draw again: what they miss, times the ratio of draws to gains just seen.
        ratio, short = draws / np.maximum(gained, 1), np.maximum(missing - gained, 0)
        draws = np.where(short > 0, np.ceil(short * ratio * 1.1) + 4, 0).astype(np.int64)
        missing = short
    rows = _Rows.concat(kept)
    rows = rows.take(_first_per_domain(rows.d, wanted, run.start))
    return rows.take(np.lexsort(rows.sort_keys()[::-1]))


def _columns(rows: _Rows) -> pl.DataFrame:
    pieces = {f"p{j}": rows.pieces[:, j] for j in range(_TOKENS)}
    return pl.DataFrame({"d": rows.d} | pieces | {"views": rows.views, "roll": rows.roll})


def _title() -> list[pl.Expr]:
    table = pl.lit(_pieces()[0])
    return [table.gather(pl.col(f"p{j}")) for j in range(_TOKENS)]


def _plain_lines(rows: _Rows, codes: pl.Series) -> pl.Series:
    """Return the lines of rows that have no quirk, in one go."""
    code, views = pl.lit(codes).gather(pl.col("d")), pl.col("views").cast(pl.String)
    line = pl.concat_str([code, pl.lit(" "), *_title(), pl.lit(" "), views, pl.lit(" 0")])
    return _columns(rows).select(line.alias("line")).to_series()


def _fixed_rows(run: range, needs: np.ndarray, rng: np.random.Generator) -> pl.DataFrame:
    """Every wiki has a Main_Page (usually its busiest page), a "-" line and a search page."""
    rows = [
        (d, title, 1 + int(needs[d] ** (0.9 - 0.2 * i)))
        for d in run
        for i, title in enumerate(_FIXED_TITLES[: needs[d]])
    ]
    frame = pl.DataFrame(rows, schema={"d": pl.Int64, "title": pl.String, "views": pl.Int64}, orient="row")
    return frame.with_columns(roll=pl.Series(rng.random(len(rows)), dtype=pl.Float64))


def _percent_encode(title: str) -> str:
    return quote(title, safe="/:,!'*")


def _break_utf8(title: str) -> str:
    middle = len(title) // 2
    return title[:middle] + _STAND_IN + title[middle:]


def _rewrite(frame: pl.DataFrame, where: pl.Expr, change: Callable[[str], str]) -> pl.DataFrame:
    """Replace the titles of the rows `where` selects by `change(title)`."""
    rows = frame.select(pl.arg_where(where)).to_series()
    if rows.is_empty():
        return frame
    changed = [change(title) for title in frame["title"].gather(rows).to_list()]
    return frame.with_columns(frame["title"].scatter(rows, changed))


def _quirk_bounds(spec: DumpSpec) -> list[float]:
    """Return where each quirk's band of rolls ends: malformed, quoted, percent-encoded, invalid UTF-8."""
    rates = [spec.malformed_rate, spec.quoted_rate, spec.percent_rate, spec.invalid_utf8_rate]
    return [float(bound) for bound in np.cumsum(rates)]


def _add_quirks(spec: DumpSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Quote, percent-encode or break the UTF-8 of the titles whose roll falls in each quirk's band."""
    malformed, quoted, percent, invalid = _quirk_bounds(spec)
    roll, title = pl.col("roll"), pl.col("title")
    said = pl.concat_str([pl.lit('"\\"'), title, pl.lit('\\"_(said)"')])
    frame = frame.with_columns(
        pl.when(roll.is_between(malformed, quoted, "left")).then(said).otherwise(title).alias("title")
    )
    frame = _rewrite(frame, roll.is_between(quoted, percent, "left"), _percent_encode)
    return _rewrite(frame, roll.is_between(percent, invalid, "left"), _break_utf8)


def _head(codes: pl.Series) -> pl.Expr:
    """The key lines sort by: domain code, space, title (a space sorts before every title byte)."""
    return pl.concat_str([pl.lit(codes).gather(pl.col("d")), pl.lit(" "), pl.col("title")]).alias("head")


def _line(spec: DumpSpec) -> pl.Expr:
    """Build each row's dump line from its head; rows rolled as malformed get one of five broken shapes."""
    head, views = pl.col("head"), pl.col("views").cast(pl.String)
    good = pl.concat_str([head, pl.lit(" "), views, pl.lit(" 0")])
    shape = (pl.col("roll") / max(spec.malformed_rate, 1e-300) * 5).cast(pl.Int64, strict=False)
    return (
        pl.when(pl.col("roll") >= spec.malformed_rate).then(good)
        .when(shape == 0).then(head)
        .when(shape == 1).then(pl.concat_str([head, pl.lit(" x"), views, pl.lit(" 0")]))
        .when(shape == 2).then(pl.concat_str([good, pl.lit(" extra")]))
        .when(shape == 3).then(pl.lit(""))
        .otherwise(pl.concat_str([head, pl.lit(" "), views]))
        .alias("line")
    )  # fmt: skip


def _run_lines(
    spec: DumpSpec, codes: pl.Series, needs: np.ndarray, scripts: np.ndarray, run: range
) -> pl.Series:
    """Return the sorted lines of the domains of `run`."""
    rng = np.random.default_rng([spec.seed, run.start])
    fixed = _fixed_rows(run, needs, rng)
    wanted = needs[run.start : run.stop] - np.bincount(fixed["d"].to_numpy() - run.start, minlength=len(run))
    drawn = _drawn_rows(spec, rng, run, wanted, scripts)
    # Most rows are sorted already, on integers; the few special or quirky ones sort as strings.
    quirky = drawn.roll < _quirk_bounds(spec)[-1]
    plain = _plain_lines(drawn.take(~quirky), codes)
    titled = _columns(drawn.take(quirky)).select("d", pl.concat_str(_title()).alias("title"), "views", "roll")
    special = _add_quirks(spec, pl.concat([fixed, titled])).with_columns(_head(codes)).sort("head")
    return _interleave(plain, special["head"], special.select(_line(spec)).to_series())


def _interleave(plain: pl.Series, heads: pl.Series, lines: pl.Series) -> pl.Series:
    """Insert `lines`, sorted by their `heads`, into the sorted `plain` lines."""
    # A head compares with a plain line as with that line's head, since a space follows every head.
    slots = plain.search_sorted(heads, side="left").to_numpy() + np.arange(len(heads))
    is_plain = np.ones(len(plain) + len(lines), dtype=bool)
    is_plain[slots] = False
    order = np.empty(len(is_plain), dtype=np.int64)
    order[is_plain] = np.arange(len(plain))
    order[slots] = len(plain) + np.arange(len(lines))
    return pl.concat([plain, lines]).gather(order)


def _runs(counts: list[int]) -> Iterator[range]:
    """Split the domain indexes into consecutive runs of about _CHUNK_LINES lines (one domain at least)."""
    start, total = 0, 0
    for d, count in enumerate(counts):
        if total and total + count > _CHUNK_LINES:
            yield range(start, d)
            start, total = d, 0
        total += count
    yield range(start, len(counts))


def _encode(lines: pl.Series) -> bytes:
    out = io.BytesIO()
    lines.to_frame().write_csv(out, include_header=False, quote_style="never")
    return out.getvalue().replace(_STAND_IN.encode(), INVALID_BYTE)


def generate_chunks(spec: DumpSpec) -> Iterator[bytes]:
    """Yield the dump's uncompressed bytes in chunks of whole newline-terminated lines."""
    counts = line_counts(spec)
    codes = pl.Series(list(counts))
    needs = np.array(list(counts.values()), dtype=np.int64)
    scripts = np.array([_script(code) for code in counts], dtype=np.int64)
    chunks: Iterator[pl.Series] = (
        _run_lines(spec, codes, needs, scripts, run) for run in _runs(needs.tolist())
    )
    if spec.shuffle:
        # The very lines of the sorted dump of this spec, so that results can be compared between the two.
        lines = pl.concat(list(chunks))
        chunks = iter([lines.gather(np.random.default_rng(spec.seed).permutation(len(lines)))])
    for lines in chunks:
        yield _encode(lines)


def generate_lines(spec: DumpSpec) -> Iterator[str]:
    """Yield the dump's lines without newline; invalid UTF-8 bytes come as surrogates (`surrogateescape`)."""
    for chunk in generate_chunks(spec):
        yield from chunk.decode("utf-8", "surrogateescape").split("\n")[:-1]


def write_dump(path: Path, spec: DumpSpec, compresslevel: int = 6) -> Path:
    """Write the gzip dump of `spec` at `path` (parents created, replaced only once complete); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    # isal deflates several times faster than zlib, in a thread of its own while the next chunk is
    # generated; its levels 0-3 stand for zlib's 0-9 (zlib's default 6 is isal's default 2).
    level = min(3, (compresslevel + 2) // 3)
    gzip = igzip_threaded.open(partial, "wb", compresslevel=level, threads=1)  # type: ignore[no-untyped-call]
    try:
        with cast(BinaryIO, gzip) as out:
            for chunk in generate_chunks(spec):
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return partial.replace(path)


def write_hour(root_dir: Path, hour: datetime, spec: DumpSpec) -> Path:
    """Write the dump of `spec` where Wikimedia publishes `hour`: root_dir/YYYY/YYYY-MM/pageviews-....gz."""
    return write_dump(Path(root_dir) / dump_path(hour), spec)
