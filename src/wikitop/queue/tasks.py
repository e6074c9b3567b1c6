"""The task `wikitop.compute_hour`: process_hour in a worker process, then what its outcome calls for."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from celery import Celery, current_task
from celery.signals import worker_process_init, worker_process_shutdown

from wikitop.errors import WikitopError
from wikitop.hours import parse_hour
from wikitop.logs import log_context
from wikitop.pipeline import HourResult, Outcome, process_hour
from wikitop.queue import HourQueue, Lane
from wikitop.queue.app import TASK_NAME
from wikitop.queue.followup import give_up, give_up_at, retry_delay_s
from wikitop.queue.hour_queue import BrokerUnavailableError, CeleryHourQueue
from wikitop.services import Services, build_services
from wikitop.settings import Settings

log = logging.getLogger(__name__)


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

    def on_process_shutdown(self, **_: Any) -> None:
        """Close the Services when a worker process ends."""
        self.close()


def register_tasks(app: Celery, settings: Settings) -> WorkerContext:
    """Register `wikitop.compute_hour` on `app`; its Services are built once per worker process."""
    context = WorkerContext(settings, CeleryHourQueue(settings, app))

    def compute_hour(hour: str, force: bool = False) -> str:
        """Give `hour` (YYYYMMDDHH) a fresh result, recomputing it if `force`; return the outcome."""
        with log_context(task_id=str(current_task.request.id or "")):
            return run_hour(context, hour, force)

    app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(compute_hour)
    worker_process_init.connect(context.on_process_init, weak=False, dispatch_uid="wikitop-init")
    worker_process_shutdown.connect(context.on_process_shutdown, weak=False, dispatch_uid="wikitop-stop")
    return context


def run_hour(context: WorkerContext, hour: str, force: bool) -> str:
    """Process one hour and act on the outcome; return the outcome's name."""
    try:
        services = context.services()
        result = process_hour(parse_hour(hour), services, force=force)
    except WikitopError as exc:
        # The hour stays queued: the reconciler publishes it again once the queue is empty.
        log.error("hour %s not processed: %s", hour, exc)
        return "error"
    if result.outcome is Outcome.RETRY:
        _schedule_retry(result.hour, services, context.queue)
    elif result.outcome is Outcome.UNAVAILABLE and datetime.now(UTC) >= give_up_at(result.hour):
        _give_up(result, services)
    # UNAVAILABLE hours are checked again by the reconciler; BUSY and CACHED need nothing more.
    return result.outcome.value


def _give_up(result: HourResult, services: Services) -> None:
    if give_up(services.state, result.hour, services.worker_id, services.settings, result.error):
        log.warning("hour %s failed: its dump is still not published a day after the hour", result.hour)


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
