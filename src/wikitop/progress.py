"""Progress on long runs: hours done and bytes downloaded, on stderr, only when it is a terminal."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wikitop.pipeline import HourResult


class Progress:
    """Counts bytes and finished hours from several threads and redraws one status line."""

    def __init__(self, total_hours: int, enabled: bool, interval_s: float = 1.0) -> None:
        self._total = total_hours
        self._enabled = enabled
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._draw_loop, name="progress", daemon=True)
        self.bytes = 0
        self.done = 0

    def __enter__(self) -> Progress:
        if self._enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._enabled:
            self._thread.join()
            sys.stderr.write("\n")

    def add_bytes(self, count: int) -> None:
        """Record `count` more bytes downloaded."""
        with self._lock:
            self.bytes += count

    def hour_done(self, result: HourResult) -> None:
        """Record a finished hour and log it on its own line."""
        with self._lock:
            self.done += 1
            line = f"[{self.done}/{self._total}] {result.hour} {result.outcome.value}"
        detail = f"{result.rows} rows in {result.seconds:.1f} s" if result.outcome.done else result.error
        sys.stderr.write(f"\r{line}: {detail}\n")

    def retrying(self, result: HourResult, delay_s: float) -> None:
        """Say on its own line that an hour's try failed and when the next one starts."""
        # Always, not only on a terminal: a wait of seconds with nothing said looks like a hang.
        sys.stderr.write(f"\r{result.hour} {result.error}; next try in {delay_s:.0f} s\n")

    def _draw_loop(self) -> None:
        while not self._stop.wait(self._interval_s):
            with self._lock:
                status = f"{self.done}/{self._total} hours done, {self.bytes / 1e6:,.1f} MB downloaded"
            sys.stderr.write(f"\r{status}")
            sys.stderr.flush()
