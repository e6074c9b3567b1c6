"""The edges of a real `wikitop api` process: what gunicorn refuses, big chunked bodies, huge offsets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.api_process import ApiProcess, run_wikitop_http
from wikitop.web.app import MAX_BODY_BYTES
from wikitop.web.schemas import MAX_OFFSET

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """One `wikitop api` process whose home and runtime dirs are temporary (to see what it creates there)."""
    root = tmp_path_factory.mktemp("api")
    home = root / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    with run_wikitop_http(root, "api", "--workers", "1", env=env) as server:
        yield server


def exchange(server: ApiProcess, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer until the server closes; return its status, headers and body."""
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: a\r\n" * 200 + b"\r\n", 431),
        (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
        (b"NOT A REQUEST LINE\r\n\r\n", 400),
    ],
)
def test_gunicorn_refusals_are_json_with_a_message(
    api: ApiProcess, request_bytes: bytes, status: int
) -> None:
    code, headers, body = exchange(api, request_bytes)
    assert code == status
    assert headers["content-type"] == "application/json"
    message = json.loads(body)["message"]
    assert isinstance(message, str) and "docs" in message


def test_a_chunked_body_over_the_limit_is_refused_not_cut(api: ApiProcess) -> None:
    # Valid JSON within the limit, then padding: cut at the limit, it used to be accepted (202).
    body = b'{"start_date": "2020010110"}' + b" " * MAX_BODY_BYTES
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 8192]), body[i : i + 8192]) for i in range(0, len(body), 8192)
    )
    head = b"POST /ask_page_views HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    code, _, answer = exchange(api, head + chunks + b"0\r\n\r\n")
    assert code == 413
    assert str(MAX_BODY_BYTES) in json.loads(answer)["message"]
    small = b'{"start_date": "2020010110"}'
    code, _, _ = exchange(api, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small))
    assert code == 202


@pytest.mark.parametrize(
    "head",
    [
        b"POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n",
        b"GET /get_task_state HTTP/1.1\r\nHost: x\r\n",
        b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n",
    ],
    ids=["json", "prototype", "dashboard-form"],
)
def test_a_broken_chunked_body_is_a_400_and_the_connection_closes(api: ApiProcess, head: bytes) -> None:
    # The chunk's size line is not hexadecimal: found while the app reads the body, not by gunicorn's parser.
    broken = head + b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"sta\r\nZZ\r\n'
    code, headers, body = exchange(api, broken)  # reads until the server closes the connection
    assert code == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["message"].startswith("cannot read the request body: ")
    assert "Traceback" not in Path(api.log).read_text()


def test_an_offset_beyond_64_bits_is_a_400_naming_the_bound(api: ApiProcess) -> None:
    answer = httpx.get(f"{api.base_url}/api/v1/reports", params={"offset": str(2**63)}, timeout=10)
    assert answer.status_code == 400
    assert str(MAX_OFFSET) in answer.json()["message"]
    largest = httpx.get(f"{api.base_url}/api/v1/reports", params={"offset": str(MAX_OFFSET)}, timeout=10)
    assert largest.status_code == 200 and largest.json()["items"] == []


def test_the_openapi_document_never_echoes_the_host_header(api: ApiProcess) -> None:
    for host in ("evil.example", "other.example"):
        spec = httpx.get(f"{api.base_url}/openapi.json", headers={"Host": host}, timeout=10).json()
        assert spec["servers"] == [{"url": "/"}]


def test_gunicorn_creates_no_control_socket_shared_by_every_instance(api: ApiProcess) -> None:
    home = Path(api.log).parent / "home"
    assert list(home.rglob("*")) == []
