"""A queue for the API's tests: it records what the API publishes instead of waking workers."""

from __future__ import annotations

from wikitop.queue import Lane


class RecordingQueue:
    """An in-memory HourQueue that records submissions; its ping or submit fail when told to."""

    def __init__(self, ping_error: str | None = None, submit_error: str | None = None) -> None:
        self.submitted: list[tuple[str, bool]] = []
        self.ping_error = ping_error
        self.submit_error = submit_error

    def submit(
        self, hour: str, force: bool = False, countdown_s: float = 0.0, lane: Lane = Lane.INTERACTIVE
    ) -> None:
        if self.submit_error:
            raise ConnectionError(self.submit_error)
        self.submitted.append((hour, force))

    def ping(self) -> None:
        if self.ping_error:
            raise ConnectionError(self.ping_error)

    def depth(self) -> int | None:
        return len(self.submitted)

    def close(self) -> None:
        return None
