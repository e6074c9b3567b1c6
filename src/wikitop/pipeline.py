"""process_hour: the one function that the CLI, the API's workers and any scheduler call for an hour."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from wikitop.blacklist import Blacklist
from wikitop.download import ProgressCallback
from wikitop.errors import (
    BlacklistUnavailableError,
    CorruptDumpError,
    DumpDownloadError,
    DumpNotPublishedError,
)
from wikitop.hours import format_hour
from wikitop.logs import log_context
from wikitop.metrics import metrics
from wikitop.ranking import rank_stream
from wikitop.results import render_csv
from wikitop.state import Provenance, StateStore, TaskState, TaskStatus, status_after_failed_try

if TYPE_CHECKING:
    from wikitop.services import Services

log = logging.getLogger(__name__)
_STORE_RETRY_MAX_S = 60.0  # the longest wait between two writes of a result, as between two tries


class Outcome(StrEnum):
    """What one call of process_hour did."""

    COMPUTED = "computed"  # downloaded, ranked and stored now
    CACHED = "cached"  # a fresh result already existed: nothing downloaded
    BUSY = "busy"  # another worker holds the hour right now
    UNAVAILABLE = "unavailable"  # the dump is not published yet
    RETRY = "retry"  # this attempt failed; tries remain
    FAILED = "failed"  # this attempt failed and it was the last try

    @property
    def done(self) -> bool:
        """True when the hour has a result."""
        return self in (Outcome.COMPUTED, Outcome.CACHED)


@dataclass(frozen=True)
class HourResult:
    """The outcome of process_hour for one hour, with the figures a summary shows."""

    hour: str
    outcome: Outcome
    rows: int = 0
    seconds: float = 0.0
    data_path: str | None = None
    error: str | None = None
    dump_bytes: int = 0


def is_fresh(state: TaskState | None, blacklist: Blacklist, top_n: int) -> bool:
    """Tell whether a success state was produced with today's blacklist and N (else it is stale)."""
    return (
        state is not None
        and state.status is TaskStatus.SUCCESS
        and state.provenance is not None
        and state.provenance.blacklist_sha256 == blacklist.sha256
        and state.provenance.top_n == top_n
    )


def process_hour(
    hour: datetime,
    services: Services,
    *,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> HourResult:
    """Make sure the hour has a fresh result: skip it if it has one, else claim, compute and store it."""
    with log_context(hour=format_hour(hour)):
        retries_before = services.fetcher.retry_count
        result = _process(hour, services, force, progress)
        _record(result, services.fetcher.retry_count - retries_before)
        _log_result(result)
        return result


def _log_result(result: HourResult) -> None:
    """Log one line per hour with its outcome: a worker's record of the hour."""
    # INFO even for failures: the CLI prints its own summary and configures no logging, so a
    # WARNING would reach its stderr twice; the state keeps every failure's reason.
    extra = {"rows": result.rows, "seconds": round(result.seconds, 3), "error": result.error}
    if result.outcome is Outcome.COMPUTED:
        message = "hour %s computed: %d rows in %.1f s -> %s"
        log.info(message, result.hour, result.rows, result.seconds, result.data_path, extra=extra)
    else:
        log.info("hour %s %s: %s", result.hour, result.outcome.value, result.error or "-", extra=extra)


def _process(
    hour: datetime, services: Services, force: bool, progress: ProgressCallback | None
) -> HourResult:
    key = format_hour(hour)
    settings = services.settings
    try:
        blacklist = services.blacklists.get()
    except BlacklistUnavailableError as exc:
        return _fail_without_blacklist(key, services, force, f"blacklist unavailable: {exc}")
    current = services.state.get(key)
    if is_fresh(current, blacklist, settings.top_n) and not force:
        try:
            has_result = services.results.exists(hour)
        except OSError as exc:
            # Storage is down: nothing was claimed, the state is untouched; a later run retries.
            return HourResult(key, Outcome.FAILED, error=f"results storage unavailable: {exc}")
        if has_result and current is not None:
            rows = current.provenance.rows if current.provenance else 0
            return HourResult(key, Outcome.CACHED, rows=rows, data_path=current.data_path)
    # Re-take a success row only when we saw it stale (or force): a row that turned success since
    # we read it was just computed by another worker.
    reclaim = force or (current is not None and current.status is TaskStatus.SUCCESS)
    claimed = services.state.claim(
        key, services.worker_id, settings.lease_s, settings.max_tries, reclaim_success=reclaim
    )
    if claimed is None:
        return HourResult(key, Outcome.BUSY, error="another worker holds this hour")
    with _Heartbeat(services.state, key, services.worker_id, settings.lease_s):
        return _attempt(hour, claimed, blacklist, services, progress)


def _fail_without_blacklist(key: str, services: Services, force: bool, error: str) -> HourResult:
    """Record a blacklist that cannot be loaded as the hour's failed try, so its state says why."""
    # Without the blacklist no result can be computed, and leaving the hour `queued` hid the reason
    # in a worker's log: the try goes through the normal failure path (retried, `failed` at the end).
    started = time.monotonic()
    current = services.state.get(key)
    if current is not None and current.status is TaskStatus.SUCCESS and not force:
        # Its result may well still be fresh: keep it rather than fail an hour that has one.
        return HourResult(key, Outcome.FAILED, error=f"{error}; the existing result is kept")
    settings = services.settings
    claimed = services.state.claim(
        key, services.worker_id, settings.lease_s, settings.max_tries, reclaim_success=force
    )
    if claimed is None:
        return HourResult(key, Outcome.BUSY, error="another worker holds this hour")
    return _fail(claimed, services, error, started)


def _record(result: HourResult, retries: int) -> None:
    """Count the attempt in the Prometheus metrics."""
    recorded = metrics()
    recorded.hours.labels(result.outcome.value).inc()
    recorded.http_retries.inc(retries)
    if result.outcome is Outcome.COMPUTED:
        recorded.hour_seconds.observe(result.seconds)
        recorded.dump_bytes.inc(result.dump_bytes)


def _attempt(
    hour: datetime,
    claimed: TaskState,
    blacklist: Blacklist,
    services: Services,
    progress: ProgressCallback | None,
) -> HourResult:
    key, worker, started = claimed.hour, services.worker_id, time.monotonic()
    try:
        top_n, engine = services.settings.top_n, services.settings.engine
        ranking, dump_bytes = services.dumps.read(
            hour, lambda open_dump: rank_stream(open_dump, blacklist, top_n, engine=engine), progress
        )
        data_path = _store(hour, render_csv(ranking.pages), services)
    except DumpNotPublishedError as exc:
        if not services.state.finish_failure(key, worker, TaskStatus.UNAVAILABLE, str(exc)):
            return _lost(key, "its unavailable dump", started)
        return HourResult(key, Outcome.UNAVAILABLE, error=str(exc), seconds=time.monotonic() - started)
    except (DumpDownloadError, CorruptDumpError, OSError) as exc:
        return _fail(claimed, services, str(exc), started)
    except Exception as exc:
        log.exception("unexpected error while processing %s", key)
        return _fail(claimed, services, f"unexpected {type(exc).__name__}: {exc}", started)
    seconds = time.monotonic() - started
    provenance = Provenance(
        blacklist_sha256=blacklist.sha256,
        top_n=services.settings.top_n,
        dump_bytes=dump_bytes,
        lines_read=ranking.lines_read,
        lines_skipped=ranking.lines_skipped,
        rows=len(ranking.pages),
        duration_s=round(seconds, 3),
    )
    if not services.state.finish_success(key, worker, data_path, provenance):
        return _lost(key, "its result", started)
    return HourResult(key, Outcome.COMPUTED, len(ranking.pages), seconds, data_path, None, dump_bytes)


def _store(hour: datetime, data: bytes, services: Services) -> str:
    """Write the hour's result, writing it again after a storage error; return its location."""
    # A full disk or an object store down for a while must not cost another download: the ranking
    # is in hand, so the write alone is retried (the lease kept by the heartbeat), with the backoff
    # of a failed try; the try fails only when its last write does.
    settings = services.settings
    for write in range(1, settings.max_tries + 1):
        try:
            return services.results.write(hour, data)
        except OSError as exc:
            if write == settings.max_tries:
                raise
            wait_s = min(settings.retry_backoff_s * 2.0 ** (write - 1), _STORE_RETRY_MAX_S)
            log.warning(
                "result of %s not stored (%s): writing it again in %.1f s", format_hour(hour), exc, wait_s
            )
            time.sleep(wait_s)
    raise AssertionError("unreachable: max_tries >= 1")


def _fail(claimed: TaskState, services: Services, error: str, started: float) -> HourResult:
    status = status_after_failed_try(claimed)
    message = f"try {claimed.try_count}/{claimed.max_tries}: {error}"
    # On the last try of a recompute the store keeps the hour `success` with its earlier result.
    if not services.state.finish_failure(claimed.hour, services.worker_id, status, message):
        return _lost(claimed.hour, "its failure", started)
    outcome = Outcome.RETRY if status is TaskStatus.QUEUED else Outcome.FAILED
    return HourResult(claimed.hour, outcome, error=message, seconds=time.monotonic() - started)


def _lost(hour: str, what: str, started: float) -> HourResult:
    """Return the outcome of an attempt whose lease lapsed: the hour is another worker's now."""
    # Its lease lapsed (a stalled process, a lost database connection): the reconciler released
    # the hour or another worker claimed it, and that one's outcome is the hour's.
    error = f"this worker lost its lease on the hour before recording {what}; another attempt owns it"
    return HourResult(hour, Outcome.BUSY, error=error, seconds=time.monotonic() - started)


class _Heartbeat:
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
            except Exception:
                log.warning("heartbeat for %s failed", self._args[0], exc_info=True)
