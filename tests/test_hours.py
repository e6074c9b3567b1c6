"""Hour parsing, ranges and file names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wikitop.errors import UsageError
from wikitop.hours import default_hour, dump_path, format_hour, hour_range, parse_hour, result_path

NOW = datetime(2024, 3, 10, 12, 34, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2020010115",
        "2020-01-01T15",
        "2020-01-01T15:00",
        "2020-01-01T15:00:00",
        "2020-01-01T15Z",
        "2020-01-01T15:00Z",
    ],
)
def test_parse_hour_accepts_compact_and_iso_forms(text: str) -> None:
    assert parse_hour(text) == datetime(2020, 1, 1, 15, tzinfo=UTC)


def test_hour_zero_is_a_real_hour() -> None:
    assert parse_hour("2020010100") == datetime(2020, 1, 1, 0, tzinfo=UTC)
    assert format_hour(parse_hour("2020010100")) == "2020010100"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("202001011", "invalid hour '202001011'"),
        ("2020-01-01 15:30", "invalid hour"),
        ("yesterday", "invalid hour 'yesterday'"),
        ("2020013115x", "invalid hour"),
        ("2020023015", "day is out of range"),
        ("2019022915", "day is out of range"),
        ("2020130115", "month must be in 1..12"),
        ("2020010124", "hour must be in 0..23"),
        # Digits of other scripts are digits to `\d` and int(), not to an hour.
        ("\u0662\u0660\u0662\u0660\u0660\u0661\u0660\u0661\u0661\u0665", "invalid hour"),
        ("\uff12\uff10\uff12\uff10-01-01T15", "invalid hour"),
    ],
)
def test_parse_hour_rejects_bad_values_naming_them_and_the_form(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_hour(text)
    assert problem in str(caught.value)
    assert "YYYYMMDDHH" in str(caught.value)


def test_leap_day_is_valid() -> None:
    assert parse_hour("2020022923") == datetime(2020, 2, 29, 23, tzinfo=UTC)


def test_range_crosses_day_month_and_year_inclusively() -> None:
    hours = hour_range("2019123122", "2020010101", max_hours=744, now=NOW)
    assert [format_hour(hour) for hour in hours] == ["2019123122", "2019123123", "2020010100", "2020010101"]


def test_start_alone_is_one_hour_and_no_start_is_24_hours_ago() -> None:
    assert hour_range("2020010115", None, 744, now=NOW) == [datetime(2020, 1, 1, 15, tzinfo=UTC)]
    assert hour_range(None, None, 744, now=NOW) == [datetime(2024, 3, 9, 12, tzinfo=UTC)]
    assert default_hour(NOW) == datetime(2024, 3, 9, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2020010119", "2020010115", "end hour '2020010115' is before start hour '2020010119'"),
        ("2015050100", None, "before 2015-05-01T01"),
        ("2024031013", None, "in the future"),
        ("2020010100", "2020020100", "745 hours, more than WIKITOP_MAX_RANGE_HOURS=744"),
    ],
)
def test_range_errors(start: str, end: str | None, problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        hour_range(start, end, max_hours=744, now=NOW)


def test_first_hour_and_current_hour_are_accepted() -> None:
    assert hour_range("2015050101", None, 744, now=NOW)[0] == datetime(2015, 5, 1, 1, tzinfo=UTC)
    assert hour_range("2024031012", None, 744, now=NOW)[0] == datetime(2024, 3, 10, 12, tzinfo=UTC)


def test_file_names_follow_wikimedia_and_wikitop_layouts() -> None:
    hour = datetime(2020, 1, 1, 5, tzinfo=UTC)
    assert dump_path(hour) == "2020/2020-01/pageviews-20200101-050000.gz"
    assert result_path(hour) == "2020/2020-01/top-20200101-05.csv"
