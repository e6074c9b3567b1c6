"""HTTP downloads: streamed to disk, retried with exponential backoff, capped machine-wide.

httpx does the HTTP (streaming, timeouts, a Content-Length check on the body) and tenacity the
retries, so this module only says *what* is retried: 5xx, 429, timeouts and dropped connections.
A 404 is an answer, not a failure: the file is not published (yet). A host that cannot be reached at
all (its name does not resolve, or it refuses connections) is not retried here: offline, six tries
only made every request wait half a minute before saying so; the caller's next attempt retries it.

httpx and tenacity are imported at the first request: a run on a local mirror never makes one, and
they cost a command 60 ms of start-up.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

from wikitop.errors import DumpDownloadError, DumpNotPublishedError, HostUnreachableError

if TYPE_CHECKING:
    import httpx
    from filelock import FileLock
    from tenacity import RetryCallState

T = TypeVar("T")
ProgressCallback = Callable[[int], None]
_CHUNK_BYTES = 1 << 20


class RetryableStatusError(Exception):
    """The server answered with a status worth retrying (5xx, 429)."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


def _is_retryable(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, httpx.ConnectError) and unreachable_reason(exc) is not None:
        return False
    return isinstance(exc, RetryableStatusError | httpx.TransportError)


def unreachable_reason(exc: BaseException) -> str | None:
    """Say why a connection failed when retrying it soon is pointless (no DNS answer, refused), else None."""
    # httpx wraps httpcore's error, which wraps the socket's: the cause says what really happened.
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "name resolution failed (offline?)"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        cause = cause.__cause__ or cause.__context__
    return None


class DownloadSlots:
    """At most `limit` downloads at once across every process of the machine that shares `lock_dir`.

    Wikimedia answers 503 beyond 3 connections per client, so the cap must hold for all workers of
    a machine, not just one process: each slot is a lock file; a download holds one slot.
    """

    def __init__(self, lock_dir: Path, limit: int) -> None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._paths = [lock_dir / f"download-slot-{i}.lock" for i in range(limit)]
        # Made at the first download: a run from a local mirror never imports filelock.
        self._locks: list[FileLock] = []
        self._making = threading.Lock()
        self._local = threading.BoundedSemaphore(limit)

    @contextmanager
    def slot(self) -> Iterator[Callable[[], None]]:
        """Hold one download slot until the block ends or the yielded `release` is called."""
        self._local.acquire()
        lock = self._acquire_any()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                lock.release()
                self._local.release()

        try:
            yield release
        finally:
            release()

    def _acquire_any(self) -> FileLock:
        from filelock import FileLock, Timeout

        with self._making:
            if not self._locks:
                self._locks = [FileLock(str(path)) for path in self._paths]
        while True:
            for lock in self._locks:
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue
                return lock
            time.sleep(0.05)


class HttpFetcher:
    """Streams URLs to files with retries; one instance per process, shared by its threads."""

    def __init__(
        self,
        user_agent: str,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        slots: DownloadSlots,
    ) -> None:
        self._user_agent = user_agent
        self._timeout_s = timeout_s
        self._client_lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._retries = retries
        self._backoff_s = backoff_s
        self._slots = slots
        self.retry_count = 0

    @property
    def _client(self) -> httpx.Client:
        """The connection pool, created at the first request (a run on a local mirror never needs it)."""
        import httpx

        with self._client_lock:
            if self._http is None:
                self._http = httpx.Client(
                    headers={"User-Agent": self._user_agent},
                    timeout=httpx.Timeout(self._timeout_s, connect=min(self._timeout_s, 10.0)),
                    follow_redirects=True,
                )
            return self._http

    def close(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            self._http.close()

    def fetch_bytes(self, url: str, retries: int | None = None) -> bytes:
        """Return the body of `url` (small files only, e.g. the blacklist); `retries` overrides the setting."""
        return self._with_retries(url, lambda: self._get_bytes(url), retries)

    def stream_through(
        self,
        url: str,
        dest: Path,
        consume: Callable[[BodyReader], T],
        progress: ProgressCallback | None = None,
    ) -> tuple[T, int]:
        """Hand the body to `consume` as it arrives while saving it to `dest`; return (result, bytes).

        `dest` is written whole or not at all: the rest of the body is saved after `consume`
        returns, and the byte count must match Content-Length. Retried as a whole (a fresh request,
        a fresh `consume`) on 5xx, 429, timeouts and dropped connections.
        """
        return self._with_retries(url, lambda: self._stream_once(url, dest, consume, progress))

    def _with_retries(self, url: str, attempt: Callable[[], T], retries: int | None = None) -> T:
        import httpx
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

        tries = (self._retries if retries is None else retries) + 1
        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(tries),
            wait=wait_exponential(multiplier=self._backoff_s, max=60.0) + wait_random(0, self._backoff_s),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except RetryableStatusError as exc:
            raise DumpDownloadError(f"{exc} after {tries} tries") from exc
        except httpx.TransportError as exc:
            reason = unreachable_reason(exc)
            if reason is not None:
                raise HostUnreachableError(f"cannot reach {_host_of(url)}: {reason}") from exc
            kind = type(exc).__name__
            raise DumpDownloadError(f"{kind} for {url} after {tries} tries: {exc}") from exc

    def _count_retry(self, state: RetryCallState) -> None:
        self.retry_count += 1

    def _get_bytes(self, url: str) -> bytes:
        with self._slots.slot():
            response = self._client.get(url)
            _check_status(url, response)
            return response.content

    def _stream_once(
        self, url: str, dest: Path, consume: Callable[[BodyReader], T], progress: ProgressCallback | None
    ) -> tuple[T, int]:
        partial = dest.with_name(dest.name + ".part")
        try:
            with self._slots.slot() as release_slot, self._client.stream("GET", url) as response:
                _check_status(url, response)
                expected = response.headers.get("Content-Length")
                with partial.open("w+b") as out:
                    # The slot is free for the next download as soon as the last byte is in,
                    # while `consume` may still be finishing its work on it.
                    body = BodyReader(response.iter_raw(_CHUNK_BYTES), out, progress, release_slot)
                    result = consume(body)
                    body.drain()
            if expected is not None and int(expected) != body.received:
                import httpx

                raise httpx.RemoteProtocolError(f"body of {url} ended at {body.received} of {expected} bytes")
            partial.replace(dest)
            return result, body.received
        finally:
            partial.unlink(missing_ok=True)


class BodyReader(io.RawIOBase):
    """A response body read as a file, every byte also written to `out` (the download on disk)."""

    def __init__(
        self,
        blocks: Iterator[bytes],
        out: BinaryIO,
        progress: ProgressCallback | None,
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._blocks = blocks
        self._on_end = on_end
        self._out = out
        self._progress = progress
        self._pending = memoryview(b"")
        self.received = 0
        self.path = Path(out.name)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending and not self._next_block():
            return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        """Save the rest of the body without handing it to anyone, and flush the file."""
        self._pending = memoryview(b"")
        while self._next_block():
            self._pending = memoryview(b"")
        self._out.flush()

    def _next_block(self) -> bool:
        block = next(self._blocks, b"")
        if not block:
            self._on_end()
            return False
        self._out.write(block)
        self.received += len(block)
        if self._progress is not None:
            self._progress(len(block))
        self._pending = memoryview(block)
        return True


def _host_of(url: str) -> str:
    """The host of `url`, with its port when the URL names one."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


def _check_status(url: str, response: httpx.Response) -> None:
    status = response.status_code
    if status == 404:
        raise DumpNotPublishedError(f"{url} is not published (HTTP 404)")
    if status == 429 or status >= 500:
        raise RetryableStatusError(url, status)
    if status >= 400:
        raise DumpDownloadError(f"HTTP {status} from {url}")
