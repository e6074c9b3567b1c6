"""Follow mode: the hours a following worker keeps, from WIKITOP_FOLLOW_SINCE to the newest due hour.

Wikimedia publishes the file labelled hour H (the views of H-1..H) about 45-60 minutes after H,
sometimes hours later. An hour is *due* once WIKITOP_FOLLOW_DELAY_S have passed since its label:
the reconciler then creates its state and publishes it; if the file is not there yet the hour
turns `unavailable` and the reconciler's usual re-checks pick it up when it appears.

This module imports no Celery: the API reads the window for /api/v1/status.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from wikitop.errors import UsageError
from wikitop.hours import FIRST_HOUR, HOUR, current_hour, format_hour, parse_hour
from wikitop.state import StateStore

# At most this many new hours are created per reconciler pass, newest first: a week at a time, so
# that a WIKITOP_FOLLOW_SINCE years back fills the queue a pass after another rather than at once.
FOLLOW_HOURS_PER_PASS = 168
# The window is read from the state store in slices this long, newest first.
_SCAN_HOURS = 500
_DURATION = re.compile(r"\s*([0-9]+)\s*([hd])\s*", re.ASCII | re.IGNORECASE)
SINCE_FORMS = "an hour (2026110100 or 2026-11-01T00) or a duration in hours or days (24h, 7d)"


def parse_since(text: str) -> datetime | timedelta:
    """Parse WIKITOP_FOLLOW_SINCE: an hour, or a duration of at least one hour; ValueError otherwise."""
    match = _DURATION.fullmatch(text)
    if match:
        count, unit = int(match.group(1)), match.group(2).lower()
        duration = timedelta(hours=count) if unit == "h" else timedelta(days=count)
        if duration < HOUR:
            raise ValueError(f"expected {SINCE_FORMS}, at least 1h")
        return duration
    try:
        return parse_hour(text)
    except UsageError:
        raise ValueError(f"expected {SINCE_FORMS}") from None


def newest_due_hour(now: datetime, delay_s: float) -> datetime:
    """The newest hour whose file is due at `now`: its label is at least `delay_s` old."""
    return current_hour(now - timedelta(seconds=delay_s))


def follow_window(since: str, now: datetime, delay_s: float) -> tuple[datetime, datetime] | None:
    """The first and last hour (inclusive) to keep at `now`; None while no hour of it is due.

    A duration D keeps the newest D of due hours (`24h`: the newest due hour and the 23 before it);
    an hour keeps every hour from it on. Nothing before Wikimedia's first file is kept.
    """
    last = newest_due_hour(now, delay_s)
    parsed = parse_since(since)
    first = parsed if isinstance(parsed, datetime) else last - parsed + HOUR
    first = max(first, FIRST_HOUR)
    return None if first > last else (first, last)


def hours_without_state(
    state: StateStore, first: datetime, last: datetime, limit: int = FOLLOW_HOURS_PER_PASS
) -> list[str]:
    """The hours of first..last that the store has no state for, newest first, at most `limit`.

    One count answers when nothing is missing (the usual pass); otherwise the window is read
    newest first until `limit` missing hours are found or none is left to find.
    """
    total = int((last - first) / HOUR) + 1
    missing = total - state.count(start=format_hour(first), end=format_hour(last))
    wanted = min(missing, limit)
    found: list[str] = []
    end = last
    while len(found) < wanted and end >= first:
        start = max(first, end - (_SCAN_HOURS - 1) * HOUR)
        hours = [format_hour(end - i * HOUR) for i in range(int((end - start) / HOUR) + 1)]
        known = state.get_many(hours)
        found += [hour for hour in hours if hour not in known][: wanted - len(found)]
        end = start - HOUR
    return found
