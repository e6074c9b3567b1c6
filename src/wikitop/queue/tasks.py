"""The task `wikitop.compute_hour`: process_hour in a worker process, then what its outcome calls for."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task, current_task
from celery.signals import worker_process_init, worker_process_shutdown

from wikitop.errors import StateUnavailableError, WikitopError
from wikitop.hours import parse_hour
from wikitop.logs import log_context
from wikitop.pipeline import HourResult, Outcome, process_hour
from wikitop.queue import HourQueue, Lane
from wikitop.queue.app import TASK_NAME
from wikitop.queue.followup import RETRY_MAX_S, give_up, give_up_at, retry_delay_s
from wikitop.queue.hour_queue import BrokerUnavailableError, CeleryHourQueue
from wikitop.services import Services, build_services
from wikitop.settings import Settings
from wikitop.state.outage import STATE_OUTAGES, describe_outage

log = logging.getLogger(__name__)
# Waits before a task that met a state-store outage runs again: 2, 4, 8 ... s, at most a minute
# (kept under the Redis visibility timeout, as RETRY_MAX_S is).
OUTAGE_RETRY_FIRST_S = 2.0
OUTAGE_RETRY_MAX_S = 60.0


class WorkerContext:
    """What one worker process builds once and shares between its tasks: the Services, a publisher."""

    def __init__(self, settings: Settings, queue: HourQueue) -> None:
        self.settings = settings
        self.queue = queue
        self._services: Services | None = None
        self._lock = threading.Lock()

    def services(self) -> Services:
        """Return the process's Services, building them on first use."""
        with self._lock:
            if self._services is None:
                self._services = build_services(self.settings)
            return self._services

    def close(self) -> None:
        """Release the Services' connections."""
        with self._lock:
            if self._services is not None:
                self._services.close()
                self._services = None

    def on_process_init(self, **_: Any) -> None:
        """Build the Services as soon as a worker process starts (its first hour then starts at once)."""
        try:
            self.services()
        except WikitopError as exc:
            log.error("cannot set up this worker process yet: %s", exc)
        except STATE_OUTAGES as exc:
            log.error(
                "cannot set up this worker process yet: the task-state database: %s", describe_outage(exc)
            )

    def on_process_shutdown(self, **_: Any) -> None:
        """Close the Services when a worker process ends."""
        self.close()


def register_tasks(app: Celery, settings: Settings) -> WorkerContext:
    """Register `wikitop.compute_hour` on `app`; its Services are built once per worker process."""
    context = WorkerContext(settings, CeleryHourQueue(settings, app))

    def compute_hour(task: Task, hour: str, force: bool = False) -> str:
        """Give `hour` (YYYYMMDDHH) a fresh result, recomputing it if `force`; return the outcome."""
        with log_context(task_id=str(current_task.request.id or "")):
            try:
                return run_hour(context, hour, force)
            except StateUnavailableError as exc:
                # Retry later, not a failed try: the message comes back after a growing wait and
                # the hour keeps its state meanwhile (a result already written is recorded then).
                countdown_s = outage_countdown_s(task.request.retries)
                log.warning("%s; next try in %.0f s", exc, countdown_s)
                raise task.retry(countdown=countdown_s) from None

    # max_retries=None on the task: no limit to the outage's retries (Celery reads None passed to
    # retry() as "the task's own limit", 3 by default, which ended the retries after ~30 s).
    # shared=False: the task is this app's, with this context; a shared one would be added to every
    # app made later in the process under the same name (tests make several).
    app.task(
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        max_retries=None,
        shared=False,
    )(compute_hour)
    worker_process_init.connect(context.on_process_init, weak=False, dispatch_uid="wikitop-init")
    worker_process_shutdown.connect(context.on_process_shutdown, weak=False, dispatch_uid="wikitop-stop")
    return context


def outage_countdown_s(retries: int) -> float:
    """Seconds before the next try of a task that met a state-store outage `retries` times already."""
    return float(min(OUTAGE_RETRY_FIRST_S * 2.0**retries, OUTAGE_RETRY_MAX_S))


def run_hour(context: WorkerContext, hour: str, force: bool) -> str:
    """Process one hour and act on the outcome; return the outcome's name.

    Raises StateUnavailableError when the state store is down: the caller retries later.
    """
    try:
        services = context.services()
        result = process_hour(parse_hour(hour), services, force=force)
        if result.outcome is Outcome.RETRY:
            _schedule_retry(result.hour, services, context.queue)
        elif result.outcome is Outcome.WAITING:
            _wait_for_budget(result, force, context.queue)
        elif result.outcome is Outcome.UNAVAILABLE and datetime.now(UTC) >= give_up_at(result.hour):
            _give_up(result, services)
    except StateUnavailableError:
        raise
    except STATE_OUTAGES as exc:
        raise StateUnavailableError(
            f"the task-state database is unavailable ({describe_outage(exc)}): hour {hour} keeps its "
            f"state and is retried later"
        ) from exc
    except WikitopError as exc:
        # The hour stays queued: the reconciler publishes it again once the queue is empty.
        log.error("hour %s not processed: %s", hour, exc)
        return "error"
    # UNAVAILABLE hours are checked again by the reconciler; BUSY and CACHED need nothing more.
    return result.outcome.value


def _give_up(result: HourResult, services: Services) -> None:
    if give_up(services.state, result.hour, services.worker_id, services.settings, result.error):
        log.warning("hour %s failed: its dump is still not published a day after the hour", result.hour)


def _wait_for_budget(result: HourResult, force: bool, queue: HourQueue) -> None:
    """Publish the hour again for when the download budget frees a slot; it stays queued meanwhile."""
    # Capped like a retry: a countdown message waits unacknowledged in a worker (Redis visibility
    # timeout), and each wake-up touches the hour, so the reconciler never sees it stale.
    countdown_s = min(result.wait_s, RETRY_MAX_S)
    log.info("hour %s %s: next try in %.0f s", result.hour, result.error, countdown_s)
    try:
        queue.submit(result.hour, force=force, countdown_s=countdown_s)
    except BrokerUnavailableError as exc:
        log.warning(
            "hour %s waiting for the download budget, not published (the reconciler will): %s",
            result.hour,
            exc,
        )


def _schedule_retry(hour: str, services: Services, queue: HourQueue) -> None:
    try:
        queue.submit(
            hour, countdown_s=retry_delay_s(services.state, hour, services.settings), lane=_current_lane()
        )
    except BrokerUnavailableError as exc:
        log.warning("retry of hour %s not published (the reconciler will): %s", hour, exc)


def _current_lane() -> Lane:
    """The lane of the message being run: a retry waits in the lane of its first try, not behind a backfill."""
    info = (current_task.request.delivery_info or {}) if current_task else {}
    return Lane.BACKFILL if info.get("routing_key") == Lane.BACKFILL.value else Lane.INTERACTIVE
