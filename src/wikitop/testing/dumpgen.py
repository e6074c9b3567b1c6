"""Generate realistic hourly pageview dumps: sorted, Zipf-distributed, with the real files' quirks."""

from __future__ import annotations

import functools
import io
import itertools
import random
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import polars as pl
from isal import igzip_threaded

from wikitop.hours import dump_path

# Byte 0xFF never occurs in UTF-8. Polars only holds valid UTF-8, so U+10FFFF stands in for it until the
# lines are bytes; both sort after every other character, so the stand-in keeps the byte order intact.
INVALID_BYTE = b"\xff"
_STAND_IN = "\U0010ffff"

# Share of all lines, from real hours of 2020: the English Wikipedia (mobile + desktop) is about 35%.
_HEAD_SHARES = {
    "en.m": 0.185, "en": 0.165, "de.m": 0.040, "ja.m": 0.035, "de": 0.030, "fr.m": 0.028, "es.m": 0.028,
    "ru.m": 0.026, "commons.m": 0.024, "ja": 0.022, "fr": 0.022, "it.m": 0.020, "es": 0.018, "ru": 0.018,
    "zh.m": 0.012, "pt.m": 0.012, "it": 0.012, "pl.m": 0.011, "zh": 0.011, "pl": 0.009, "pt": 0.008,
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
    "": 1.0, ".m": 1.0, ".d": 0.08, ".m.d": 0.06, ".s": 0.02, ".m.s": 0.012, ".q": 0.01, ".m.q": 0.008,
    ".b": 0.01, ".m.b": 0.005, ".voy": 0.005, ".m.voy": 0.004, ".n": 0.003, ".m.n": 0.002, ".v": 0.003,
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
_LATER_WORDS_P = [0.22, 0.38, 0.24, 0.11, 0.05]  # how many words follow the first one in a title
_TOKENS = 2 + len(_LATER_WORDS_P)  # a title: [namespace] first word, later words, [suffix]
_RANK_BITS = 19
_VOCAB_WORDS = 30_000
_CHUNK_LINES = 400_000


@dataclass(frozen=True)
class DumpSpec:
    """What to generate: line count, number of domain codes, quirk rates, order and random seed."""

    lines: int = 100_000
    domains: int = 300
    seed: int = 0
    zipf_a: float = 1.9
    quoted_rate: float = 0.0005
    malformed_rate: float = 0.0002
    percent_rate: float = 0.01
    invalid_utf8_rate: float = 0.00001
    shuffle: bool = False


def domain_codes(count: int, rng: random.Random | None = None) -> list[str]:
    """Return the `count` busiest domain codes shaped like Wikimedia's (en.m, en, de.m, ja.m, ...), sorted."""
    return sorted(_ranked_shares(count, rng or random.Random(0)))


def line_counts(spec: DumpSpec) -> dict[str, int]:
    """Return how many lines each domain code gets in the dump of `spec` (they sum to `spec.lines`)."""
    if not 0 < spec.domains <= spec.lines:
        raise ValueError(f"need 0 < domains <= lines, got domains={spec.domains}, lines={spec.lines}")
    shares = _ranked_shares(spec.domains, random.Random(spec.seed))
    codes = sorted(shares)
    weights = np.array([shares[code] for code in codes])
    counts = np.maximum(1, np.floor(weights / weights.sum() * spec.lines)).astype(np.int64)
    counts[int(np.argmax(counts))] += spec.lines - int(counts.sum())
    return dict(zip(codes, counts.tolist(), strict=True))


def _ranked_shares(count: int, rng: random.Random) -> dict[str, float]:
    scores = dict.fromkeys(_SPECIALS, 0.0003)
    for rank, lang in enumerate(_LANGS):
        for project, weight in _PROJECTS.items():
            scores[lang + project] = weight / (rank + 1) ** 1.5
    tail = sorted((code for code in scores if code not in _HEAD_SHARES), key=lambda c: (-scores[c], c))
    while len(_HEAD_SHARES) + len(tail) < count:
        code = "".join(rng.choices(string.ascii_lowercase, k=rng.choice([3, 4]))) + rng.choice(
            list(_PROJECTS)
        )
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


def _capitalize(word: str) -> str:
    return word[:1].upper() + word[1:]


def _word_parts(script: str) -> tuple[list[str], list[int]]:
    """Return the pieces a script's words are made of, and the choice of word lengths in pieces."""
    if script == "cjk":
        kanji = [chr(0x4E00 + 7 * i) for i in range(2900)]
        return kanji + [chr(c) for c in range(0x30A1, 0x30F6)], [1, 2, 2, 3, 4]
    letters = {"latin": ("bcdfghklmnprstvwz", "aeiouy"), "cyrillic": ("бвгдзклмнпрстх", "аеиоуыя")}
    consonants, vowels = letters.get(script, ("بتجدرسعلمنهوكفقش", "اي"))
    parts = [c + v for c in consonants for v in vowels]
    parts += ["é", "ü", "ñ", "st", "tr", "an"] if script == "latin" else []
    return parts, [1, 2, 2, 3, 3, 4]


def _prefix_free(words: list[str]) -> list[str]:
    """Keep the words that begin no other word or namespace, capitalized or not."""
    # Then two titles compare piece by piece as their strings compare, and rows can sort on integers.
    forms = sorted({*words, *map(_capitalize, words), *_NAMESPACES})
    starts = {a for a, b in itertools.pairwise(forms) if b.startswith(a)}
    return [word for word in words if word not in starts and _capitalize(word) not in starts]


@functools.cache
def _vocabulary(script: str) -> list[str]:
    """Return _VOCAB_WORDS prefix-free words of a script (years among them) in a fixed random order."""
    rng = np.random.default_rng(list(script.encode()))
    parts, lengths = _word_parts(script)
    words = dict.fromkeys(str(year) for year in range(1000, 2031))
    while len(kept := _prefix_free(list(words))) < _VOCAB_WORDS:
        draws = rng.integers(len(parts), size=(_VOCAB_WORDS, max(lengths))).tolist()
        for row, length in zip(draws, rng.choice(lengths, _VOCAB_WORDS).tolist(), strict=True):
            words["".join([parts[i] for i in row[:length]])] = None
    return [kept[i] for i in rng.permutation(len(kept))[:_VOCAB_WORDS]]


# Title pieces, in this order: namespaces, suffixes, first words (capitalized), later words ("_" + word),
# and last the empty piece that fills a title's unused places.
_FIRST_WORDS = len(_NAMESPACES) + len(_SUFFIXES)
_LATER_WORDS = _FIRST_WORDS + len(_SCRIPTS) * _VOCAB_WORDS
_NO_PIECE = _LATER_WORDS + 2 * len(_SCRIPTS) * _VOCAB_WORDS


@functools.cache
def _pieces() -> tuple[pl.Series, np.ndarray]:
    """Return every title piece, and its rank in byte order (equal pieces, equal rank; 0 for no piece)."""
    pieces = _NAMESPACES + _SUFFIXES + [_capitalize(w) for s in _SCRIPTS for w in _vocabulary(s)]
    for script in _SCRIPTS:
        words = _vocabulary(script)
        pieces += ["_" + _capitalize(word) for word in words] + ["_" + word for word in words]
    table = pl.Series([*pieces, ""])
    ranks = table.rank("dense").to_numpy().astype(np.int64) - 1
    assert len(table) == _NO_PIECE + 1 and ranks.max() < 1 << _RANK_BITS
    return table, ranks


def _zipf_ranks(rng: np.random.Generator, size: int, count: int) -> np.ndarray:
    """Draw ranks in [0, count) with P(rank) roughly proportional to 1 / (rank + 1)."""
    return np.minimum(np.power(count, rng.random(size)).astype(np.int64) - 1, count - 1)


def _draw_pieces(rng: np.random.Generator, script: np.ndarray) -> np.ndarray:
    """Draw one title per row of `script`: [namespace] first word, later words, [suffix], left-aligned."""
    size, rows = len(script), np.arange(len(script))
    pieces = np.full((size, _TOKENS), _NO_PIECE, dtype=np.int64)
    pieces[:, 0] = _FIRST_WORDS + _VOCAB_WORDS * script + _zipf_ranks(rng, size, _VOCAB_WORDS)
    count = rng.choice(len(_LATER_WORDS_P), size=size, p=_LATER_WORDS_P)
    for j in range(1, len(_LATER_WORDS_P)):
        upper = rng.random(size) < 0.5  # later words are capitalized half the time
        word = _LATER_WORDS + _VOCAB_WORDS * (2 * script + upper) + _zipf_ranks(rng, size, _VOCAB_WORDS)
        pieces[:, j] = np.where(j <= count, word, _NO_PIECE)
    suffixed = rows[rng.random(size) < 0.06]
    pieces[suffixed, count[suffixed] + 1] = len(_NAMESPACES) + _zipf_ranks(rng, len(suffixed), len(_SUFFIXES))
    spaced = rows[rng.random(size) < 0.12]
    pieces[spaced, 1:] = pieces[spaced, :-1]
    pieces[spaced, 0] = _zipf_ranks(rng, len(spaced), len(_NAMESPACES))
    return pieces


def _sort_keys(d: np.ndarray, pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pack the domain index and the ranks of a title's pieces into three integers that sort like the line."""
    ranks, bits = _pieces()[1][pieces], _RANK_BITS
    return (
        (d << 2 * bits) | (ranks[:, 0] << bits) | ranks[:, 1],
        (ranks[:, 2] << 2 * bits) | (ranks[:, 3] << bits) | ranks[:, 4],
        (ranks[:, 5] << bits) | ranks[:, 6],
    )


def _mix(values: np.ndarray) -> np.ndarray:
    """Scramble 64-bit integers (splitmix64's finalizer), so that a few of them hash well together."""
    z = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class _Rows:
    """Generated rows of a run, as columns: domain index, title pieces, views and quirk roll."""

    d: np.ndarray
    pieces: np.ndarray
    views: np.ndarray
    roll: np.ndarray

    def take(self, index: np.ndarray) -> _Rows:
        return _Rows(self.d[index], self.pieces[index], self.views[index], self.roll[index])

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
    at = np.minimum(np.searchsorted(ordered, values), max(len(ordered) - 1, 0))
    return ordered[at] == values if len(ordered) else np.zeros(len(values), dtype=bool)


def _drawn_rows(
    spec: DumpSpec, rng: np.random.Generator, run: range, wanted: np.ndarray, scripts: np.ndarray
) -> _Rows:
    """Draw distinct titles for the domains d of `run` until each has `wanted[d - run.start]`; sort them."""
    kept: list[_Rows] = []
    seen = np.zeros(0, dtype=np.uint64)  # sorted hashes of the kept titles
    missing = wanted
    while missing.any():
        drawn = _candidates(spec, rng, np.repeat(np.arange(run.start, run.stop), missing), scripts)
        # A hash collision between distinct titles only costs a redraw; equal titles always collide.
        hashes = drawn.hashes()
        new = _first_occurrences(hashes)
        new = new[~_contains(seen, hashes[new])]
        kept.append(drawn.take(new))
        seen = np.sort(np.concatenate([seen, hashes[new]]))
        missing = missing - np.bincount(drawn.d[new] - run.start, minlength=len(run))
    rows = _Rows(*(np.concatenate(column) for column in zip(*(vars(r).values() for r in kept), strict=True)))
    return rows.take(np.lexsort(rows.sort_keys()[::-1]))


def _title() -> pl.Expr:
    table = pl.lit(_pieces()[0])
    return pl.concat_str([table.gather(pl.col(f"p{j}")) for j in range(_TOKENS)]).alias("title")


def _frame(rows: _Rows) -> pl.DataFrame:
    """Return rows as a frame of domain index, title, views and roll."""
    columns = {"d": rows.d} | {f"p{j}": rows.pieces[:, j] for j in range(_TOKENS)}
    frame = pl.DataFrame(columns | {"views": rows.views, "roll": rows.roll})
    return frame.select("d", _title(), "views", "roll")


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
    return quote(title, safe="/:(),!'*")


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
    return np.cumsum(rates).tolist()


def _add_quirks(spec: DumpSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """Quote, percent-encode or break the UTF-8 of the titles whose roll falls in each quirk's band."""
    malformed, quoted, percent, invalid = _quirk_bounds(spec)
    roll, title = pl.col("roll"), pl.col("title")
    said = pl.concat_str([pl.lit('"\\"'), title, pl.lit('\\"_(said)"')])
    frame = frame.with_columns(
        pl.when(roll.is_between(malformed, quoted, "left")).then(said).otherwise(title)
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
) -> pl.DataFrame:
    """Return the sorted lines (and their heads) of the domains of `run`."""
    rng = np.random.default_rng([spec.seed, run.start])
    fixed = _fixed_rows(run, needs, rng)
    wanted = needs[run.start : run.stop] - np.bincount(fixed["d"].to_numpy() - run.start, minlength=len(run))
    drawn = _drawn_rows(spec, rng, run, wanted, scripts)
    # Most rows are sorted already, on integers; the few special or quirky ones sort as strings and merge in.
    quirky = drawn.roll < _quirk_bounds(spec)[-1]
    plain = _frame(drawn.take(~quirky)).select(_head(codes), "views")
    plain = plain.select("head", pl.format("{} {} 0", "head", "views").alias("line"))
    special = pl.concat([fixed, _frame(drawn.take(quirky))])
    special = _add_quirks(spec, special).with_columns(_head(codes)).select("head", _line(spec)).sort("head")
    return plain.merge_sorted(special, key="head")


def _runs(counts: list[int]) -> Iterator[range]:
    """Split the domain indexes into consecutive runs of about _CHUNK_LINES lines (one domain at least)."""
    start, total = 0, 0
    for d, count in enumerate(counts):
        if total and total + count > _CHUNK_LINES:
            yield range(start, d)
            start, total = d, 0
        total += count
    yield range(start, len(counts))


def _encode(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.select("line").write_csv(out, include_header=False, quote_style="never")
    return out.getvalue().replace(_STAND_IN.encode(), INVALID_BYTE)


def generate_chunks(spec: DumpSpec) -> Iterator[bytes]:
    """Yield the dump's uncompressed bytes in chunks of whole newline-terminated lines."""
    counts = line_counts(spec)
    codes = pl.Series(list(counts))
    needs = np.array(list(counts.values()), dtype=np.int64)
    scripts = np.array([_script(code) for code in counts], dtype=np.int64)
    frames = (_run_lines(spec, codes, needs, scripts, run) for run in _runs(needs.tolist()))
    if spec.shuffle:
        # The very lines of the sorted dump of this spec, so that results can be compared between the two.
        lines = pl.concat(list(frames))
        frames = iter([lines[np.random.default_rng(spec.seed).permutation(len(lines))]])
    for frame in frames:
        yield _encode(frame)


def generate_lines(spec: DumpSpec) -> Iterator[str]:
    """Yield the dump's lines without newline; invalid UTF-8 bytes come as surrogates (`surrogateescape`)."""
    for chunk in generate_chunks(spec):
        yield from chunk.decode("utf-8", "surrogateescape").split("\n")[:-1]


def write_dump(path: Path, spec: DumpSpec, compresslevel: int = 2) -> Path:
    """Write the gzip dump of `spec` at `path` (parents created, replaced only once complete); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with igzip_threaded.open(partial, "wb", compresslevel=compresslevel, threads=1) as out:
        for chunk in generate_chunks(spec):
            out.write(chunk)
    return partial.replace(path)


def write_hour(root_dir: Path, hour: datetime, spec: DumpSpec) -> Path:
    """Write the dump of `spec` where Wikimedia publishes `hour`: root_dir/YYYY/YYYY-MM/pageviews-....gz."""
    return write_dump(Path(root_dir) / dump_path(hour), spec)
