"""The task queue: one Celery task per hour; embedded SQLite broker by default, Redis for scale-out.

`HourQueue` is the contract that the API and the retries of the task publish through; `CeleryHourQueue`
(wikitop.queue.hour_queue) implements it, and the task lives in wikitop.queue.tasks:

    queue = CeleryHourQueue(settings)    # connects lazily to settings.resolved_broker_url
    queue.submit("2020010115", force=False)   # publish one compute task for that hour
    queue.depth() -> int | None          # messages waiting (None when the broker cannot tell)
    queue.ping()                         # raise if the broker is unreachable
    # submit, depth and ping raise BrokerUnavailableError (a WikitopError) when the broker is down.

The state store is the source of truth; the queue only wakes workers up. A message lost with a
killed worker or a restarted broker is re-published by the reconciler from the state.

This module imports no Celery: the command line and the web app load it only when they publish.
"""

from __future__ import annotations

from typing import Protocol


class HourQueue(Protocol):
    """Publishes one compute task per hour and tells how many wait."""

    def submit(self, hour: str, force: bool = False, countdown_s: float = 0.0) -> None:
        """Publish one compute task for `hour` (YYYYMMDDHH), to run no sooner than `countdown_s` from now."""
        ...

    def depth(self) -> int | None:
        """Return how many messages wait in the queue, None when the broker cannot tell."""
        ...

    def ping(self) -> None:
        """Raise if the broker is unreachable."""
        ...

    def close(self) -> None:
        """Release the broker connections."""
        ...
