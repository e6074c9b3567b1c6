"""Recording an attempt through short outages: its lease, its result file, its state, a pending record.

An attempt holds its hour by a lease (`Heartbeat`), writes its result (`store_result`, written again
after a storage error: the ranking is in hand, another download would be waste) and records its end
in the state store (`finish_through_outage`, tried again while the database restarts). When the
database stays down, `keep_pending` leaves next to the result what the next attempt needs to record
it (`read_pending`) instead of downloading the hour again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from wikitop.errors import WikitopError
from wikitop.hours import format_hour
from wikitop.queue.followup import retry_countdown_s
from wikitop.state import Provenance, StateStore, TaskState, TaskStatus
from wikitop.state.outage import STATE_OUTAGES, describe_outage

if TYPE_CHECKING:
    from wikitop.results import ResultStore
    from wikitop.settings import Settings

log = logging.getLogger(__name__)
Value = TypeVar("Value")
# The longest wait between two tries of recording an attempt's end while the state store is down.
FINISH_RETRY_MAX_WAIT_S = 2.0


@dataclass(frozen=True)
class PendingResult:
    """A result written by an attempt whose end the state store could not record."""

    attempt: str
    data_path: str
    provenance: Provenance


def finish_through_outage(lease_s: float, finish: Callable[[], Value]) -> Value:
    """Record an attempt's end, trying again while the state store is down, as long as the lease holds.

    A database restart takes seconds: waiting it out keeps the hour in this worker's hands. Half
    the lease: the heartbeat extended it at most a third of a lease ago.
    """
    retrying = Retrying(
        retry=retry_if_exception_type(STATE_OUTAGES),
        stop=stop_after_delay(lease_s / 2),
        wait=wait_exponential(multiplier=0.2, max=FINISH_RETRY_MAX_WAIT_S),
        before_sleep=_announce_finish_retry,
        reraise=True,
    )
    return retrying(finish)


def _announce_finish_retry(retry_state: RetryCallState) -> None:
    """Log one line per failed try of recording an attempt's end."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    wait_s = retry_state.next_action.sleep if retry_state.next_action else 0.0
    reason = describe_outage(error) if error else "?"
    log.warning("the state store did not record the attempt's end (%s); next try in %.1f s", reason, wait_s)


def store_result(hour: datetime, data: bytes, results: ResultStore, settings: Settings) -> str:
    """Write the hour's result, writing it again after a storage error; return its location."""

    # A full disk or an object store down for a while must not cost another download: the ranking
    # is in hand, so the write alone is retried (the lease kept by the heartbeat), with the backoff
    # of a failed try; the try fails only when its last write does.
    def announce(retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait_s = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning(
            "result of %s not stored (%s): writing it again in %.1f s", format_hour(hour), error, wait_s
        )

    retrying = Retrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, OSError) and not isinstance(exc, WikitopError)),
        stop=stop_after_attempt(settings.max_tries),
        wait=lambda state: retry_countdown_s(state.attempt_number, settings.retry_backoff_s),
        before_sleep=announce,
        reraise=True,
    )
    return retrying(results.write, hour, data)


def attempt_id(state: TaskState) -> str:
    """Name one attempt at an hour: the worker that claimed it and when."""
    started = state.started_at.isoformat() if state.started_at else "?"
    return f"{state.worker}@{started}"


def keep_pending(
    hour: datetime, claimed: TaskState, data_path: str, provenance: Provenance, results: ResultStore
) -> None:
    """Keep, next to a result the state store could not record, what the next attempt needs to record it."""
    record = {
        "attempt": attempt_id(claimed),
        "data_path": data_path,
        "provenance": dataclasses.asdict(provenance),
    }
    try:
        results.write_pending(hour, json.dumps(record).encode())
    except OSError as exc:
        # Then the hour is computed again once the store is back: a cost, never a wrong result.
        log.warning("hour %s: its result's record could not be kept either: %s", claimed.hour, exc)
        return
    log.warning("hour %s: result written; the state store is down, it is recorded later", claimed.hour)


def read_pending(
    hour: datetime, current: TaskState | None, blacklist_sha256: str, top_n: int, results: ResultStore
) -> PendingResult | None:
    """Return the pending result of the attempt that the state still names, if it is still fresh."""
    if current is None or current.status is TaskStatus.SUCCESS or current.started_at is None:
        return None
    try:
        pending = results.read_pending(hour)
    except OSError:
        return None
    try:
        record = json.loads(pending) if pending else {}
        # Only the attempt that the state still names wrote this result: a later one may have replaced it.
        if record.get("attempt") != attempt_id(current):
            return None
        found = PendingResult(record["attempt"], record["data_path"], Provenance(**record["provenance"]))
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("hour %s: its pending record is unreadable; the hour is computed again", current.hour)
        return None
    fresh = found.provenance.blacklist_sha256 == blacklist_sha256 and found.provenance.top_n == top_n
    return found if fresh else None


class Heartbeat:
    """Extends the worker's lease on an hour every third of the lease until the block ends."""

    def __init__(self, state: StateStore, hour: str, worker: str, lease_s: float) -> None:
        self._args = (hour, worker, lease_s)
        self._state = state
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{hour}", daemon=True)

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._args[2] / 3):
            try:
                self._state.heartbeat(*self._args)
            except STATE_OUTAGES as exc:
                log.warning("heartbeat for %s failed: %s", self._args[0], describe_outage(exc))
            except Exception:
                log.warning("heartbeat for %s failed", self._args[0], exc_info=True)
