"""A real `wikitop api` or `wikitop serve` process on a free loopback port, over a temporary data dir."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ApiProcess:
    """A running wikitop HTTP server: its base URL and its log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def logs(self) -> str:
        """The process's output so far."""
        return self.log.read_text(errors="replace")


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def run_wikitop_http(
    root: Path,
    command: str,
    *args: str,
    mirror_url: str = "",
    env: dict[str, str] | None = None,
    blacklist: str = "en Main_Page\n",
) -> Iterator[ApiProcess]:
    """Start `wikitop COMMAND --port P ARGS` on data under `root`; wait for /healthz; kill it at the end."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "blacklist.txt").write_text(blacklist)
    environment = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    environment |= (env or {}) | {
        "WIKITOP_DATA_DIR": str(root / "data"),
        "WIKITOP_DUMPS_URL": mirror_url or str(root / "mirror"),
        "WIKITOP_BLACKLIST_URL": str(root / "blacklist.txt"),
    }
    port = free_port()
    log = root / f"{command}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wikitop", command, "--port", str(port), *args],
            env=environment,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ApiProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_for_health(server)
        yield server
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def _wait_for_health(server: ApiProcess) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"the server exited\n{server.logs()}"
        with suppress(httpx.TransportError):
            if httpx.get(f"{server.base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"the server did not answer /healthz in {START_TIMEOUT_S} s\n{server.logs()}")
