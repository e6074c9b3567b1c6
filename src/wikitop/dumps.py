"""One hourly dump: where it lives (Wikimedia, a mirror URL or a local directory) and getting it on disk."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from wikitop.download import HttpFetcher, ProgressCallback
from wikitop.errors import DumpNotPublishedError
from wikitop.hours import dump_path


@dataclass(frozen=True)
class LocalDump:
    """A dump file on local disk, complete, with its size."""

    path: Path
    size_bytes: int


def is_remote(url: str) -> bool:
    """Tell whether a location is an http(s) URL rather than a local path."""
    return url.startswith(("http://", "https://"))


def local_path(url: str) -> Path:
    """Turn a local location (a path or a file:// URL) into a Path."""
    return Path(url.removeprefix("file://"))


class DumpSource:
    """Finds or downloads the dump of an hour; downloads go to a private work dir and are removed after."""

    def __init__(self, base_url: str, fetcher: HttpFetcher, work_dir: Path, keep_dir: Path | None) -> None:
        self.base_url = base_url.rstrip("/")
        self._fetcher = fetcher
        self._work_dir = work_dir
        self._keep_dir = keep_dir

    def url_for(self, hour: datetime) -> str:
        """The URL or path of the dump labelled `hour`."""
        return f"{self.base_url}/{dump_path(hour)}"

    @contextmanager
    def fetch(self, hour: datetime, progress: ProgressCallback | None = None) -> Iterator[LocalDump]:
        """Yield the hour's dump on local disk; raise DumpNotPublishedError when it does not exist."""
        if not is_remote(self.base_url):
            path = local_path(self.url_for(hour))
            if not path.is_file():
                raise DumpNotPublishedError(f"{path} does not exist")
            yield LocalDump(path, path.stat().st_size)
            return
        kept = self._keep_dir / dump_path(hour) if self._keep_dir else None
        if kept is not None and kept.is_file():
            yield LocalDump(kept, kept.stat().st_size)
            return
        self._work_dir.mkdir(parents=True, exist_ok=True)
        dest = self._work_dir / f"{uuid.uuid4().hex}-{Path(dump_path(hour)).name}"
        try:
            size = self._fetcher.fetch_to_file(self.url_for(hour), dest, progress)
            yield LocalDump(dest, size)
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                dest.replace(kept)
        finally:
            dest.unlink(missing_ok=True)
