"""What the HTTP API does, without Flask: ask for hours, read their task states, their results and readiness."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wikitop.blacklist_cache import BlacklistCache
from wikitop.errors import UsageError, WikitopError
from wikitop.hours import EXPECTED_FORM, format_hour, hour_range, parse_hour
from wikitop.queue import HourQueue, lane_for
from wikitop.ranking import RankedPage
from wikitop.results import ResultStore, read_csv
from wikitop.services import ask_hours
from wikitop.settings import Settings
from wikitop.state import StateStore, TaskState, TaskStatus

log = logging.getLogger(__name__)


class TaskNotFoundError(WikitopError):
    """The hour was never asked for: it has no task state."""


class ResultNotReadyError(WikitopError):
    """The hour has a task but no stored result (not computed yet, failed, or the file is gone)."""


@dataclass(frozen=True)
class Asked:
    """The answer to asking for a range: every hour's state, and which hours went to the queue."""

    states: list[TaskState]
    submitted: list[str]
    queue_error: str | None = None

    @property
    def message(self) -> str:
        """One sentence a person can read: how many hours, how many were submitted."""
        text = (
            f"{len(self.states)} hour(s) asked: {len(self.submitted)} submitted to the queue, "
            f"{len(self.states) - len(self.submitted)} already queued, running or done"
        )
        if self.queue_error:
            text += f"; the queue could not be reached ({self.queue_error}), the hours stay queued"
        return text


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

    def ask(self, start: str, end: str | None, force: bool = False) -> Asked:
        """Validate START..END whole, record the hours as tasks and submit those that need work."""
        if not start.strip():
            raise UsageError(f"the start hour is empty: expected {EXPECTED_FORM}")
        hours = hour_range(start, end or None, self.settings.max_range_hours)
        asked = ask_hours(self.state, hours, self.settings.max_tries, force)
        queue_error = self._submit(asked.to_dispatch, force)
        states = self.state.get_many(asked.hours)
        return Asked([states[hour] for hour in asked.hours if hour in states], asked.to_dispatch, queue_error)

    def _submit(self, hours: list[str], force: bool) -> str | None:
        """Publish the hours; on a broker failure keep going: the state says queued and gets re-published."""
        lane = lane_for(len(hours), self.settings.small_ask_hours)  # a large ask must not starve small ones
        for index, hour in enumerate(hours):
            try:
                self.queue.submit(hour, force=force, lane=lane)
            except Exception as exc:
                log.warning("could not submit %d hour(s) from %s: %s", len(hours) - index, hour, exc)
                return f"{type(exc).__name__}: {exc}"
        return None

    def get(self, hour_text: str) -> TaskState:
        """Return the state of one hour given in either accepted form; TaskNotFoundError if never asked."""
        key = format_hour(parse_hour(hour_text))
        state = self.state.get(key)
        if state is None:
            raise TaskNotFoundError(f"hour {key} was never asked for: ask for it with POST /api/v1/reports")
        return state

    def find(self, hour_text: str) -> TaskState | None:
        """Return the state of one hour, or None if it was never asked for."""
        return self.state.get(format_hour(parse_hour(hour_text)))

    def list_tasks(
        self, status: TaskStatus | None, start: str | None, end: str | None, limit: int, offset: int
    ) -> TaskSlice:
        """Return one slice of states ordered by hour, filtered by status and inclusive hour bounds."""
        first = format_hour(parse_hour(start)) if start else None
        last = format_hour(parse_hour(end)) if end else None
        states = self.state.find(status, first, last, limit, offset)
        return TaskSlice(states, self.state.count(status, first, last))

    def read_csv(self, hour_text: str) -> tuple[TaskState, bytes]:
        """Return the hour's state and its stored result file; ResultNotReadyError when it has none."""
        state = self.get(hour_text)
        if state.status is not TaskStatus.SUCCESS:
            raise ResultNotReadyError(
                f"hour {state.hour} has no result: its status is {state.status.value}"
                + (f" ({state.error})" if state.error else "")
            )
        try:
            return state, self.results.read(parse_hour(state.hour))
        except FileNotFoundError:
            raise ResultNotReadyError(
                f"hour {state.hour} is marked success but its result file is missing: ask again with force"
            ) from None

    def top(
        self, hour_text: str, domain: str | None, limit: int | None
    ) -> tuple[TaskState, list[RankedPage]]:
        """Return the hour's ranked pages, of one domain code or all, at most `limit` per domain code."""
        state, data = self.read_csv(hour_text)
        top = [page for page in read_csv(data) if domain is None or page.domain_code == domain]
        # Ranks run 1..N within each domain code, so a rank bound is a per-domain limit.
        return state, [page for page in top if limit is None or page.rank <= limit]

    def readiness(self) -> dict[str, str]:
        """Check the state store, the queue and the blacklist; map each to "ok" (maybe with a note) or why not."""
        checks: dict[str, str] = {}
        for name, ping in (("state", self.state.ping), ("queue", self.queue.ping)):
            try:
                ping()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"{type(exc).__name__}: {exc}"
        if self.blacklists is not None:
            # Workers compute nothing without it, so a service that cannot load it is not ready;
            # a cached copy standing in for a failed refresh is ready, with a note saying so.
            try:
                checks["blacklist"] = self.blacklists.readiness()
            except (WikitopError, OSError) as exc:
                checks["blacklist"] = f"blacklist unavailable: {exc}"
        return checks


def is_ok(check: str) -> bool:
    """Tell whether a readiness check passed: "ok", or "ok: <note>"."""
    return check == "ok" or check.startswith("ok: ")
