"""Prometheus metrics: what workers did (hours, durations, bytes, retries) and what the API served.

API and workers run several processes (gunicorn workers, Celery's prefork pool), so metrics use
prometheus_client's multiprocess mode: each process writes its samples to files in one directory
and a scrape sums them. `use_metrics_dir` must run before prometheus_client is first imported in
the process tree; the `api`, `worker` and `serve` commands call it first thing.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

_M = TypeVar("_M")

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.registry import Collector

# prometheus_client reads this variable itself, at import: it is its interface, not a setting of ours.
_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_metrics_dir(directory: Path, clear: bool = True) -> None:
    """Point this process and its children at `directory` for multiprocess metrics (clearing it)."""
    if _MULTIPROC_ENV in os.environ:
        return
    if clear:
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[_MULTIPROC_ENV] = str(directory)


class WorkerMetrics:
    """What process_hour did: created on first use, so that a process that ranks nothing exports none."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import REGISTRY, Counter, Histogram

        registry = registry or REGISTRY
        self.hours = Counter(
            "wikitop_hours", "Hours processed by process_hour, by outcome", ["outcome"], registry=registry
        )
        self.hour_seconds = Histogram(
            "wikitop_hour_duration_seconds",
            "Seconds to download, rank and store one hour",
            buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800),
            registry=registry,
        )
        self.dump_bytes = Counter(
            "wikitop_dump_bytes", "Bytes of dumps downloaded or read", registry=registry
        )
        self.http_retries = Counter(
            "wikitop_http_retries",
            "HTTP requests retried (5xx, 429, timeouts, dropped connections)",
            registry=registry,
        )


class ApiMetrics:
    """What the API served; the API's processes create only these (no worker series stuck at 0)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import REGISTRY, Counter, Histogram

        registry = registry or REGISTRY
        self.requests = Counter(
            "wikitop_api_requests",
            "API requests, by method, endpoint and status",
            ["method", "endpoint", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "wikitop_api_request_duration_seconds",
            "API request latency, by endpoint",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=registry,
        )


# One instance of each metrics class per process: a second would register its series again.
_instances: dict[type, Any] = {}
_instance_lock = threading.Lock()
# A command that serves no /metrics and exits would only pay prometheus_client's import for them.
_counting = True


def _instance(kind: type[_M]) -> _M:
    """Return the process's one `kind` (created once, even when threads ask at the same time)."""
    with _instance_lock:
        if kind not in _instances:
            _instances[kind] = kind()
        instance: _M = _instances[kind]
        return instance


@contextmanager
def uncounted() -> Iterator[None]:
    """Count no worker metrics inside: `wikitop run` serves none, so it skips prometheus_client.

    Restored on the way out, for a caller that goes on (the CLI's tests run it in their process).
    """
    global _counting
    before, _counting = _counting, False
    try:
        yield
    finally:
        _counting = before


def counting() -> bool:
    """Tell whether this process counts worker metrics (every process does, unless it stopped)."""
    return _counting


def metrics() -> WorkerMetrics:
    """Return the process's worker metrics."""
    return _instance(WorkerMetrics)


def api_metrics() -> ApiMetrics:
    """Return the process's API metrics."""
    return _instance(ApiMetrics)


def render(extra: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """Return the exposition text of every process's metrics plus `extra` collectors, and its type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    if _MULTIPROC_ENV in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    collectors = list(extra)
    for collector in collectors:
        registry.register(collector)
    try:
        return generate_latest(registry), CONTENT_TYPE_LATEST
    finally:
        for collector in collectors:
            registry.unregister(collector)


class GaugeCollector:
    """A scrape-time gauge: calls `read()` for {label value: number} when Prometheus asks."""

    def __init__(
        self, name: str, help_text: str, label: str | None, read: Callable[[], dict[str, float]]
    ) -> None:
        self._name, self._help, self._label, self._read = name, help_text, label, read

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(self._name, self._help, labels=[self._label] if self._label else None)
        for value_label, value in self._read().items():
            family.add_metric([value_label] if self._label else [], value)
        yield family


def mark_process_dead(pid: int) -> None:
    """Tell the multiprocess collector that a worker process exited (gunicorn's child_exit hook)."""
    if _MULTIPROC_ENV in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
