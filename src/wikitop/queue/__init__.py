"""The task queue: one Celery task per hour; embedded SQLite broker by default, Redis for scale-out.

Contract used by the web API (HourQueue in wikitop.queue.hour_queue; the task in wikitop.queue.tasks):

    queue = HourQueue(settings)          # connects lazily to settings.resolved_broker_url
    queue.submit("2020010115", force=False)   # publish one compute task for that hour
    queue.depth() -> int | None          # messages waiting (None when the broker cannot tell)
    queue.ping()                         # raise if the broker is unreachable
    # submit, depth and ping raise BrokerUnavailableError (a WikitopError) when the broker is down.

The state store is the source of truth; the queue only wakes workers up. A message lost with a
killed worker or a restarted broker is re-published by the reconciler from the state.
"""

from wikitop.queue.hour_queue import BrokerUnavailableError, HourQueue

__all__ = ["BrokerUnavailableError", "HourQueue"]
