"""The task queue: one Celery task per hour; embedded SQLite broker by default, Redis for scale-out.

`HourQueue` is the contract that the API and the retries of the task publish through; `CeleryHourQueue`
(wikitop.queue.hour_queue) implements it, and the task lives in wikitop.queue.tasks:

    queue = CeleryHourQueue(settings)    # connects lazily to settings.resolved_broker_url
    queue.submit("2020010115", force=False, lane=Lane.INTERACTIVE)   # publish one compute task
    queue.depth() -> int | None          # messages waiting in both lanes (None when the broker cannot tell)
    queue.ping()                         # raise if the broker is unreachable
    # submit, depth and ping raise BrokerUnavailableError (a WikitopError) when the broker is down.

The state store is the source of truth; the queue only wakes workers up. A message lost with a
killed worker or a restarted broker is re-published by the reconciler from the state.

Two lanes (two Celery queues) keep one large ask from starving everyone: small asks go to the
interactive lane, large asks and the reconciler's re-publications to the backfill lane, and every
worker consumes both in turn (kombu's round-robin), so a small ask waits for about one hour per
worker process, not for the whole backfill. `lane_for` is the one rule that picks the lane.

This module imports no Celery: the command line and the web app load it only when they publish.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Lane(StrEnum):
    """A Celery queue of compute tasks; the value is the queue's name (its list's name in Redis)."""

    # The interactive lane keeps the name of the single queue of earlier versions, so messages
    # published before an upgrade are still consumed.
    INTERACTIVE = "wikitop"
    BACKFILL = "wikitop.backfill"


def lane_for(hours_in_ask: int, small_ask_hours: int) -> Lane:
    """Return the lane of an ask that publishes `hours_in_ask` hours: interactive up to `small_ask_hours`."""
    return Lane.INTERACTIVE if hours_in_ask <= small_ask_hours else Lane.BACKFILL


class HourQueue(Protocol):
    """Publishes one compute task per hour and tells how many wait."""

    def submit(
        self, hour: str, force: bool = False, countdown_s: float = 0.0, lane: Lane = Lane.INTERACTIVE
    ) -> None:
        """Publish one compute task for `hour` (YYYYMMDDHH) to `lane`, to run no sooner than `countdown_s`."""
        ...

    def depth(self) -> int | None:
        """Return how many messages wait in both lanes, None when the broker cannot tell."""
        ...

    def ping(self) -> None:
        """Raise if the broker is unreachable."""
        ...

    def close(self) -> None:
        """Release the broker connections."""
        ...
