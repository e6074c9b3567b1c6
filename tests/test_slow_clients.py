"""Idle and slowloris clients of a real `wikitop api` neither block other clients nor stay connected."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress

import httpx
import pytest

from support.api_process import ApiProcess, run_wikitop_http
from wikitop.web.app import MAX_BODY_BYTES
from wikitop.web.worker import REQUEST_READ_TIMEOUT_S, request_is_complete

pytestmark = pytest.mark.slow

HOUR = "2020010110"
IDLE_CLIENTS = 100
SLOW_CLIENTS = 100
# A fast answer on a loaded 2-core machine; the blocked server never answered at all.
FAST_S = 0.5
SLOWLORIS_REQUEST = f"GET /api/v1/reports/{HOUR} HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * 100}\r\n\r\n".encode()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """One `wikitop api` process (one gunicorn worker: the easiest to block) with one hour asked."""
    with run_wikitop_http(tmp_path_factory.mktemp("api"), "api", "--workers", "1") as server:
        answer = httpx.post(f"{server.base_url}/api/v1/reports", json={"start": HOUR}, timeout=10)
        assert answer.status_code == 202, answer.text
        yield server


def port_of(server: ApiProcess) -> int:
    """The loopback port the server listens on."""
    return int(server.base_url.rsplit(":", 1)[1])


def connect(port: int, count: int) -> list[socket.socket]:
    """Open `count` connections to the API's port (loopback), sending nothing."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def closed_by_server(sock: socket.socket) -> bool:
    """Tell whether the server closed the connection (end of file or reset)."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def trickle(sockets: list[socket.socket], position: int) -> None:
    """Send byte `position` of a request on every connection still open, as slowloris does."""
    for sock in sockets:
        with suppress(OSError):  # closed by the server: what should happen in the end
            sock.send(SLOWLORIS_REQUEST[position : position + 1])


def timed_get(url: str) -> tuple[int, float]:
    """GET `url` on a new connection; return its status and how long it took."""
    started = time.monotonic()
    status = httpx.get(url, timeout=5).status_code
    return status, time.monotonic() - started


def test_idle_and_slowloris_clients_do_not_block_the_api(api: ApiProcess) -> None:
    with ExitStack() as stack:
        idle = connect(port_of(api), IDLE_CLIENTS)
        slow = connect(port_of(api), SLOW_CLIENTS)
        for sock in idle + slow:
            stack.callback(sock.close)
        started = time.monotonic()
        position = 0
        # While the slow clients send a byte a second, other clients are answered at once.
        while time.monotonic() - started < 4:
            trickle(slow, position)
            position += 1
            for path in ("/healthz", f"/api/v1/reports/{HOUR}"):
                status, elapsed_s = timed_get(api.base_url + path)
                assert status == 200 and elapsed_s < FAST_S, (path, status, elapsed_s)
            time.sleep(max(0.0, started + position - time.monotonic()))
        # The server hangs up on every one of them once they had the time to send a request.
        deadline = started + REQUEST_READ_TIMEOUT_S + 10
        open_sockets = idle + slow
        while open_sockets and time.monotonic() < deadline:
            trickle(slow, position)
            position += 1
            open_sockets = [sock for sock in open_sockets if not closed_by_server(sock)]
            time.sleep(1)
        assert not open_sockets, f"{len(open_sockets)} slow connections still open"
        assert time.monotonic() - started >= REQUEST_READ_TIMEOUT_S - 1  # not closed before their time
        assert timed_get(api.base_url + "/healthz")[0] == 200


def test_a_pipelined_request_sent_in_part_does_not_hold_a_thread(api: ApiProcess) -> None:
    first = f"GET /api/v1/reports/{HOUR} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with ExitStack() as stack:
        for _ in range(4):  # more than the worker's threads
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port_of(api)), timeout=10))
            sock.sendall(first + SLOWLORIS_REQUEST[:20])
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        status, elapsed_s = timed_get(f"{api.base_url}/healthz")
        assert status == 200 and elapsed_s < FAST_S


def test_expect_100_continue_is_answered_by_the_loop_once(api: ApiProcess) -> None:
    body = b'{"start": "2020010112"}'
    head = (
        "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port_of(api)), timeout=10) as sock:
        sock.sendall(head.encode())
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 202") and b"100 Continue" not in answer


def test_a_request_sent_in_pieces_within_the_timeout_is_answered(api: ApiProcess) -> None:
    port = port_of(api)
    body = b'{"start": "2020010111"}'
    head = f"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for piece in (head.encode()[:10], head.encode()[10:], body[:5], body[5:]):
            sock.sendall(piece)
            time.sleep(0.2)
        assert sock.recv(4096).startswith(b"HTTP/1.1 202")


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", False),
        (b"POST / HTTP/1.1\r\ncontent-length: 4\r\n\r\nabcd", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", True),  # refused at once: 413
        (b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", True),  # refused at once: 400
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", False),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nX: y\r\n\r\n", True),
        # Chunk data that looks like the last chunk is data: the chunk's own CRLF is still missing.
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n0\r\n\r\n", False),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", True),  # refused at once: 400
        # A request followed by part of the next one is whole.
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n", True),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (MAX_BODY_BYTES + 1), True),  # refused at once: 431
    ],
)
def test_a_request_is_handed_to_a_thread_once_complete(data: bytes, complete: bool) -> None:
    assert request_is_complete(data, MAX_BODY_BYTES) is complete
