"""Stored results kept parsed per API process: whole hours for /top, one domain code's rows for pages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from wikitop.ranking import RankedPage
from wikitop.results import read_csv
from wikitop.state import TaskState

Value = TypeVar("Value")


@dataclass(frozen=True)
class RankedHour:
    """One hour's ranked pages, parsed once, and the same pages grouped by domain code."""

    pages: list[RankedPage]
    by_domain: dict[str, list[RankedPage]]

    @classmethod
    def parse(cls, data: bytes) -> RankedHour:
        """Parse a result file."""
        pages = read_csv(data)
        by_domain: dict[str, list[RankedPage]] = {}
        for page in pages:
            by_domain.setdefault(page.domain_code, []).append(page)
        return cls(pages, by_domain)


class ResultCache(Generic[Value]):
    """A small LRU of what was parsed from results, keyed by what changes when an hour is computed again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[object, ...], Value] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(state: TaskState, *extra: object) -> tuple[object, ...]:
        """The cache key: a recompute changes finished_at and the provenance, a move the data_path."""
        return (state.hour, state.status, state.data_path, state.finished_at, state.provenance, *extra)

    def get(self, state: TaskState, *extra: object) -> Value | None:
        """Return what was parsed for this state of the task (and `extra`, e.g. a domain code), if cached."""
        key = self.key(state, *extra)
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, state: TaskState, value: Value, *extra: object) -> None:
        """Remember a parsed value, forgetting the least recently used beyond `size`."""
        key = self.key(state, *extra)
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
