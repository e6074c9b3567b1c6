"""trends: moves against earlier hours, the gain of the rising view, the filter, on hand-made rankings."""

from __future__ import annotations

from datetime import UTC, datetime

from wikitop.ranking import RankedPage
from wikitop.trends import Move, MoveKind, View, hour_trends, outside_ceiling

HOUR = datetime(2020, 1, 1, 15, tzinfo=UTC)


def _pages(*rows: tuple[str, int]) -> list[RankedPage]:
    return [RankedPage("en", rank, title, views) for rank, (title, views) in enumerate(rows, 1)]


def test_the_ceiling_is_the_last_listed_views_or_zero_when_fewer_than_n_were_listed() -> None:
    assert outside_ceiling(_pages(("A", 30), ("B", 20), ("C", 10)), top_n=3) == 10
    assert outside_ceiling(_pages(("A", 30), ("B", 20)), top_n=3) == 0
    assert outside_ceiling(None, top_n=3) == 0


def test_rising_ranks_by_the_least_gain_which_can_be_negative() -> None:
    # The hour before listed 3 pages down to 500 views; this hour's new pages had at most 500 then.
    stored = {
        "2020010114": _pages(("A", 900), ("B", 700), ("C", 500)),
        "2020010115": _pages(("A", 800), ("N1", 600), ("N2", 450)),
    }
    trends = hour_trends(HOUR, "en", stored.get, view=View.RISING, top_n=3, articles_only=False)
    assert trends is not None
    assert [(row.page_title, row.gain) for row in trends.rows] == [("N1", 100), ("N2", -50)]
    assert trends.previous_hour.available and not trends.day_before.available
    assert [row.vs_day_before for row in trends.rows] == [Move(MoveKind.UNKNOWN)] * 2


def test_moves_by_title_against_each_earlier_hour() -> None:
    stored = {
        "2020010114": _pages(("B", 9), ("A", 8)),
        "2019123115": _pages(("A", 9), ("C", 8), ("B", 7)),
        "2020010115": _pages(("A", 10), ("B", 5), ("C", 1)),
    }
    trends = hour_trends(HOUR, "en", stored.get, top_n=3, articles_only=False)
    assert trends is not None
    assert [(row.vs_previous_hour.text, row.vs_day_before.text) for row in trends.rows] == [
        ("up 1 place", "same rank"),
        ("down 1 place", "up 1 place"),
        ("new in the top", "down 1 place"),
    ]
    assert hour_trends(datetime(2020, 1, 2, tzinfo=UTC), "en", stored.get) is None
