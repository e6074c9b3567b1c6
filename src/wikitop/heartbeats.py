"""Worker heartbeats: each queue worker touches a file of its own under <data dir>/workers while it runs.

Files rather than rows or broker keys: every process of `wikitop serve` shares the data dir, so the
API learns whether a worker runs without a schema change or a broadcast to the workers (Celery's
`inspect ping` waits out its whole timeout when no worker answers, too slow for a readiness probe).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

HEARTBEAT_INTERVAL_S = 5.0
# Three missed beats: a worker this quiet is gone (a SIGKILL leaves no chance to remove its file).
STALE_AFTER_S = 3 * HEARTBEAT_INTERVAL_S
# Files of workers killed long ago (another container, another boot) are deleted by the next worker.
FORGET_AFTER_S = 86_400.0


def heartbeat_dir(data_dir: Path) -> Path:
    """The directory of the workers' heartbeat files."""
    return Path(data_dir) / "workers"


def heartbeat_file(data_dir: Path, pid: int) -> Path:
    """The heartbeat file of the worker whose main process is `pid` on this host."""
    # The host name too: containers sharing the data volume all number their processes from 1.
    return heartbeat_dir(data_dir) / f"{socket.gethostname()}-{pid}"


def freshest_age_s(data_dir: Path, now: float | None = None) -> float | None:
    """Seconds since the freshest heartbeat under the data dir, or None when there is none."""
    ages = []
    now = time.time() if now is None else now
    with contextlib.suppress(FileNotFoundError):
        for entry in heartbeat_dir(data_dir).iterdir():
            with contextlib.suppress(FileNotFoundError):
                ages.append(max(0.0, now - entry.stat().st_mtime))
    return min(ages, default=None)


class Heartbeat:
    """A daemon thread that touches a heartbeat file every `interval_s` until stopped, then removes it."""

    def __init__(self, path: Path, interval_s: float = HEARTBEAT_INTERVAL_S) -> None:
        self.path = path
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wikitop-heartbeat", daemon=True)

    def start(self) -> None:
        """Beat once now, forget long-dead workers' files, then beat in the background."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        cutoff = time.time() - FORGET_AFTER_S
        for entry in self.path.parent.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    entry.unlink()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and remove the file: the worker is stopping."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)  # a touch in progress must not bring the file back
        self.path.unlink(missing_ok=True)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            # Touched, not rewritten: the mtime is the beat. A deleted directory is made again.
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.touch()
