"""Throwaway PostgreSQL and Redis servers on free loopback ports, that a test may stop and start.

The machine's own servers (5432, 6379) are shared by other test runs and must never be stopped:
fault tests run their own, in a temp dir, and stop them at will. PostgreSQL refuses to run as
root, so as root its files belong to the `postgres` user and its commands run as that user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from support.requirements import server_unavailable

_START_TIMEOUT_S = 30.0


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int, what: str, timeout_s: float = _START_TIMEOUT_S) -> None:
    """Wait until something accepts connections on 127.0.0.1:`port`; fail naming `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s} s")
        time.sleep(0.05)


def _postgres_bin() -> Path:
    """The directory of the newest installed PostgreSQL's initdb and pg_ctl."""
    installed = Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
    found = sorted(installed, key=lambda path: int(path.parts[4]) if path.parts[4].isdigit() else 0)
    on_path = shutil.which("pg_ctl")
    if not found and on_path:
        return Path(on_path).parent
    if not found:
        server_unavailable("PostgreSQL binaries", "/usr/lib/postgresql", "pg_ctl not installed")
    return found[-1].parent


class PrivateRedis:
    """A redis-server of one test, without persistence: a restart loses every message, as it would."""

    def __init__(self, root: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            server_unavailable("redis-server", "PATH", "not installed (apt install redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._root = root
        self._command = [str(binary), "--port", str(self.port), "--bind", "127.0.0.1"]
        self._command += ["--save", "", "--appendonly", "no"]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        """Start the server and wait until it listens."""
        self._root.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, cwd=self._root)
        wait_listening(self.port, "redis-server")
        return self

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait for it to exit."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._process = None

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrivatePostgres:
    """A PostgreSQL cluster of one test in a temp dir of its own on a free port (trust auth, user postgres).

    Its directory is not under pytest's temp dir: pytest runs of the same user make that private
    again (mode 0700), and the postgres user must reach its data dir.
    """

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._root = Path(tempfile.mkdtemp(prefix="wikitop-postgres-"))
        self.data_dir = self._root / "pgdata"
        self._log = self._root / "postgres.log"
        # PostgreSQL will not run as root: as root, run its commands as the postgres user.
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self._as_user, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")

    def init(self) -> PrivatePostgres:
        """Create the cluster and start it."""
        if self._as_user:
            shutil.chown(self._root, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        return self.start()

    def start(self) -> PrivatePostgres:
        """Start the server (again) and wait until it accepts connections."""
        options = f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self._log),
            "-o",
            options,
            "-w",
            "start",
        )
        wait_listening(self.port, "PostgreSQL")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; `immediate` drops every connection at once, as a crash does."""
        if (self.data_dir / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop")

    def __enter__(self) -> PrivatePostgres:
        return self.init()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
