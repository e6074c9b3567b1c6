"""`wikitop worker`: a Celery worker (prefork pool) computing hours, plus the reconciler thread.

Why prefork rather than threads: ranking an hour is CPU-bound Python and Arrow work, so separate
processes use every core; a process that dies (out of memory, killed by the task time limit) is
replaced and its message handed back (`reject_on_worker_lost`) while the other processes go on;
and replacing processes after MAX_TASKS_PER_CHILD hours returns their memory to the system.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

from celery.signals import setup_logging, worker_ready, worker_shutdown, worker_shutting_down

from wikitop.heartbeats import Heartbeat, heartbeat_file
from wikitop.logs import configure_logging
from wikitop.metrics import use_metrics_dir
from wikitop.queue.app import describe_broker, make_app
from wikitop.queue.hour_queue import CeleryHourQueue
from wikitop.queue.reconciler import Reconciler
from wikitop.queue.tasks import register_tasks
from wikitop.settings import Settings
from wikitop.state import open_state_store

log = logging.getLogger(__name__)


def run_worker(settings: Settings, concurrency: int, loglevel: str | None = None) -> int:
    """Run a worker until SIGTERM/SIGINT (warm shutdown: running hours finish); return its exit code.

    `loglevel` overrides WIKITOP_LOG_LEVEL.
    """
    loglevel = (loglevel or settings.log_level).upper()
    configure_logging(loglevel, settings.log_format)
    # A receiver of setup_logging tells Celery to leave logging alone: its own handlers and formats
    # would give the worker's lines a second style, whatever WIKITOP_LOG_FORMAT says.
    setup_logging.connect(_keep_our_logging, weak=False, dispatch_uid="wikitop-logging")
    _serve_metrics(settings)
    app = make_app(settings)
    register_tasks(app, settings)
    name = f"wikitop-{os.getpid()}@{socket.gethostname()}"
    _run_reconciler_with_worker(settings, CeleryHourQueue(settings, app), name)
    _beat_while_ready(settings)
    worker = app.Worker(
        hostname=name,
        pool_cls="prefork",
        concurrency=concurrency,
        loglevel=loglevel,
        optimization="fair",
        # The banner is a block of text on stdout; what matters of it is in our log lines.
        quiet=True,
        # Gossip, mingle and heartbeats are for worker-to-worker chatter this service does not use.
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    return int(worker.exitcode or 0)


def _serve_metrics(settings: Settings) -> None:
    """Collect the pool processes' metrics in one directory and serve them on the metrics port."""
    if not settings.worker_metrics_port:
        return
    use_metrics_dir(Path(settings.data_dir) / "metrics" / f"worker-{os.getpid()}")
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        start_http_server(settings.worker_metrics_port, settings.worker_metrics_host, registry=registry)
    except OSError as exc:
        # Two workers on one machine: the second serves no metrics rather than not working at all.
        log.warning("worker metrics not served: port %d: %s", settings.worker_metrics_port, exc)
        return
    host = settings.worker_metrics_host
    log.info(
        "worker metrics on http://%s:%d/metrics",
        f"[{host}]" if ":" in host else host,
        settings.worker_metrics_port,
    )


def _beat_while_ready(settings: Settings) -> None:
    """Touch this worker's heartbeat file (read by the API's /readyz) from ready until shutdown."""
    heartbeat = Heartbeat(heartbeat_file(settings.data_dir, os.getpid()))
    worker_ready.connect(lambda **_: heartbeat.start(), weak=False, dispatch_uid="wikitop-heartbeat-start")
    worker_shutting_down.connect(
        lambda **_: heartbeat.stop(), weak=False, dispatch_uid="wikitop-heartbeat-stop"
    )


def _keep_our_logging(**_: Any) -> None:
    """Celery's setup_logging receiver: logging was configured by run_worker already."""


def _run_reconciler_with_worker(settings: Settings, queue: CeleryHourQueue, name: str) -> None:
    """Start the reconciler once the worker is ready (its processes forked), stop it on shutdown."""
    running: list[Reconciler] = []

    def start(**_: Any) -> None:
        reconciler = Reconciler(settings, open_state_store(settings.resolved_state_url), queue, name)
        running.append(reconciler)
        reconciler.start()
        log.info(
            "reconciler started: a pass every %g s; queue %s; %s",
            settings.reconcile_interval_s,
            describe_broker(settings.resolved_broker_url),
            f"following every hour since {settings.follow_since}" if settings.follow else "not following",
        )

    def stop(**_: Any) -> None:
        for reconciler in running:
            reconciler.stop(timeout_s=0)

    def join(**_: Any) -> None:
        while running:
            running.pop().stop()

    worker_ready.connect(start, weak=False, dispatch_uid="wikitop-reconciler-start")
    worker_shutting_down.connect(stop, weak=False, dispatch_uid="wikitop-reconciler-stop")
    worker_shutdown.connect(join, weak=False, dispatch_uid="wikitop-reconciler-join")
