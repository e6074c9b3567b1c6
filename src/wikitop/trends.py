"""What rose this hour: one domain code's ranked pages with their moves against earlier hours, filtered.

Read-only and framework-free: the dashboard and any command line read it through a loader of stored
results, so the comparisons and the articles-only filter have one home.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from wikitop import sites
from wikitop.hours import HOUR, format_hour
from wikitop.ranking import RankedPage
from wikitop.results import CSV_HEADER

# The rows of one domain code of a stored hour, or None when the hour has no result.
LoadPages = Callable[[str], list[RankedPage] | None]
DAY = timedelta(days=1)
DEFAULT_TOP_N = 25


class MoveKind(StrEnum):
    """How a page's rank changed against an earlier hour."""

    UP = "up"
    DOWN = "down"
    SAME = "same"
    NEW = "new"  # not in the earlier hour's top N
    UNKNOWN = "unknown"  # the earlier hour has no result


class View(StrEnum):
    """Which rows an hour page lists: all of them, or only those new since the previous hour."""

    ALL = "all"
    RISING = "rising"


@dataclass(frozen=True)
class Move:
    """A page's move against one earlier hour: up or down by `places`, same, new, or unknown."""

    kind: MoveKind
    places: int = 0

    @property
    def text(self) -> str:
        """The move in words, for screen readers and tooltips."""
        if self.kind in (MoveKind.UP, MoveKind.DOWN):
            return f"{self.kind.value} {self.places} place{'s' if self.places != 1 else ''}"
        return {MoveKind.SAME: "same rank", MoveKind.NEW: "new in the top", MoveKind.UNKNOWN: "no result"}[
            self.kind
        ]


@dataclass(frozen=True)
class Comparison:
    """An earlier hour the rows are compared with, and whether it has a result."""

    what: str
    hour: str
    available: bool


@dataclass(frozen=True)
class TrendRow:
    """One shown row: the stored rank and views, the title as people read it, its link and its moves."""

    rank: int
    domain_code: str
    page_title: str
    title: str
    views: int
    url: str | None
    vs_previous_hour: Move
    vs_day_before: Move
    # Views above the most the page could have had outside the previous hour's top N (rising view).
    gain: int | None


@dataclass(frozen=True)
class HourTrends:
    """One hour of one domain code as the dashboard shows it."""

    hour: str
    domain: str
    view: View
    articles_only: bool
    top_n: int
    rows: list[TrendRow]
    hidden: dict[str, int]
    previous_hour: Comparison
    day_before: Comparison

    @property
    def hidden_count(self) -> int:
        """How many rows the articles-only filter hides."""
        return sum(self.hidden.values())


def period_text(hour: datetime) -> str:
    """The period a Wikimedia hour label covers, in words: label 15 on 1 Jan 2020 is "14:00-15:00 UTC, 1 Jan 2020"."""
    # Wikimedia labels a file with the end of its hour: label 00 covers 23:00-24:00 of the day before.
    start = hour - HOUR
    end = "24:00" if hour.hour == 0 else f"{hour:%H}:00"
    return f"{start:%H}:00-{end} UTC, {start.day} {start:%b %Y}"


def move_between(page: RankedPage, earlier: dict[str, int] | None) -> Move:
    """The page's move against an earlier hour's ranks by title (None: that hour has no result)."""
    if earlier is None:
        return Move(MoveKind.UNKNOWN)
    before = earlier.get(page.page_title)
    if before is None:
        return Move(MoveKind.NEW)
    if before == page.rank:
        return Move(MoveKind.SAME)
    return (
        Move(MoveKind.UP, before - page.rank)
        if before > page.rank
        else Move(MoveKind.DOWN, page.rank - before)
    )


def outside_ceiling(earlier: list[RankedPage] | None, top_n: int) -> int:
    """The most views a page outside an earlier hour's top N can have had there."""
    if not earlier or len(earlier) < top_n:
        # A domain code with fewer than N rows listed every page that had views (0 for the others).
        return 0
    return min(page.views for page in earlier)


def hour_trends(
    hour: datetime,
    domain: str,
    load: LoadPages,
    *,
    articles_only: bool = True,
    view: View = View.ALL,
    top_n: int = DEFAULT_TOP_N,
) -> HourTrends | None:
    """Assemble the hour's rows of `domain` with their moves; None when the hour itself has no result."""
    pages = load(format_hour(hour))
    if pages is None:
        return None
    previous, day_before = (format_hour(hour - HOUR), format_hour(hour - DAY))
    previous_pages, day_before_pages = load(previous), load(day_before)
    shown = [page for page in pages if not articles_only or _hidden_reason(page) is None]
    hidden = Counter(reason for page in pages if articles_only and (reason := _hidden_reason(page)))
    previous_ranks, day_before_ranks = _ranks(previous_pages), _ranks(day_before_pages)
    ceiling = outside_ceiling(previous_pages, top_n)
    rows = [_row(page, previous_ranks, day_before_ranks, ceiling) for page in shown]
    if view is View.RISING:
        rows = rising(rows)
    return HourTrends(
        hour=format_hour(hour),
        domain=domain,
        view=view,
        articles_only=articles_only,
        top_n=top_n,
        rows=rows,
        hidden=dict(hidden.most_common()),
        previous_hour=Comparison("the previous hour", previous, previous_pages is not None),
        day_before=Comparison("the same hour the day before", day_before, day_before_pages is not None),
    )


def rising(rows: list[TrendRow]) -> list[TrendRow]:
    """The rows new in the top N since the previous hour, largest gain first (then by rank)."""
    new = [row for row in rows if row.vs_previous_hour.kind is MoveKind.NEW]
    return sorted(new, key=lambda row: (-(row.gain or 0), row.rank))


def _hidden_reason(page: RankedPage) -> str | None:
    return sites.hidden_reason(page.domain_code, page.page_title)


def _ranks(pages: list[RankedPage] | None) -> dict[str, int] | None:
    return None if pages is None else {page.page_title: page.rank for page in pages}


def _row(
    page: RankedPage, previous: dict[str, int] | None, day_before: dict[str, int] | None, ceiling: int
) -> TrendRow:
    vs_previous = move_between(page, previous)
    return TrendRow(
        rank=page.rank,
        domain_code=page.domain_code,
        page_title=page.page_title,
        title=sites.display_title(page.page_title),
        views=page.views,
        url=sites.article_url(page.domain_code, page.page_title),
        vs_previous_hour=vs_previous,
        vs_day_before=move_between(page, day_before),
        gain=page.views - ceiling if vs_previous.kind is MoveKind.NEW else None,
    )


# The result file's four columns first, so that a reader of result files reads these too.
TRENDS_CSV_HEADER = (*CSV_HEADER, "title", "vs_previous_hour", "vs_day_before", "gain")


def render_trends_csv(trends: HourTrends) -> bytes:
    """Render the shown rows as CSV: domain_code,rank,page_title,views,title,vs_previous_hour,vs_day_before,gain."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRENDS_CSV_HEADER)
    for row in trends.rows:
        writer.writerow(
            (
                row.domain_code,
                row.rank,
                row.page_title,
                row.views,
                row.title,
                row.vs_previous_hour.text,
                row.vs_day_before.text,
                "" if row.gain is None else row.gain,
            )
        )
    return buffer.getvalue().encode("utf-8")
