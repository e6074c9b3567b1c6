"""process_hour: the one function that the CLI, the API's workers and any scheduler call for an hour."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, TypeVar

from wikitop.blacklist import Blacklist
from wikitop.download import ProgressCallback
from wikitop.dumps import is_remote
from wikitop.errors import (
    BlacklistUnavailableError,
    CorruptDumpError,
    DumpNotPublishedError,
    StateUnavailableError,
    WikitopError,
)
from wikitop.hours import format_hour
from wikitop.logs import log_context
from wikitop.metrics import counting, metrics
from wikitop.queue.followup import retry_delay_s
from wikitop.ranking import Engine, Ranking, rank_stream
from wikitop.recording import (
    Heartbeat,
    finish_through_outage,
    keep_pending,
    read_pending,
    store_result,
)
from wikitop.results import render_rows
from wikitop.state import Provenance, TaskState, TaskStatus, status_after_failed_try
from wikitop.state.outage import STATE_OUTAGES, describe_outage

if TYPE_CHECKING:
    from wikitop.services import Services

log = logging.getLogger(__name__)
Value = TypeVar("Value")
# The longest wait between two tries of recording an attempt's end while the state store is down.
FINISH_RETRY_MAX_WAIT_S = 2.0


class Outcome(StrEnum):
    """What one call of process_hour did."""

    COMPUTED = "computed"  # downloaded, ranked and stored now
    CACHED = "cached"  # a fresh result already existed: nothing downloaded
    BUSY = "busy"  # another worker holds the hour right now
    UNAVAILABLE = "unavailable"  # the dump is not published yet
    RETRY = "retry"  # this attempt failed; tries remain
    FAILED = "failed"  # this attempt failed and it was the last try
    WAITING = "waiting"  # the deployment's download budget is spent: nothing done, try after wait_s

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
    lines_skipped: int = 0  # malformed lines of the dump (input rule 2)
    # The failure's cause will not go away in seconds (WikitopError.lasting): settle_hour does not
    # wait for it, so a person at the command line is told at once; a worker still retries.
    lasting: bool = False
    wait_s: float = 0.0

    @property
    def has_result(self) -> bool:
        """True when the hour has a result after this attempt: computed, cached, or the last good one kept."""
        return self.outcome.done or self.data_path is not None

    @property
    def reported(self) -> tuple[str, str]:
        """The status and the result path or error that a run's summary and progress lines show."""
        if self.outcome.done:
            return self.outcome.value, self.data_path or ""
        status, detail = self.outcome.value, self.error or ""
        if self.outcome is Outcome.RETRY:
            # Only a lasting cause ends settle_hour with a try left: the hour waits, queued, for a
            # worker or the next run; waiting here for a cause that will not pass by itself is pointless.
            status, detail = "queued", f"{detail}; not retried by this run: mend the cause, then run it again"
        elif self.data_path is not None:
            # A recompute failed for good: the store keeps the hour `success`, as `status` shows.
            status, detail = "success", f"the recompute failed ({detail})"
        if self.data_path is not None:
            detail = f"{detail}; the last good result stays: {self.data_path}"
        return status, detail


def is_fresh(state: TaskState | None, blacklist: Blacklist, top_n: int) -> bool:
    """Tell whether a success state was produced with today's blacklist and N (else it is stale)."""
    return (
        state is not None
        and state.status is TaskStatus.SUCCESS
        and state.provenance is not None
        and state.provenance.blacklist_sha256 == blacklist.sha256
        and state.provenance.top_n == top_n
    )


def cached_result(state: TaskState) -> HourResult:
    """The outcome of an hour found with a fresh result: its figures as recorded when it was computed."""
    made = state.provenance
    rows, skipped = (made.rows, made.lines_skipped) if made else (0, 0)
    return HourResult(state.hour, Outcome.CACHED, rows, data_path=state.data_path, lines_skipped=skipped)


# How often settle_hour looks again at an hour that another process holds: soon, then less often.
BUSY_POLL_FIRST_S = 0.5
BUSY_POLL_MAX_S = 10.0


def settle_hour(
    hour: datetime,
    services: Services,
    *,
    force: bool = False,
    progress: ProgressCallback | None = None,
    on_retry: Callable[[HourResult, float], None] | None = None,
    stop: threading.Event | None = None,
) -> HourResult:
    """Process an hour until it is done or failed for good, waiting between tries as the queue would.

    The one loop of `wikitop run` and of the Spark job: the queue's retry rule after a failed try,
    the download budget's waits, and waiting for another process that holds the hour; a lasting
    cause (an unreachable server, a missing mirror directory) is not waited for: the hour is
    reported, to be run again once the cause is fixed. `on_retry(result, delay_s)` hears of each
    wait before it starts (of a busy hour's first only). Once `stop` is set (a stop signal), a wait
    ends at once and no other try starts: the last try's outcome is returned.
    """
    result = process_hour(hour, services, force=force, progress=progress)
    busy_waits = 0
    while result.outcome in (Outcome.RETRY, Outcome.WAITING, Outcome.BUSY) and not result.lasting:
        if result.outcome is Outcome.BUSY:
            # Another process computes the hour (a second `wikitop run` over the same range, a
            # worker): wait for its outcome rather than report the hour missing. It ends cached,
            # or free to claim (that one failed, or died and its lease lapsed). Its computation is
            # as new as a forced one of ours: never compute the hour once more after it.
            delay_s = min(BUSY_POLL_MAX_S, BUSY_POLL_FIRST_S * 2**busy_waits)
            busy_waits += 1
            announce, force = busy_waits == 1, False  # said once per hour, not at every look
        elif result.outcome is Outcome.WAITING:
            delay_s, announce = result.wait_s, True
        else:
            delay_s, announce = retry_delay_s(services.state, result.hour, services.settings), True
        if on_retry is not None and announce:
            on_retry(result, delay_s)
        if pause(delay_s, stop):
            break
        result = process_hour(hour, services, force=force, progress=progress)
    return result


def pause(delay_s: float, stop: threading.Event | None) -> bool:
    """Wait `delay_s` between two tries, or until `stop` is set; tell whether it was."""
    if stop is None:
        time.sleep(delay_s)
        return False
    return stop.wait(delay_s)


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
        try:
            result = _process(hour, services, force, progress)
        except STATE_OUTAGES as exc:
            # Nothing was recorded: the hour keeps its state and the caller tries again later.
            raise StateUnavailableError(
                f"the task-state database is unavailable ({describe_outage(exc)}): hour "
                f"{format_hour(hour)} keeps its state and is retried later"
            ) from exc
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
    recovered = _record_pending(hour, current, blacklist, services)
    if recovered is not None:
        return recovered
    if is_fresh(current, blacklist, settings.top_n) and not force:
        try:
            has_result = services.results.looks_whole(hour)  # else damaged or gone: computed again
        except OSError as exc:
            # Storage is down: nothing was claimed, the state is untouched; a later run retries.
            return HourResult(key, Outcome.FAILED, error=f"results storage unavailable: {exc}")
        if has_result and current is not None:
            return cached_result(current)
    # Re-take a success row only when we saw it stale (or force): a row that turned success since
    # we read it was just computed by another worker.
    reclaim = force or (current is not None and current.status is TaskStatus.SUCCESS)
    counted = _counts_against_budget(services)
    if counted:
        budget = settings.download_budget_per_hour
        note = f"waiting for the download budget ({budget} per hour, WIKITOP_DOWNLOAD_BUDGET_PER_HOUR)"
        wait_s = services.state.reserve_download(key, budget, note)
        if wait_s > 0:
            return HourResult(key, Outcome.WAITING, error=note, wait_s=wait_s)
    claimed = services.state.claim(
        key, services.worker_id, settings.lease_s, settings.max_tries, reclaim_success=reclaim
    )
    if claimed is None:
        if counted:
            services.state.release_download(key)
        return HourResult(key, Outcome.BUSY, error="another worker holds this hour")
    with Heartbeat(services.state, key, services.worker_id, settings.lease_s):
        return _attempt(hour, claimed, blacklist, services, progress)


def _counts_against_budget(services: Services) -> bool:
    """Tell whether computing an hour downloads from upstream under a budget (not a local mirror)."""
    # The budget is counted before the claim, so that an hour over budget is left queued as it was.
    return services.settings.download_budget_per_hour > 0 and is_remote(services.settings.dumps_url)


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
    if not counting():
        return
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
            hour, lambda open_dump: _rank_hour(open_dump, blacklist, top_n, engine), progress
        )
        data_path = store_result(hour, render_rows(ranking.rows()), services.results, services.settings)
    except DumpNotPublishedError as exc:
        error, unavailable = str(exc), TaskStatus.UNAVAILABLE
        if not finish_through_outage(
            services.settings.lease_s, lambda: services.state.finish_failure(key, worker, unavailable, error)
        ):
            return _lost(key, "its unavailable dump", started)
        seconds = time.monotonic() - started
        return HourResult(key, Outcome.UNAVAILABLE, error=error, seconds=seconds, data_path=_kept(claimed))
    except (WikitopError, OSError) as exc:
        # A failed download, a damaged dump, a storage error, a setting only an attempt meets (a
        # data lake's backend not installed): the try fails with its reason; lasting ones at once.
        lasting = isinstance(exc, WikitopError) and exc.lasting
        return _fail(claimed, services, str(exc), started, lasting)
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
        rows=ranking.row_count,
        duration_s=round(seconds, 3),
    )
    try:
        recorded = finish_through_outage(
            services.settings.lease_s,
            lambda: services.state.finish_success(key, worker, data_path, provenance),
        )
    except STATE_OUTAGES:
        keep_pending(hour, claimed, data_path, provenance, services.results)
        raise
    if not recorded:
        return _lost(key, "its result", started)
    return HourResult(
        key, Outcome.COMPUTED, ranking.row_count, seconds, data_path, None, dump_bytes, ranking.lines_skipped
    )


def _rank_hour(
    open_dump: Callable[[], BinaryIO], blacklist: Blacklist, top_n: int, engine: Engine
) -> Ranking:
    """Rank the hour's dump; one without a single valid line is not an hour of page views (never a result)."""
    # Every real hour has millions of lines: an empty one is a broken mirror or a partial copy, which
    # a header-only CSV recorded as `success` would hide for good.
    ranking = rank_stream(open_dump, blacklist, top_n, engine=engine)
    if ranking.lines_read == 0:
        raise CorruptDumpError("it holds no line at all: not an hour of page views")
    if ranking.lines_skipped == ranking.lines_read:
        # An error page saved as the dump, a file of another kind: every line malformed.
        raise CorruptDumpError(
            f"none of its {ranking.lines_read:,} lines is a page's views: not an hour of page views"
        )
    return ranking


def _record_pending(
    hour: datetime, current: TaskState | None, blacklist: Blacklist, services: Services
) -> HourResult | None:
    """Record the result that an earlier attempt wrote but could not record; None when there is none."""
    settings = services.settings
    pending = read_pending(hour, current, blacklist.sha256, settings.top_n, services.results)
    if pending is None or current is None:
        return None
    key, worker = current.hour, services.worker_id
    held = current.status is TaskStatus.RUNNING and current.worker == worker
    if not held and services.state.claim(key, worker, settings.lease_s, settings.max_tries) is None:
        return HourResult(key, Outcome.BUSY, error="another worker holds this hour")
    finish = services.state.finish_success
    if not finish_through_outage(
        settings.lease_s, lambda: finish(key, worker, pending.data_path, pending.provenance)
    ):
        return _lost(key, "its result", time.monotonic())
    services.results.delete_pending(hour)
    log.info("hour %s: recorded the result its attempt %s wrote", key, pending.attempt)
    made = pending.provenance
    return HourResult(key, Outcome.COMPUTED, made.rows, 0.0, pending.data_path, None, 0, made.lines_skipped)


def _fail(
    claimed: TaskState, services: Services, error: str, started: float, lasting: bool = False
) -> HourResult:
    status = status_after_failed_try(claimed)
    message = f"try {claimed.try_count}/{claimed.max_tries}: {error}"
    # On the last try of a recompute the store keeps the hour `success` with its earlier result.
    finish = services.state.finish_failure
    if not finish_through_outage(
        services.settings.lease_s, lambda: finish(claimed.hour, services.worker_id, status, message)
    ):
        return _lost(claimed.hour, "its failure", started)
    outcome = Outcome.RETRY if status is TaskStatus.QUEUED else Outcome.FAILED
    seconds = time.monotonic() - started
    kept = _kept(claimed)
    return HourResult(claimed.hour, outcome, error=message, seconds=seconds, data_path=kept, lasting=lasting)


def _kept(claimed: TaskState) -> str | None:
    """The last good result's path that a failed recompute leaves readable (the store keeps it), if any."""
    return claimed.data_path if claimed.has_result else None


def _lost(hour: str, what: str, started: float) -> HourResult:
    """Return the outcome of an attempt whose lease lapsed: the hour is another worker's now."""
    # Its lease lapsed (a stalled process, a lost database connection): the reconciler released
    # the hour or another worker claimed it, and that one's outcome is the hour's.
    error = f"this worker lost its lease on the hour before recording {what}; another attempt owns it"
    return HourResult(hour, Outcome.BUSY, error=error, seconds=time.monotonic() - started)
