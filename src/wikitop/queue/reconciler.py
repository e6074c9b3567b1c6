"""The reconciler: publishes again the hours whose message was lost, and the hours due for a re-check.

The state store is the source of truth and the queue only wakes workers up, so every pass compares
the two and publishes what the state says needs work:

- a `running` hour past its lease lost its worker (killed, or its machine died): it is released as
  `queued` (or `failed` when that was its last try) and published again;
- a `queued` hour untouched for `stale_queued_s` while the queue is empty lost its message (a
  broker restarted without persistence, or a worker died holding messages that the embedded SQL
  transport never redelivers): it is published again;
- an `unavailable` hour is re-armed and published when its next check is due, and marked `failed`
  once its dump is still missing a day after the hour;
- with WIKITOP_FOLLOW on, every due hour of the follow window that has no state yet is created and
  published, newest first (wikitop.queue.follow): the newest in the interactive lane, the catch-up
  in the backfill lane. Every pass looks at the whole window, so the hours missed while no worker
  ran are found again; the store's idempotent enqueue lets only the reconciler that created an
  hour publish it, however many follow at once.

Publishing twice is harmless: `claim` is atomic and process_hour skips fresh results.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from wikitop.hours import format_hour
from wikitop.queue import Lane
from wikitop.queue.follow import follow_window, hours_without_state
from wikitop.queue.followup import give_up, give_up_at, next_check_at
from wikitop.queue.hour_queue import BrokerUnavailableError, CeleryHourQueue
from wikitop.settings import Settings
from wikitop.state import StateStore, TaskState, TaskStatus
from wikitop.state.outage import STATE_OUTAGES, describe_outage

log = logging.getLogger(__name__)
_PAGE_ROWS = 500


class Reconciler:
    """Runs a reconciling pass every `reconcile_interval_s` in a thread of the worker's main process."""

    def __init__(self, settings: Settings, state: StateStore, queue: CeleryHourQueue, name: str) -> None:
        self._settings = settings
        self._state = state
        self._queue = queue
        self.name = name
        self._published: dict[str, float] = {}  # hour -> monotonic time of this reconciler's last publish
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wikitop-reconciler", daemon=True)

    def start(self) -> None:
        """Start passing in the background, the first pass at once."""
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the current pass (waiting up to `timeout_s`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self.run_once()
                if counts:
                    log.info("reconciler: %s", ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
            except STATE_OUTAGES as exc:
                # Expected while the database restarts: one line, and the next pass tries again.
                log.warning("reconciler pass skipped: the task-state database: %s", describe_outage(exc))
            except Exception:
                log.exception("reconciler pass failed")
            finally:
                # Hold no database connection between passes: worker processes are forked from this one.
                self._state.close()
            self._stop.wait(self._settings.reconcile_interval_s)

    def run_once(self, now: datetime | None = None) -> Counter[str]:
        """Do one pass; return how many hours it published or failed, by reason."""
        now = now or datetime.now(UTC)
        counts: Counter[str] = Counter()
        try:
            depth = self._queue.depth()
            for state in self._state.stale(self._settings.stale_queued_s, now):
                if state.status is TaskStatus.RUNNING:
                    self._release_abandoned(state, now, counts)
                elif depth == 0 and self._not_published_lately(state.hour):
                    self._publish(state.hour)
                    counts["lost messages published again"] += 1
            self._recheck_unavailable(now, counts)
            if self._settings.follow:
                self._follow(now, counts)
            self._queue.prune_delivered()
        except BrokerUnavailableError as exc:
            log.warning("reconciler: %s", exc)
        sweep_stale_files(Path(self._settings.data_dir) / "tmp", self._settings.task_time_limit_s)
        return counts

    def _release_abandoned(self, state: TaskState, now: datetime, counts: Counter[str]) -> None:
        # The lease is checked again as the row is released: a worker that renewed it since
        # stale() read the row keeps its hour, and of several reconcilers only one releases it.
        released = self._state.release_expired(state.hour, now)
        if released is None:
            return
        log.info("reconciler %s released hour %s: %s", self.name, released.hour, released.error)
        if released.status is not TaskStatus.QUEUED:
            counts["abandoned hours failed"] += 1
            return
        self._publish(state.hour)
        counts["abandoned hours published again"] += 1

    def _recheck_unavailable(self, now: datetime, counts: Counter[str]) -> None:
        settings = self._settings
        for state in self._unavailable_hours():
            if now >= give_up_at(state.hour):
                if give_up(self._state, state.hour, self.name, settings, state.error):
                    counts["missing dumps failed"] += 1
            elif now >= next_check_at(
                state, settings.unavailable_recheck_s, settings.unavailable_recheck_max_s
            ):
                self._recheck(state.hour, counts)

    def _recheck(self, hour: str, counts: Counter[str]) -> None:
        # enqueue re-arms the hour atomically: of several reconcilers, one gets it back.
        if self._state.enqueue([hour], self._settings.max_tries):
            self._publish(hour)
            counts["missing dumps checked again"] += 1

    def _follow(self, now: datetime, counts: Counter[str]) -> None:
        settings = self._settings
        window = follow_window(settings.follow_since, now, settings.follow_delay_s)
        if window is None:
            return
        first, last = window
        hours = hours_without_state(self._state, first, last)
        if not hours:
            return

        def recheck_at(state: TaskState) -> datetime:
            return next_check_at(state, settings.unavailable_recheck_s, settings.unavailable_recheck_max_s)

        # Another reconciler may have created some of them since hours_without_state read the
        # store: enqueue returns only those this call created, and only those are published here.
        created = set(self._state.enqueue(hours, settings.max_tries, recheck_at=recheck_at))
        newest = format_hour(last)
        for hour in hours:  # newest first: people look at the latest hour first
            if hour in created:
                # The newest hour is what a person waits for; the catch-up must not hold it back.
                self._publish(hour, Lane.INTERACTIVE if hour == newest else Lane.BACKFILL)
                counts["new hours followed"] += 1

    def _unavailable_hours(self) -> list[TaskState]:
        states: list[TaskState] = []
        while page := self._state.find(TaskStatus.UNAVAILABLE, limit=_PAGE_ROWS, offset=len(states)):
            states += page
            if len(page) < _PAGE_ROWS:
                break
        return states

    def _not_published_lately(self, hour: str) -> bool:
        now = time.monotonic()
        horizon = now - self._settings.stale_queued_s
        self._published = {h: at for h, at in self._published.items() if at > horizon}
        return hour not in self._published

    def _publish(self, hour: str, lane: Lane = Lane.BACKFILL) -> None:
        # Re-publications can come by the hundred (a day of re-armed hours): they wait in the
        # backfill lane so that they never hold a small ask behind them.
        self._queue.submit(hour, lane=lane)
        self._published[hour] = time.monotonic()


def sweep_stale_files(directory: Path, older_than_s: float) -> int:
    """Delete the files in `directory` unchanged for `older_than_s`: downloads of killed workers."""
    # No live task keeps a download longer than the task time limit, after which it is killed.
    cutoff = time.time() - older_than_s
    removed = 0
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return 0
    for path in entries:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
