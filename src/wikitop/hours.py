"""Hours: parse `2020010115` / `2020-01-01T15`, validate ranges, and name an hour's files."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from wikitop.errors import UsageError

HOUR = timedelta(hours=1)
# The first hourly pageview dump Wikimedia published is pageviews-20150501-010000.gz.
FIRST_HOUR = datetime(2015, 5, 1, 1, tzinfo=UTC)
EXPECTED_FORM = "YYYYMMDDHH (e.g. 2020010115) or ISO YYYY-MM-DDTHH[:00[:00]][Z] (e.g. 2020-01-01T15)"

# ASCII digits only: \d would accept other scripts' digits (٢٠٢٠٠١٠١١٥), which int() then reads.
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2})(?::00(?::00)?)?(?:Z|\+00:00)?", re.ASCII)


def parse_hour(text: str) -> datetime:
    """Parse an hour given as YYYYMMDDHH or ISO 8601 into an aware UTC datetime."""
    cleaned = text.strip()
    match = _COMPACT.fullmatch(cleaned) or _ISO.fullmatch(cleaned)
    if match is None:
        raise UsageError(f"invalid hour {text!r}: expected {EXPECTED_FORM}")
    year, month, day, hour = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError as exc:
        raise UsageError(f"invalid hour {text!r}: {exc} (expected {EXPECTED_FORM})") from None


def format_hour(hour: datetime) -> str:
    """Return the compact form YYYYMMDDHH of an hour."""
    return hour.astimezone(UTC).strftime("%Y%m%d%H")


def current_hour(now: datetime | None = None) -> datetime:
    """Return `now` (default: the clock) truncated to the hour, in UTC."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def default_hour(now: datetime | None = None) -> datetime:
    """The hour a bare `wikitop run` computes: 24 hours before now, truncated to the hour."""
    return current_hour(now) - timedelta(hours=24)


def validate_hour(hour: datetime, text: str, now: datetime | None = None) -> datetime:
    """Reject hours that have no dump: before the first one, or in the future."""
    if hour < FIRST_HOUR:
        raise UsageError(f"hour {text!r} is before 2015-05-01T01, the first hour with pageview data")
    if hour > current_hour(now):
        raise UsageError(f"hour {text!r} is in the future (now is {current_hour(now):%Y-%m-%dT%H} UTC)")
    return hour


def hour_range(
    start: str | None, end: str | None, max_hours: int, now: datetime | None = None
) -> list[datetime]:
    """Expand START..END (inclusive, END optional, START default 24 hours ago) into a list of hours."""
    first = validate_hour(parse_hour(start), start, now) if start else default_hour(now)
    last = validate_hour(parse_hour(end), end, now) if end else first
    if last < first:
        raise UsageError(f"end hour {end!r} is before start hour {start!r}")
    count = int((last - first) / HOUR) + 1
    if count > max_hours:
        raise UsageError(
            f"range {start}..{end} has {count} hours, more than WIKITOP_MAX_RANGE_HOURS={max_hours}: "
            "split it into shorter ranges, or raise that setting"
        )
    return [first + i * HOUR for i in range(count)]


def dump_path(hour: datetime) -> str:
    """Relative path of the dump labelled `hour`: YYYY/YYYY-MM/pageviews-YYYYMMDD-HH0000.gz."""
    return hour.strftime("%Y/%Y-%m/pageviews-%Y%m%d-%H0000.gz")


def result_path(hour: datetime) -> str:
    """Relative path of the hour's result: YYYY/YYYY-MM/top-YYYYMMDD-HH.csv."""
    return hour.strftime("%Y/%Y-%m/top-%Y%m%d-%H.csv")
