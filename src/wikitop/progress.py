"""Progress of `wikitop run` on stderr: a live bar on a terminal, one plain line per finished hour otherwise.

On a terminal, rich draws the bar (hours done, bytes read, rate, time left) and prints each
finished hour above it. Elsewhere (a pipe, a log file, cron) only whole lines are written: one per
finished hour with its figures, one per retry wait; never a redrawn line.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wikitop.pipeline import HourResult, Outcome

# The bar's figures change with every downloaded block; recomputing them more often than the
# bar is redrawn (4 times a second) would only cost CPU.
REFRESH_S = 0.25
_UNITS = ("B", "kB", "MB", "GB", "TB")


@dataclass(frozen=True)
class Figures:
    """What the bar shows: hours done of the total, bytes read, their rate and the time left."""

    done: int
    total: int
    bytes_read: int
    elapsed_s: float

    @property
    def rate_bytes_per_s(self) -> float:
        """Bytes read per second since the start."""
        return self.bytes_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        """Seconds left at the pace of the hours done so far; None before the first hour is done."""
        if self.done == 0:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)

    def describe(self) -> str:
        """The figures in words: `123.4 MB, 4.1 MB/s, 0:01:10 left`."""
        left = "time left unknown" if self.left_s is None else f"{_clock(self.left_s)} left"
        return f"{_size(self.bytes_read)}, {_size(self.rate_bytes_per_s)}/s, {left}"


class Progress:
    """Counts bytes and finished hours from several threads; shows them as a bar or as plain lines."""

    def __init__(self, total_hours: int, terminal: bool) -> None:
        self._total = total_hours
        self._terminal = terminal
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._streamed: dict[str, int] = {}
        self._bar: _Bar | None = None
        self._shown_at = 0.0
        self.bytes = 0
        self.done = 0

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self._terminal:
            self._bar = _Bar(self._total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close(self.figures())
            self._bar = None

    def figures(self) -> Figures:
        """The figures as they are now."""
        with self._lock:
            return Figures(self.done, self._total, self.bytes, time.monotonic() - self._started)

    def counter(self, hour: str) -> Callable[[int], None]:
        """A callback for process_hour that counts the bytes downloaded for `hour`."""

        def add_bytes(count: int) -> None:
            with self._lock:
                self.bytes += count
                self._streamed[hour] = self._streamed.get(hour, 0) + count
            self._redraw(force=False)

        return add_bytes

    def hour_done(self, result: HourResult) -> None:
        """Record a finished hour and say so on its own line."""
        with self._lock:
            self.done += 1
            # A dump read from a local mirror (or a kept copy) reports no download: count its size.
            if self._streamed.pop(result.hour, 0) == 0 and result.outcome is Outcome.COMPUTED:
                self.bytes += result.dump_bytes
            line = f"[{self.done}/{self._total}] {result.hour} {result.reported[0]}: {_detail(result)}"
        self._say(line)
        self._redraw(force=True)

    def retrying(self, result: HourResult, delay_s: float) -> None:
        """Say on its own line that an hour's try failed and when the next one starts."""
        # Always, not only on a terminal: a wait of seconds with nothing said looks like a hang.
        if result.outcome is Outcome.BUSY:
            self._say(f"{result.hour} {result.error}: waiting for its outcome")
        else:
            self._say(f"{result.hour} {result.error}; next try in {delay_s:.0f} s")

    def _say(self, line: str) -> None:
        bar = self._bar
        if bar is not None:
            bar.say(line)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def _redraw(self, force: bool) -> None:
        bar = self._bar
        now = time.monotonic()
        if bar is None or (not force and now - self._shown_at < REFRESH_S):
            return
        self._shown_at = now
        bar.show(self.figures())


class _Bar:
    """rich's live progress bar on stderr; rich is imported only here, when a terminal shows it."""

    def __init__(self, total_hours: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as RichProgress

        self._progress = RichProgress(
            TextColumn("hours"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[figures]}"),
            console=Console(stderr=True),
            refresh_per_second=1 / REFRESH_S,
        )
        self._task = self._progress.add_task("hours", total=total_hours, figures="starting")
        self._progress.start()

    def show(self, figures: Figures) -> None:
        self._progress.update(self._task, completed=figures.done, figures=figures.describe())

    def say(self, line: str) -> None:
        # Printed above the bar, which is then drawn again below it; no markup: titles and errors
        # may hold square brackets.
        self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self, figures: Figures) -> None:
        self.show(figures)
        self._progress.stop()


def _detail(result: HourResult) -> str:
    if not result.outcome.done:
        return result.reported[1]
    read = f", {_size(result.dump_bytes)}" if result.dump_bytes else ""
    return f"{result.rows} rows in {result.seconds:.1f} s{read}"


def _size(count: float) -> str:
    """Bytes in decimal units, as download tools show them: `950 B`, `12.3 kB`, `45.3 MB`."""
    unit = 0
    while count >= 1000 and unit < len(_UNITS) - 1:
        count /= 1000
        unit += 1
    return f"{count:.0f} B" if unit == 0 else f"{count:.1f} {_UNITS[unit]}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
