"""A fake dumps.wikimedia.org on loopback: serves a directory, records requests and injects faults."""

from __future__ import annotations

import contextlib
import email.utils
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_PATH = "/other/pageviews"
_CHUNK_BYTES = 64 * 1024
_IDLE_TIMEOUT_S = 10.0  # a keep-alive connection that stays silent this long is closed


class FaultKind(StrEnum):
    """What goes wrong when a path is requested."""

    NOT_FOUND = "not_found"
    STATUS = "status"
    TRUNCATE = "truncate"
    CORRUPT = "corrupt"
    SLOW = "slow"


@dataclass(frozen=True)
class Fault:
    """A fault for one path, for its next `times` requests (None: all of them); see the constructors."""

    kind: FaultKind
    times: int | None = None
    status: int = 503
    retry_after_s: int | None = None
    after_bytes: int | None = None
    stall_s: float = 0.0
    chunk_delay_s: float = 0.0
    before_headers: bool = False

    @classmethod
    def not_found(cls, times: int | None = None) -> Fault:
        """Answer 404, as Wikimedia does for an hour that is not published yet."""
        return cls(FaultKind.NOT_FOUND, times)

    @classmethod
    def status_code(cls, status: int = 503, times: int | None = 1, retry_after_s: int | None = None) -> Fault:
        """Answer `status` (503, 429, 500 ...) `times` times, then serve the file."""
        return cls(FaultKind.STATUS, times, status=status, retry_after_s=retry_after_s)

    @classmethod
    def truncate(cls, after_bytes: int, times: int | None = None) -> Fault:
        """Announce the full Content-Length, but close the connection after `after_bytes` bytes of body."""
        return cls(FaultKind.TRUNCATE, times, after_bytes=after_bytes)

    @classmethod
    def corrupt(cls, times: int | None = None) -> Fault:
        """Serve the file at its full length with bytes flipped in the middle (a gzip stream then fails)."""
        return cls(FaultKind.CORRUPT, times)

    @classmethod
    def slow(
        cls,
        stall_s: float = 0.0,
        after_bytes: int | None = None,
        chunk_delay_s: float = 0.0,
        before_headers: bool = False,
        times: int | None = None,
    ) -> Fault:
        """Stall `stall_s` once, before the headers or after `after_bytes` bytes of body (default: half);
        and sleep `chunk_delay_s` between chunks of 64 KiB."""
        return cls(
            FaultKind.SLOW,
            times,
            after_bytes=after_bytes,
            stall_s=stall_s,
            chunk_delay_s=chunk_delay_s,
            before_headers=before_headers,
        )


@dataclass
class RecordedRequest:
    """One request the server received, and how it answered."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    started_at: float  # time.monotonic() when the request was read
    status: int = 0
    body_bytes: int = 0
    finished_at: float | None = None

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent")


class FakeWikimedia:
    """Serve `root_dir` at http://127.0.0.1:PORT/other/pageviews/..., as dumps.wikimedia.org does.

    `max_connections` and `throttle_bytes_per_s` (per connection) may be changed while it runs.
    """

    def __init__(
        self,
        root_dir: Path,
        *,
        max_connections: int = 3,
        throttle_bytes_per_s: float | None = None,
        base_path: str = BASE_PATH,
    ) -> None:
        self.root_dir = Path(root_dir)
        self.max_connections = max_connections
        self.throttle_bytes_per_s = throttle_bytes_per_s
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_concurrent = 0  # the most requests in flight at once, those answered 503 for it included
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults: dict[str, tuple[Fault, int | None]] = {}
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeWikimedia:
        """Listen on an ephemeral loopback port and serve from a daemon thread."""
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-wikimedia", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving: wake stalled handlers, drop open connections, close the listening socket."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> FakeWikimedia:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake Wikimedia server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, the counterpart of https://dumps.wikimedia.org/other/pageviews."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def url_for(self, relpath: str) -> str:
        """URL of the file at `relpath` under root_dir: a dump, a blacklist, ..."""
        return f"{self.url}/{relpath.lstrip('/')}"

    def set_fault(self, relpath: str, fault: Fault) -> None:
        """Make the requests of `relpath` (relative to the base URL) fail as `fault` says."""
        with self._lock:
            self._faults[relpath.lstrip("/")] = (fault, fault.times)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_for(self, relpath: str) -> list[RecordedRequest]:
        """The requests of the file at `relpath`, oldest first."""
        path = urlsplit(self.url_for(relpath)).path
        return [request for request in list(self.requests) if urlsplit(request.path).path == path]

    def reset_stats(self) -> None:
        """Forget the recorded requests and the concurrency peak."""
        with self._lock:
            self.requests.clear()
            self.max_concurrent = self.in_flight

    def _begin(self, record: RecordedRequest) -> bool:
        """Record a request as in flight; tell whether it is one too many."""
        with self._lock:
            self.requests.append(record)
            self.in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self.in_flight)
            return self.in_flight > self.max_connections

    def _end(self, record: RecordedRequest) -> None:
        record.finished_at = time.monotonic()
        with self._lock:
            self.in_flight -= 1

    def _take_fault(self, relpath: str) -> Fault | None:
        """Return the fault set for `relpath`, counting one use of it."""
        with self._lock:
            fault, remaining = self._faults.get(relpath, (None, None))
            if fault is not None and remaining is not None:
                if remaining > 1:
                    self._faults[relpath] = (fault, remaining - 1)
                else:
                    del self._faults[relpath]
            return fault

    def _track(self, connection: socket.socket, is_open: bool) -> None:
        with self._lock:
            (self._connections.add if is_open else self._connections.discard)(connection)

    def _pause(self, seconds: float) -> None:
        """Sleep, but stop at once (by dropping the connection) when the server closes."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise ConnectionResetError("the fake Wikimedia server is closing")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, fake: FakeWikimedia) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake._track(request, is_open=True)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.fake._track(request, is_open=False)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeWikimedia/1.0"
    timeout = _IDLE_TIMEOUT_S
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fake = self.server.fake
        headers = {name.lower(): value for name, value in self.headers.items()}
        record = RecordedRequest(self.command, self.path, headers, time.monotonic())
        try:
            if fake._begin(record):
                # Wikimedia's dump servers allow a client only a few connections at once.
                self._send_text(record, 503, "too many concurrent connections")
            else:
                self._serve(record)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away (its own timeout?), or we are closing
        finally:
            fake._end(record)

    def _serve(self, record: RecordedRequest) -> None:
        relpath, file = self._file()
        fault = self.server.fake._take_fault(relpath) if file is not None else None
        if file is None or (fault is not None and fault.kind is FaultKind.NOT_FOUND):
            self._send_text(record, 404, "not found")
        elif fault is not None and fault.kind is FaultKind.STATUS:
            retry = {} if fault.retry_after_s is None else {"Retry-After": str(fault.retry_after_s)}
            self._send_text(record, fault.status, f"injected status {fault.status}", retry)
        else:
            self._send_file(record, file, fault)

    def _file(self) -> tuple[str, Path | None]:
        """Return the requested path relative to the base path, and the file it names if there is one."""
        path, base = unquote(urlsplit(self.path).path), self.server.fake.base_path + "/"
        if not path.startswith(base):
            return path, None
        root = self.server.fake.root_dir.resolve()
        file = (root / path[len(base) :]).resolve()
        return path[len(base) :], file if file.is_file() and file.is_relative_to(root) else None

    def _send_text(
        self, record: RecordedRequest, status: int, text: str, headers: dict[str, str] | None = None
    ) -> None:
        body = (text + "\n").encode()
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            record.body_bytes = len(body)

    def _send_file(self, record: RecordedRequest, file: Path, fault: Fault | None) -> None:
        data = file.read_bytes()
        if fault is not None and fault.kind is FaultKind.CORRUPT:
            data = _flip_middle(data)
        if fault is not None and fault.before_headers:
            self.server.fake._pause(fault.stall_s)
        record.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip" if file.suffix == ".gz" else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Last-Modified", email.utils.formatdate(file.stat().st_mtime, usegmt=True))
        self.end_headers()
        if self.command != "HEAD":
            self._send_body(record, data, fault)

    def _send_body(self, record: RecordedRequest, data: bytes, fault: Fault | None) -> None:
        """Write the body in chunks, honouring the throttle, and the fault's truncation and stalls."""
        fake, limit, stall_at = self.server.fake, len(data), None
        if fault is not None and fault.kind is FaultKind.TRUNCATE:
            limit, self.close_connection = min(fault.after_bytes or 0, len(data)), True
        if fault is not None and fault.kind is FaultKind.SLOW and not fault.before_headers:
            stall_at = len(data) // 2 if fault.after_bytes is None else fault.after_bytes
        rate, started = fake.throttle_bytes_per_s, time.monotonic()
        # A throttled body goes out in twentieths of a second, so that the rate holds at any size.
        chunk_bytes = max(1, min(_CHUNK_BYTES, int(rate / 20))) if rate else _CHUNK_BYTES
        for start, end in _chunks(limit, chunk_bytes, stall_at):
            if start == stall_at and fault is not None:
                fake._pause(fault.stall_s)
            self.wfile.write(data[start:end])
            record.body_bytes = end
            fake._pause(fault.chunk_delay_s if fault is not None else 0)
            # No pause after the last chunk: the client has every byte, the request is over.
            if rate and end < limit:
                fake._pause(started + end / rate - time.monotonic())


def _chunks(size: int, chunk_bytes: int, split_at: int | None) -> Iterator[tuple[int, int]]:
    """Yield (start, end) ranges covering [0, size), with a boundary at `split_at` when it is inside."""
    start = 0
    while start < size:
        end = min(size, start + chunk_bytes)
        if split_at is not None and start < split_at < end:
            end = split_at
        yield start, end
        start = end


def _flip_middle(data: bytes, count: int = 16) -> bytes:
    """Invert `count` bytes in the middle: inside the deflate stream of any gzip file but a tiny one."""
    middle = max(0, len(data) // 2 - count // 2)
    flipped = bytes(byte ^ 0xFF for byte in data[middle : middle + count])
    return data[:middle] + flipped + data[middle + count :]
