"""build_services: the one place where concrete backends are chosen from the settings and wired.

Also what every entry point does with them: warm them up before serving, and ask for hours.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from pathlib import Path

from wikitop.blacklist_cache import BlacklistCache
from wikitop.download import DownloadSlots, HttpFetcher
from wikitop.dumps import DumpSource
from wikitop.errors import BackendMissingError, ConfigError
from wikitop.hours import format_hour
from wikitop.queue import HourQueue
from wikitop.queue.followup import next_check_at
from wikitop.results import ResultStore
from wikitop.settings import Settings, mask_url_password
from wikitop.state import StateStore, open_state_store

log = logging.getLogger(__name__)
REDIS_INSTALL_HINT = 'pip install "wikitop[redis]"'
# Waits between start-up checks of a task-state database that is down: 1, 2, 4 ... s, at most 30 s.
STATE_WAIT_FIRST_S = 1.0
STATE_WAIT_MAX_S = 30.0


@dataclass
class Services:
    """Everything process_hour needs, built once per process."""

    settings: Settings
    state: StateStore
    results: ResultStore
    dumps: DumpSource
    blacklists: BlacklistCache
    fetcher: HttpFetcher
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def close(self) -> None:
        """Release connections and pools."""
        self.fetcher.close()
        self.state.close()


@dataclass(frozen=True)
class AskedHours:
    """Hours recorded as tasks: all of them (YYYYMMDDHH, in order) and those to hand to a worker."""

    hours: list[str]
    to_dispatch: list[str]


def build_services(settings: Settings) -> Services:
    """Wire the backends named by the settings (SQLite/PostgreSQL state, local/S3 results, HTTP/local dumps)."""
    data_dir = Path(settings.data_dir)
    try:
        slots = DownloadSlots(data_dir / "locks", settings.download_concurrency)
    except OSError as exc:  # the first directory made under it: a file in the way, a read-only disk
        raise ConfigError(
            f"WIKITOP_DATA_DIR: cannot make {exc.filename}: {exc.strerror}; "
            "set it to a directory this user can write"
        ) from None
    fetcher = HttpFetcher(
        settings.user_agent, settings.http_timeout_s, settings.http_retries, settings.http_backoff_s, slots
    )
    keep_dir = data_dir / "dumps" if settings.keep_dumps else None
    return Services(
        settings=settings,
        state=open_state_store(settings.resolved_state_url),
        results=ResultStore(settings.resolved_results_url, s3_endpoint_url=settings.s3_endpoint_url),
        dumps=DumpSource(
            settings.dumps_url, fetcher, data_dir / "tmp", keep_dir, s3_endpoint_url=settings.s3_endpoint_url
        ),
        blacklists=BlacklistCache(
            settings.blacklist_url, data_dir / "cache", fetcher, settings.blacklist_max_age_s
        ),
        fetcher=fetcher,
    )


def open_queue(settings: Settings) -> HourQueue:
    """The queue of the settings' broker (Celery is imported only here, when a queue is opened)."""
    from wikitop.queue.hour_queue import CeleryHourQueue

    return CeleryHourQueue(settings)


def warm_up(settings: Settings, *, require_broker: bool = False) -> None:
    """Open the backends once and close them, before serving: the state schema is upgraded and the
    embedded queue created by this one process, and a bad setting fails here with its message.

    A remote broker (Redis) is checked only with `require_broker`: the API reports it in /readyz and
    a worker waits for it, so either may start before it; `wikitop serve` starts nothing without it.
    """
    from wikitop.queue.app import embedded_queue_path, is_redis

    if is_redis(settings.resolved_broker_url):
        try:
            import redis  # noqa: F401  # the client Celery and the API's rate limiter use
        except ImportError:
            # Else each of them fails with a traceback of its own, in every process.
            raise BackendMissingError(
                f"WIKITOP_BROKER_URL names Redis, whose client is not installed: {REDIS_INSTALL_HINT}"
            ) from None
    build_services(settings).close()

    if require_broker or embedded_queue_path(settings.resolved_broker_url) is not None:
        queue = open_queue(settings)
        try:
            queue.ping()
        finally:
            queue.close()


def warm_up_waiting(
    settings: Settings, *, require_broker: bool = False, sleep: Callable[[float], None] = time.sleep
) -> None:
    """warm_up, waiting for a task-state database that is down, with one log line per failed check.

    `wikitop api` and `wikitop worker` may start before their database (a deploy, a reboot, a
    failover), as they may before Redis: they wait for it rather than exit, as an orchestrator
    expects, saying each time what they wait for. Any other error still ends the start-up.
    """
    from wikitop.state.outage import STATE_OUTAGES, describe_outage

    wait_s = STATE_WAIT_FIRST_S
    for check in count(1):
        try:
            warm_up(settings, require_broker=require_broker)
            return
        except STATE_OUTAGES as exc:
            log.warning(
                "waiting for the task-state database (WIKITOP_STATE_URL=%s): check %d failed: %s; "
                "next check in %.0f s",
                mask_url_password(settings.resolved_state_url),
                check,
                describe_outage(exc),
                wait_s,
            )
        sleep(wait_s)
        wait_s = min(wait_s * 2, STATE_WAIT_MAX_S)


def ask_hours(
    state: StateStore,
    hours: list[datetime],
    max_tries: int,
    force: bool,
    *,
    recheck_s: tuple[float, float] | None = None,
) -> AskedHours:
    """Record the hours as tasks and pick those to dispatch: new and re-armed ones (done ones too if `force`).

    Hours queued or running are not dispatched again, forced or not: asking twice downloads once.
    With `recheck_s` (first and longest wait, as WIKITOP_UNAVAILABLE_RECHECK_S and _MAX_S), an hour
    whose dump was not published is re-armed only once its next check is due, as the reconciler
    would: asking again never shortens the backoff.
    """
    keys = [format_hour(hour) for hour in hours]
    recheck_at = None
    if recheck_s is not None:
        first_s, max_s = recheck_s
        recheck_at = lambda task: next_check_at(task, first_s, max_s)  # noqa: E731
    return AskedHours(keys, state.enqueue(keys, max_tries, force=force, recheck_at=recheck_at))
