"""RequestReadingWorker: gunicorn's gthread worker, reading each request whole in its event loop first.

gthread hands a connection to a thread as soon as it is accepted (or, kept alive, as soon as a byte
arrives); the thread then blocks reading the request. Two threads per process, so a few idle or
slowloris clients (headers sent a byte a second) blocked every thread, /healthz included. Here
the event loop reads without blocking until the request (head and body) is complete, and only then
gives it to a thread, which never waits for a client; a client too slow to send its request within
REQUEST_READ_TIMEOUT_S is disconnected. This keeps gthread's measured threads and drivers as they
are (no monkey-patching, unlike gevent: SQLite, psycopg and kombu stay plain blocking code).
"""

from __future__ import annotations

import errno
import json
import selectors
import time
from collections import deque
from contextlib import suppress
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from wikitop.web.app import MAX_BODY_BYTES

# Like Apache's mod_reqtimeout and nginx's client_header_timeout: time to send a whole request,
# counted from its first awaited byte. The API's requests are a few hundred bytes.
REQUEST_READ_TIMEOUT_S = 10.0
# A request whose head is larger than this is handed over as is: gunicorn answers it 431 or 414.
MAX_HEAD_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024
_END_OF_HEAD = b"\r\n\r\n"


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Answer an error that gunicorn found itself (bad request line, URI or headers too long) as JSON.

    gunicorn's own answer is an HTML page; the API's clients read `{"message": ...}` everywhere.
    """
    if status_int >= 500:
        message = "internal error: the server log has the details"
    else:
        message = f"{reason.lower()}: {mesg} (see /docs for the expected form)"
    body = json.dumps({"message": message}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


class _ReadingConn(TConn):  # type: ignore[misc]
    """A connection, with the bytes of its next request read so far and the deadline to read it by."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.received = bytearray()
        self.read_deadline = 0.0


def request_is_complete(data: bytes | bytearray, max_body_bytes: int) -> bool:
    """Tell whether `data` starts with a whole request, or with enough for the server to refuse it.

    Never True before gunicorn could read the request without waiting: a thread would then wait.
    """
    end = data.find(_END_OF_HEAD)
    if end < 0:
        return len(data) > MAX_HEAD_BYTES
    body = bytes(data[end + len(_END_OF_HEAD) :])
    if len(body) > max_body_bytes:
        return True  # too large anyway: the app answers 413
    headers = _headers(data[:end])
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _chunked_body_is_complete(body)
    length = headers.get(b"content-length", b"0")
    if not length.isdigit() or not length.isascii():
        return True  # malformed: gunicorn answers 400
    return len(body) >= int(length) or int(length) > max_body_bytes


def expects_continue(data: bytes | bytearray) -> bool:
    """Tell whether `data` holds a whole head that asks for `100 Continue` before its body."""
    end = data.find(_END_OF_HEAD)
    return end >= 0 and _headers(data[:end]).get(b"expect", b"").lower() == b"100-continue"


def without_expect(data: bytes | bytearray) -> bytearray:
    """The request with its `Expect` header removed (the loop answered it: gunicorn must not again)."""
    end = data.find(_END_OF_HEAD)
    lines = bytes(data[:end]).split(b"\r\n")
    kept = [line for line in lines if line.partition(b":")[0].strip().lower() != b"expect"]
    return bytearray(b"\r\n".join(kept) + data[end:])


def _headers(head: bytes | bytearray) -> dict[bytes, bytes]:
    """The header fields of a request head, by lower-case name (the last of repeated ones)."""
    fields = (line.partition(b":") for line in bytes(head).split(b"\r\n")[1:])
    return {name.strip().lower(): value.strip() for name, _, value in fields}


def _chunked_body_is_complete(body: bytes) -> bool:
    """Walk the chunks: True once the last chunk and the (empty or trailer) end are there, or malformed."""
    position = 0
    while True:
        line_end = body.find(b"\r\n", position)
        if line_end < 0:
            return False
        size_text = body[position:line_end].partition(b";")[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            return True  # malformed: gunicorn answers 400
        size = int(size_text, 16)
        if size == 0:
            return body.find(_END_OF_HEAD, line_end) >= 0  # trailers (if any) and the empty line
        position = line_end + 2 + size + 2
        if position > len(body):
            return False


class RequestReadingWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker whose threads get complete requests only; slow clients time out in the loop."""

    # Bodies above it are handed over at once: the app answers 413 without waiting for the rest.
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading_conns: deque[_ReadingConn] = deque()

    def init_process(self) -> None:
        """Answer gunicorn's own errors as JSON in this process, then run the worker."""
        # gunicorn has no setting for its error pages: its workers call util.write_error, which
        # this worker process (and only it) replaces.
        util.write_error = write_json_error
        super().init_process()

    def accept(self, listener: Any) -> None:
        """Accept a connection and wait, in the loop, for its first request."""
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = _ReadingConn(self.cfg, client, address, listener.getsockname())
        self._read_request(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def on_client_socket_readable(self, conn: _ReadingConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it in the loop too."""
        self.keepalived_conns.remove(conn)
        self._read_request(conn)
        self.poller.modify(client, selectors.EVENT_READ, partial(self._on_readable, conn))
        self._on_readable(conn, client)

    def _read_request(self, conn: _ReadingConn) -> None:
        # Deadlines are equal offsets from now: appending keeps the deque sorted.
        conn.read_deadline = time.monotonic() + REQUEST_READ_TIMEOUT_S
        self.reading_conns.append(conn)

    def _on_readable(self, conn: _ReadingConn, client: Any) -> None:
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client left
            self._stop_reading(conn)
            self._close(conn)
            return
        conn.received += data
        if request_is_complete(conn.received, self.max_body_bytes):
            self._stop_reading(conn)
            conn.data_ready = True
            self.enqueue_req(conn)
        elif expects_continue(conn.received):
            # The client waits for this before it sends its body; the thread must not answer it again.
            conn.received = without_expect(conn.received)
            with suppress(OSError):
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    def enqueue_req(self, conn: _ReadingConn) -> None:
        """Give the connection to a thread if its next request is whole, else read the rest in the loop.

        A request pipelined behind another may have arrived in part with it: gunicorn would hand the
        connection straight back to a thread, which would wait for the rest.
        """
        parser = conn.parser
        if not conn.received and parser is not None:
            pending = parser.unreader.buf.getvalue()
            if pending and not request_is_complete(pending, self.max_body_bytes):
                conn.received += parser.unreader.take_buffered()
                conn.sock.setblocking(False)
                self._read_request(conn)
                self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))
                return
        super().enqueue_req(conn)

    def _stop_reading(self, conn: _ReadingConn) -> None:
        self.poller.unregister(conn.sock)
        self.reading_conns.remove(conn)

    def _close(self, conn: _ReadingConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Close the connections that did not send their request in time (run's loop calls it each second)."""
        super().murder_pending()
        # A stopping worker closes the connections that have not started a request at once.
        for conn in list(self.reading_conns) if not self.alive else []:
            if not conn.received:
                self._stop_reading(conn)
                self._close(conn)
        now = time.monotonic()
        while self.reading_conns and self.reading_conns[0].read_deadline <= now:
            conn = self.reading_conns[0]
            self._stop_reading(conn)
            self._close(conn)

    def handle(self, conn: _ReadingConn) -> Any:
        """Serve the request read by the loop (in a thread): the parser starts from its bytes."""
        if conn.received:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(conn.received))
            conn.received.clear()
        return super().handle(conn)
