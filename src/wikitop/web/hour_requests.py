"""What the HTTP API does, without Flask: ask for hours, read their task states, their results and readiness."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from wikitop.blacklist_cache import BlacklistCache
from wikitop.errors import UsageError, WikitopError
from wikitop.heartbeats import STALE_AFTER_S, freshest_age_s
from wikitop.hours import EXPECTED_FORM, format_hour, hour_range, parse_hour, validate_hour
from wikitop.queue import HourQueue, lane_for
from wikitop.queue.follow import follow_window, newest_due_hour
from wikitop.ranking import RankedPage
from wikitop.results import ResultStore, read_domain_codes, read_domain_csv
from wikitop.services import ask_hours
from wikitop.settings import Settings, mask_url_password
from wikitop.state import StateStore, TaskState, TaskStatus
from wikitop.top_pages import ResultNotReadyError, parse_result, read_result
from wikitop.web.readiness import failure_reason, probe_dependency
from wikitop.web.result_cache import RankedHour, ResultCache

log = logging.getLogger(__name__)
Parsed = TypeVar("Parsed")

# Parsed hours kept per API process for /top: pollers ask for the same few recent hours, and
# parsing a result file (~42,000 rows) cost 72 ms of CPU a request, 0.6 ms once cached
# (bench/bench_api.py --endpoint top: 13 -> 1,360 requests/s). A parsed hour holds ~11 MB.
TOP_CACHE_HOURS = 4
# One domain code's rows of an hour, for dashboard pages (25 rows each: a few KB). A page reads three
# hours of one code; reading just that code's lines of three files took 0.08x the time of parsing one
# whole file for /top (bench/bench_dashboard.py: 40 ms against 522 ms, medians).
DOMAIN_CACHE_ENTRIES = 512
# Result files checked at once when an ask covers computed hours (each check: a stat or a HEAD, two
# small reads): a month's ask on S3 takes seconds, not a minute.
RESULT_CHECKS_AT_ONCE = 16


class TaskNotFoundError(WikitopError):
    """The hour was never asked for: it has no task state."""


@dataclass(frozen=True)
class Asked:
    """The answer to asking for a range: every hour's state, and which hours went to the queue."""

    states: list[TaskState]
    submitted: list[str]
    queue_error: str | None = None

    @property
    def message(self) -> str:
        """One sentence a person can read: how many hours, how many were submitted."""
        others = len(self.states) - len(self.submitted)
        if self.queue_error:
            # Recorded `queued`, not published: the reconciler publishes them once the broker is back.
            return (
                f"{len(self.states)} hour(s) asked: {len(self.submitted)} to compute, recorded as queued; "
                f"the queue could not be reached ({self.queue_error}): they are sent to it when it is "
                f"back; {others} already queued, running or done"
            )
        return (
            f"{len(self.states)} hour(s) asked: {len(self.submitted)} submitted to the queue, "
            f"{others} already queued, running or done"
        )


@dataclass(frozen=True)
class Freshness:
    """How fresh the results are: the newest hour with one, how far it lags, the counts, the follow mode."""

    now: datetime
    newest_result: str | None
    expected_hour: str
    counts: dict[TaskStatus, int]
    follow: bool
    follow_since: str
    follow_first_hour: str | None

    @property
    def lag_s(self) -> float | None:
        """Seconds from the newest result's hour label to now; None without any result."""
        if self.newest_result is None:
            return None
        return (self.now - parse_hour(self.newest_result)).total_seconds()

    @property
    def hours_behind(self) -> int | None:
        """Due hours newer than the newest result (0 when up to date); None without any result."""
        if self.newest_result is None:
            return None
        behind = (parse_hour(self.expected_hour) - parse_hour(self.newest_result)).total_seconds()
        return max(int(behind // 3600), 0)


@dataclass(frozen=True)
class TaskSlice:
    """The task states of one slice of the list, and how many states match the filters in all."""

    states: list[TaskState]
    total: int


@dataclass
class HourRequests:
    """The API's use of the state store, the result store and the queue; built once per process."""

    settings: Settings
    state: StateStore
    results: ResultStore
    queue: HourQueue
    blacklists: BlacklistCache | None = None
    _top_cache: ResultCache[RankedHour] = field(
        default_factory=lambda: ResultCache(TOP_CACHE_HOURS), init=False, repr=False
    )
    _domain_cache: ResultCache[list[RankedPage]] = field(
        default_factory=lambda: ResultCache(DOMAIN_CACHE_ENTRIES), init=False, repr=False
    )
    _codes_cache: ResultCache[list[str]] = field(
        default_factory=lambda: ResultCache(TOP_CACHE_HOURS), init=False, repr=False
    )
    _private: list[tuple[str, str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self._private = private_locations(self.settings)

    def public(self, state: TaskState) -> TaskState:
        """The state as anyone who can read the API sees it: its error names no server path or URL."""
        if not state.error:
            return state
        error = state.error
        for location, name in self._private:
            error = error.replace(location, name)
        return dataclasses.replace(state, error=error)

    def ask(self, start: str, end: str | None, force: bool = False) -> Asked:
        """Validate START..END whole, record the hours as tasks and submit those that need work."""
        if not start.strip():
            raise UsageError(f"the start hour is empty: expected {EXPECTED_FORM}")
        hours = hour_range(start, end or None, self.settings.max_range_hours)
        recheck_s = (self.settings.unavailable_recheck_s, self.settings.unavailable_recheck_max_s)
        asked = ask_hours(self.state, hours, self.settings.max_tries, force, recheck_s=recheck_s)
        to_dispatch = asked.to_dispatch
        again = self._to_compute_again([hour for hour in asked.hours if hour not in set(to_dispatch)])
        if again:
            # Made with another blacklist or N, or its file deleted or damaged since: asked for, it is
            # computed again, as `wikitop run` does (queued, keeping its last good result meanwhile).
            # Only when asked: a changed blacklist must not set off a download of every hour ever computed.
            to_dispatch = to_dispatch + self.state.enqueue(again, self.settings.max_tries, force=True)
        queue_error = self._submit(to_dispatch, force)
        states = self.state.get_many(asked.hours)
        shown = [self.public(states[hour]) for hour in asked.hours if hour in states]
        return Asked(shown, to_dispatch, queue_error)

    def _to_compute_again(self, hours: list[str]) -> list[str]:
        """The successful hours among `hours` whose result is stale, or whose file is gone or damaged."""
        from wikitop.pipeline import is_fresh

        blacklist = None
        if self.blacklists is not None:
            # Unavailable: the workers say so in the hours' states; N alone can still tell.
            with suppress(WikitopError, OSError):
                blacklist = self.blacklists.get()
        stale: list[str] = []
        fresh: list[str] = []
        for hour, state in self.state.get_many(hours).items():
            if state.status is not TaskStatus.SUCCESS or state.provenance is None:
                continue
            if blacklist is not None:
                is_current = is_fresh(state, blacklist, self.settings.top_n)
            else:
                is_current = state.provenance.top_n == self.settings.top_n
            (fresh if is_current else stale).append(hour)
        return stale + self._without_whole_file(fresh)

    def _without_whole_file(self, hours: list[str]) -> list[str]:
        """The hours whose result file is missing or damaged (storage down: none, the next ask looks again)."""

        def lost(hour: str) -> bool:
            try:
                return not self.results.looks_whole(parse_hour(hour))
            except OSError:
                return False

        if len(hours) < 2:  # the usual ask, for the hour just published: no threads for one check
            return [hour for hour in hours if lost(hour)]
        # Three small requests an hour on an object store: checked side by side, not one after another.
        with ThreadPoolExecutor(max_workers=min(RESULT_CHECKS_AT_ONCE, len(hours))) as pool:
            return [hour for hour, gone in zip(hours, pool.map(lost, hours), strict=True) if gone]

    def _submit(self, hours: list[str], force: bool) -> str | None:
        """Publish the hours; on a broker failure keep going: the state says queued and gets re-published."""
        lane = lane_for(len(hours), self.settings.small_ask_hours)  # a large ask must not starve small ones
        for index, hour in enumerate(hours):
            try:
                self.queue.submit(hour, force=force, lane=lane)
            except Exception as exc:
                log.warning("could not submit %d hour(s) from %s: %s", len(hours) - index, hour, exc)
                # The client learns why in words that name no broker host, user or password.
                return failure_reason(exc)
        return None

    def get(self, hour_text: str) -> TaskState:
        """Return the state of one hour given in either accepted form; TaskNotFoundError if never asked."""
        hour = parse_hour(hour_text)
        key = format_hour(hour)
        state = self.state.get(key)
        if state is None:
            validate_hour(hour, hour_text)  # an hour with no dump at all is a 400, not "ask for it"
            raise TaskNotFoundError(f"hour {key} was never asked for: ask for it with POST /api/v1/reports")
        return self.public(state)

    def find(self, hour_text: str) -> TaskState | None:
        """Return the state of one hour, or None if it was never asked for."""
        state = self.state.get(format_hour(parse_hour(hour_text)))
        return None if state is None else self.public(state)

    def list_tasks(
        self, status: TaskStatus | None, start: str | None, end: str | None, limit: int, offset: int
    ) -> TaskSlice:
        """Return one slice of states ordered by hour, filtered by status and inclusive hour bounds."""
        first = format_hour(parse_hour(start)) if start else None
        last = format_hour(parse_hour(end)) if end else None
        states = [self.public(state) for state in self.state.find(status, first, last, limit, offset)]
        return TaskSlice(states, self.state.count(status, first, last))

    def read_csv(self, hour_text: str) -> tuple[TaskState, bytes]:
        """Return the hour's state and its stored result file; ResultNotReadyError when it has none."""
        state = self.get(hour_text)
        with _asking_again_with_force():
            return state, read_result(state, self.results)

    def _parse(self, state: TaskState, data: bytes, parse: Callable[[bytes], Parsed]) -> Parsed:
        """Parse a result file read by read_csv; a damaged one is a ResultNotReadyError, as a missing one."""
        with _asking_again_with_force():
            return parse_result(state, data, parse)

    def top(
        self, hour_text: str, domain: str | None, limit: int | None
    ) -> tuple[TaskState, list[RankedPage]]:
        """Return the hour's ranked pages, of one domain code or all, at most `limit` per domain code."""
        state, ranked = self.ranked_hour(hour_text)
        pages = ranked.pages if domain is None else ranked.by_domain.get(domain, [])
        # Ranks run 1..N within each domain code, so a rank bound is a per-domain limit.
        return state, [page for page in pages if limit is None or page.rank <= limit]

    def ranked_hour(self, hour_text: str) -> tuple[TaskState, RankedHour]:
        """Return the hour's state and parsed result, from the cache of parsed hours when it is there."""
        state = self.get(hour_text)
        ranked = self._top_cache.get(state)
        if ranked is None:
            state, data = self.read_csv(hour_text)
            ranked = self._parse(state, data, RankedHour.parse)
            self._top_cache.put(state, ranked)
        return state, ranked

    def domain_rows(self, hour_text: str, domain: str) -> tuple[TaskState, list[RankedPage]]:
        """Return the hour's state and one domain code's ranked pages, without parsing the whole hour."""
        state = self.get(hour_text)
        ranked = self._top_cache.get(state)
        if ranked is not None:
            return state, ranked.by_domain.get(domain, [])
        rows = self._domain_cache.get(state, domain)
        if rows is None:
            state, data = self.read_csv(hour_text)
            rows = self._parse(state, data, lambda whole: read_domain_csv(whole, domain))
            self._domain_cache.put(state, rows, domain)
        return state, rows

    def domain_codes(self, hour_text: str) -> tuple[TaskState, list[str]]:
        """Return the hour's state and the domain codes that have rows in its result, sorted."""
        state = self.get(hour_text)
        ranked = self._top_cache.get(state)
        if ranked is not None:
            return state, sorted(ranked.by_domain)
        codes = self._codes_cache.get(state)
        if codes is None:
            state, data = self.read_csv(hour_text)
            codes = self._parse(state, data, read_domain_codes)
            self._codes_cache.put(state, codes)
        return state, codes

    def domain_pages(self, hour_text: str, domain: str) -> list[RankedPage] | None:
        """Return one domain code's ranked pages of the hour, or None when the hour has no result."""
        try:
            return self.domain_rows(hour_text, domain)[1]
        except (TaskNotFoundError, ResultNotReadyError):
            return None

    def freshness(self, now: datetime | None = None) -> Freshness:
        """Read the newest result, the counts by status and the follow window at `now` (default: the clock)."""
        now = now or datetime.now(UTC)
        settings = self.settings
        window = follow_window(settings.follow_since, now, settings.follow_delay_s)
        return Freshness(
            now=now,
            newest_result=self.state.newest_result(),
            expected_hour=format_hour(newest_due_hour(now, settings.follow_delay_s)),
            counts=self.state.count_by_status(),
            follow=settings.follow,
            follow_since=settings.follow_since,
            follow_first_hour=format_hour(window[0]) if window and settings.follow else None,
        )

    def readiness(self) -> dict[str, str]:
        """Check the dependencies; map each to "ok" (maybe with a note) or which one failed and why."""
        probes: dict[str, Callable[[], None]] = {
            "state": self.state.ping,
            "queue": self.queue.ping,
            "results": self.results.probe,
        }
        checks = {name: probe_dependency(name, probe) for name, probe in probes.items()}
        if self.blacklists is not None:
            # Workers compute nothing without it, so a service that cannot load it is not ready;
            # a cached copy standing in for a failed refresh is ready, with a note saying so.
            try:
                checks["blacklist"] = self.blacklists.readiness()
            except (WikitopError, OSError) as exc:
                checks["blacklist"] = f"blacklist unavailable: {mask_url_password(str(exc))}"
        checks["workers"] = self._workers_check()
        return checks

    def _workers_check(self) -> str:
        """Say whether a worker sharing the data dir beat its heartbeat lately (wikitop.heartbeats)."""
        age_s = freshest_age_s(self.settings.data_dir)
        if age_s is not None and age_s < STALE_AFTER_S:
            return "ok"
        if not self.settings.ready_needs_worker:
            # `wikitop api`: its workers may run on other machines, whose heartbeats it cannot see.
            return "ok: not checked: no worker shares this data dir (workers elsewhere are not seen)"
        if age_s is None:
            return "no worker is running"
        return f"no worker is running: the last heartbeat is {age_s:.0f} s old"


def private_locations(settings: Settings) -> list[tuple[str, str]]:
    """The server's own locations that an error may name, longest first, each with its setting's name."""
    # The mirror, the results store and the data directory name the server's disks, buckets and
    # hosts: an error shown by the API says `$WIKITOP_DUMPS_URL/2020/2020-01/pageviews-...gz` instead.
    named = {
        "$WIKITOP_RESULTS_URL": settings.resolved_results_url,
        "$WIKITOP_DUMPS_URL": settings.dumps_url,
        "$WIKITOP_DATA_DIR": str(settings.data_dir),
    }
    pairs = set()
    for name, location in named.items():
        for form in (location, location.removeprefix("file://")):
            form = form.rstrip("/")
            if len(form) > 2:  # not "." or "..": such a location would replace parts of every word
                pairs.add((form, name))
    return sorted(pairs, key=lambda pair: len(pair[0]), reverse=True)


@contextmanager
def _asking_again_with_force() -> Iterator[None]:
    """Tell the client of a result whose file is missing or damaged how to bring it back."""
    try:
        yield
    except ResultNotReadyError as exc:
        if not exc.file_missing:
            raise
        # With force: a plain ask computes again a file gone or cut short, not one with a row damaged inside.
        raise ResultNotReadyError(f"{exc}: ask again with force", exc.state) from None


def is_ok(check: str) -> bool:
    """Tell whether a readiness check passed: "ok", or "ok: <note>"."""
    return check == "ok" or check.startswith("ok: ")
