"""Get the blacklist from its URL or file, cached under the data dir and refreshed once a day."""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from wikitop.blacklist import Blacklist
from wikitop.download import HttpFetcher
from wikitop.dumps import is_remote, local_path
from wikitop.errors import BlacklistFileError, BlacklistUnavailableError, WikitopError

log = logging.getLogger(__name__)


class BlacklistCache:
    """Hands out the current Blacklist; fetches at most once per `max_age_s`, never silently empty.

    A downloaded copy is kept per URL (`cache_dir/fetched/blacklist-<sha256 of the URL>`): pointing
    WIKITOP_BLACKLIST_URL elsewhere fetches the new list at once, and a failed refresh never stands
    in with another URL's list. A local file is read again as soon as it changes (its size, mtime or
    inode), in a long-running service too: editing it needs no restart and no day's wait.
    """

    def __init__(self, url: str, cache_dir: Path, fetcher: HttpFetcher, max_age_s: float) -> None:
        self._url = url
        url_sha256 = hashlib.sha256(url.encode()).hexdigest()
        self._cache_file = cache_dir / "fetched" / f"blacklist-{url_sha256[:32]}"
        self._parsed = ParsedCache(cache_dir)
        self._fetcher = fetcher
        self._max_age_s = max_age_s
        self._lock = threading.Lock()
        # When it was loaded, the list, and the local file's stamp it was read from (None: not a file).
        self._loaded: tuple[float, Blacklist, tuple[int, ...] | None] | None = None
        self._stand_in_note: str | None = None  # why the cached copy stands in for a failed refresh

    def get(self) -> Blacklist:
        """Return the blacklist, refreshing it when the cached copy is older than the max age."""
        return self._get(retries=None)

    def readiness(self) -> str:
        """Load the blacklist if due (one HTTP try: a probe must answer fast) and say "ok", or "ok: <note>".

        The note says that a cached copy stands in for a refresh that failed; BlacklistUnavailableError
        when there is no blacklist to use at all.
        """
        self._get(retries=0)
        return f"ok: {self._stand_in_note}" if self._stand_in_note else "ok"

    def _get(self, retries: int | None) -> Blacklist:
        with self._lock:
            stamp = self._local_stamp()
            loaded = self._loaded
            if loaded is None or time.monotonic() - loaded[0] > self._max_age_s or stamp != loaded[2]:
                loaded = self._loaded = (time.monotonic(), self._load(retries), stamp)
            return loaded[1]

    def _local_stamp(self) -> tuple[int, ...] | None:
        """What changes when the local blacklist file is edited or replaced; None for a URL or no file."""
        if not self._url or is_remote(self._url):
            return None
        try:
            stat = local_path(self._url).stat()
        except OSError:
            return None  # _load says what is wrong with it
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _load(self, retries: int | None) -> Blacklist:
        self._stand_in_note = None
        if not self._url:
            return Blacklist.empty()
        if not is_remote(self._url):
            return self._read_local(local_path(self._url))
        if self._cache_is_fresh():
            return self._parsed.parse(self._cache_file.read_bytes())
        try:
            data = self._fetcher.fetch_bytes(self._url, retries)
        except WikitopError as exc:
            if self._cache_file.is_file():
                log.warning("blacklist refresh failed (%s); using the cached copy", exc)
                saved = datetime.fromtimestamp(self._cache_file.stat().st_mtime, UTC)
                self._stand_in_note = (
                    f"using the cached copy of {saved:%Y-%m-%dT%H:%M:%SZ}: "
                    f"the refresh from {self._url} failed ({exc})"
                )
                return self._parsed.parse(self._cache_file.read_bytes())
            raise BlacklistUnavailableError(
                f"cannot fetch the blacklist from {self._url} ({exc}) and no cached copy exists at "
                f"{self._cache_file}; check the network, or set WIKITOP_BLACKLIST_URL to a reachable URL "
                "or a local file (or to an empty value for no blacklist)"
            ) from exc
        self._write_cache(data)
        return self._parsed.parse(data)

    def _read_local(self, path: Path) -> Blacklist:
        try:
            return self._parsed.parse(path.read_bytes())
        except OSError as exc:
            raise BlacklistFileError(
                f"cannot read the blacklist file {path}: {exc.strerror} "
                "(WIKITOP_BLACKLIST_URL: an http(s) URL, a local file, or empty for none)"
            ) from exc

    def _cache_is_fresh(self) -> bool:
        try:
            return time.time() - self._cache_file.stat().st_mtime < self._max_age_s
        except FileNotFoundError:
            return False

    def _write_cache(self, data: bytes) -> None:
        _write_atomically(self._cache_file, data)


class ParsedCache:
    """Parsed blacklists kept in `directory` by the sha256 of their source: a process loads, not parses.

    Parsing the real 57k-line blacklist costs a `wikitop run` 0.13 s of CPU; loading it parsed
    (`marshal`, the format of Python's own .pyc files: the keys are bytes and ints only) 0.004 s.
    The file is named by the source's hash, so a changed blacklist is never served from an old parse.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def parse(self, data: bytes) -> Blacklist:
        """The Blacklist of `data`, loaded from its parsed copy when there is one, else parsed and kept."""
        if not data:
            return Blacklist.parse(data)
        sha256 = hashlib.sha256(data).hexdigest()
        path = self._directory / f"blacklist-{sha256}-keys.marshal{marshal.version}"
        try:
            keys, lines_skipped, domain_codes = marshal.loads(path.read_bytes())
            return Blacklist(keys, sha256, lines_skipped, domain_codes)
        except FileNotFoundError:
            pass
        except (OSError, EOFError, ValueError, TypeError) as exc:  # damaged or from another Python
            log.warning("ignoring the parsed blacklist %s (%s): parsing the blacklist again", path, exc)
        blacklist = Blacklist.parse(data)
        parsed = (blacklist.keys, blacklist.lines_skipped, blacklist.domain_codes)
        try:
            _write_atomically(path, marshal.dumps(parsed))
        except OSError as exc:  # a read-only data dir: parse in every process, as before
            log.warning("cannot keep the parsed blacklist in %s: %s", path, exc)
        return blacklist


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    partial.replace(path)
