"""build_services: the one place where concrete backends are chosen from the settings and wired."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from wikitop.blacklist_cache import BlacklistCache
from wikitop.download import DownloadSlots, HttpFetcher
from wikitop.dumps import DumpSource
from wikitop.results import ResultStore
from wikitop.settings import Settings
from wikitop.state import StateStore, open_state_store


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


def build_services(settings: Settings) -> Services:
    """Wire the backends named by the settings (SQLite/PostgreSQL state, local/S3 results, HTTP/local dumps)."""
    data_dir = Path(settings.data_dir)
    slots = DownloadSlots(data_dir / "locks", settings.download_concurrency)
    fetcher = HttpFetcher(
        settings.user_agent, settings.http_timeout_s, settings.http_retries, settings.http_backoff_s, slots
    )
    keep_dir = data_dir / "dumps" if settings.keep_dumps else None
    return Services(
        settings=settings,
        state=open_state_store(settings.resolved_state_url),
        results=ResultStore(settings.resolved_results_url, s3_endpoint_url=settings.s3_endpoint_url),
        dumps=DumpSource(settings.dumps_url, fetcher, data_dir / "tmp", keep_dir),
        blacklists=BlacklistCache(
            settings.blacklist_url, data_dir / "cache" / "blacklist", fetcher, settings.blacklist_max_age_s
        ),
        fetcher=fetcher,
    )
