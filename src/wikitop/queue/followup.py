"""What follows an attempt: a retry after a failure, re-checks while a dump is missing, giving up."""

from __future__ import annotations

from datetime import datetime, timedelta

from wikitop.hours import parse_hour
from wikitop.settings import Settings
from wikitop.state import StateStore, TaskState, TaskStatus

# Kept well under the Redis visibility timeout: a countdown message waits, unacknowledged, in a worker.
RETRY_MAX_S = 60.0
# Wikimedia publishes an hour about 50 minutes after it ends; one still missing a day later is
# missing for good (such gaps exist), and waiting longer would only hide the failure.
UNAVAILABLE_GIVE_UP = timedelta(hours=24)


def retry_countdown_s(try_count: int, backoff_s: float) -> float:
    """Seconds before the retry that follows attempt number `try_count`: backoff_s, 2x, 4x, ... (max 60)."""
    return min(backoff_s * 2.0 ** max(try_count - 1, 0), RETRY_MAX_S)


def retry_delay_s(state: StateStore, hour: str, settings: Settings) -> float:
    """Seconds before the next attempt at `hour`, after the failed attempt its state counts.

    The one retry rule of the queue's workers and of `wikitop run`; max_tries bounds the attempts.
    """
    task = state.get(hour)
    return retry_countdown_s(task.try_count if task else 1, settings.retry_backoff_s)


def give_up_at(hour: str) -> datetime:
    """The moment after which a dump still not published counts as failed."""
    return parse_hour(hour) + UNAVAILABLE_GIVE_UP


def next_check_at(state: TaskState, first_s: float, max_s: float) -> datetime:
    """When to ask again for the dump of an `unavailable` hour.

    The wait equals the time already spent waiting, between `first_s` and `max_s`: checks come about
    5, 10, 20, 40 minutes after the first ask, then every hour, with no counter to keep.
    """
    assert state.updated_at is not None and state.created_at is not None
    waited_s = (state.updated_at - state.created_at).total_seconds()
    return state.updated_at + timedelta(seconds=min(max(waited_s, first_s), max_s))


def give_up(state: StateStore, hour: str, worker: str, settings: Settings, error: str | None) -> bool:
    """Mark an hour whose dump is still missing a day later `failed`; False if another worker holds it.

    An hour that keeps an earlier good result stays `success` (see StateStore.finish_failure).
    """
    if state.claim(hour, worker, settings.lease_s, settings.max_tries) is None:
        return False
    missing = error or f"the dump of {hour} is not published"
    reason = (
        f"{missing}; still not published {UNAVAILABLE_GIVE_UP.total_seconds() / 3600:.0f} h after the hour"
    )
    return state.finish_failure(hour, worker, TaskStatus.FAILED, reason)
