"""`wikitop serve`: the whole service on one machine, the API and a queue worker as child processes.

Each child runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which
then stops the children in order: SIGTERM (the API drains its requests, the worker finishes its
hours), and SIGKILL to each child's whole process group after the shutdown timeout or on a second
Ctrl-C. A child that dies is started again, unless it died right after starting (a bad setting)
or keeps dying, which stops the whole service. If this supervisor is killed, the children notice
their parent is gone and stop by themselves.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from wikitop.errors import UsageError
from wikitop.logs import configure_logging
from wikitop.services import warm_up
from wikitop.settings import Settings

log = logging.getLogger(__name__)

# A child that exits sooner than this after starting is broken, not unlucky: restarting it would loop.
MIN_UPTIME_S = 10.0
# A child restarted this many times within RESTART_WINDOW_S is crashing in a loop: stop instead.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600.0
_POLL_S = 0.2


@dataclass(frozen=True)
class ChildSpec:
    """A child process to keep running: its name and the function (with arguments) it runs."""

    name: str
    target: Callable[..., Any]
    args: tuple[Any, ...]


def serve(
    settings: Settings, host: str, port: int, workers: int, api_workers: int, shutdown_timeout_s: float
) -> int:
    """Run the API and a worker with `workers` processes until SIGTERM/SIGINT; return the exit code."""
    from wikitop.queue.app import describe_broker

    configure_logging(settings.log_level, settings.log_format)
    check_port_free(host, port)
    # Once, before the children race to upgrade the schema and create the queue.
    warm_up(settings, require_broker=True)
    log.info(
        "API on http://%s:%d (docs at /docs); %d worker process(es); queue %s; state %s; results %s",
        f"[{host}]" if ":" in host else host,
        port,
        workers,
        describe_broker(settings.resolved_broker_url),
        describe_broker(settings.resolved_state_url),
        settings.resolved_results_url,
    )
    specs = [
        ChildSpec("wikitop-api", api_child, (settings, host, port, api_workers)),
        # One address for the whole service: the worker's /metrics listens where the API does.
        ChildSpec(
            "wikitop-worker",
            worker_child,
            (settings.model_copy(update={"worker_metrics_host": host}), workers),
        ),
    ]
    return Supervisor(specs, shutdown_timeout_s).run()


def check_port_free(host: str, port: int) -> None:
    """Raise UsageError when host:port cannot be listened on (gunicorn would only retry and log)."""
    from wikitop.web.server import PortInUseError
    from wikitop.web.server import check_port_free as probe

    try:
        probe(host, port)
    except PortInUseError as exc:
        raise UsageError(f"{exc} (try another --port)") from None


def api_child(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the API server (gunicorn) in this process."""
    from wikitop.web.server import run_api

    run_api(settings, host, port, workers)


def worker_child(settings: Settings, concurrency: int) -> None:
    """Run a queue worker in this process."""
    from wikitop.queue.worker import run_worker

    raise SystemExit(run_worker(settings, concurrency))


def _child_main(target: Callable[..., Any], args: tuple[Any, ...], parent_pid: int) -> None:
    """Start a child: own session (Ctrl-C goes to the supervisor only), then watch the parent, then run."""
    os.setsid()
    threading.Thread(target=_stop_when_orphaned, args=(parent_pid,), daemon=True).start()
    target(*args)


def _stop_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


class Child:
    """One supervised child process."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.process: multiprocessing.process.BaseProcess | None = None
        self.started_at = 0.0
        self.restarts: deque[float] = deque(maxlen=MAX_RESTARTS)

    def start(self) -> None:
        """Start the child in a fresh interpreter (nothing of this process's state crosses a fork)."""
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=_child_main, args=(self.spec.target, self.spec.args, os.getpid()), name=self.spec.name
        )
        self.process.start()
        self.started_at = time.monotonic()
        log.info("started %s (pid %s)", self.spec.name, self.process.pid)

    @property
    def alive(self) -> bool:
        """Tell whether the child process is running."""
        return self.process is not None and self.process.is_alive()

    def signal(self, signum: int) -> None:
        """Send `signum` to the child (SIGTERM: stop cleanly)."""
        if self.alive and self.process is not None and self.process.pid:
            os.kill(self.process.pid, signum)

    def kill_group(self) -> None:
        """SIGKILL the child and every process it started (its session's process group)."""
        if self.process is None or not self.process.pid:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.join(5)


class Supervisor:
    """Keeps the children running until SIGTERM or SIGINT, then stops them all."""

    def __init__(self, specs: list[ChildSpec], shutdown_timeout_s: float) -> None:
        self._children = [Child(spec) for spec in specs]
        self._shutdown_timeout_s = shutdown_timeout_s
        self._stop_requests = 0
        self._exit_code = 0

    def run(self) -> int:
        """Run until asked to stop or a child fails at start; return the exit code."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self._children:
                child.start()
            while not self._stop_requests:
                self._check_children()
                time.sleep(_POLL_S)
            self._stop_children()
        finally:
            for child in self._children:
                child.kill_group()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self._exit_code

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop_requests += 1
        if self._stop_requests == 1:
            log.info("%s: stopping (again to kill at once)", signal.Signals(signum).name)

    def _check_children(self) -> None:
        for child in self._children:
            if not child.alive and not self._stop_requests:
                self._restart(child)

    def _restart(self, child: Child) -> None:
        """Start a child that died again, unless it died at start or keeps dying: then stop all."""
        code = child.process.exitcode if child.process else None
        now = time.monotonic()
        uptime_s = now - child.started_at
        if uptime_s < MIN_UPTIME_S or (
            len(child.restarts) == MAX_RESTARTS and now - child.restarts[0] < RESTART_WINDOW_S
        ):
            log.error(
                "%s exited with code %s %.1f s after starting: stopping", child.spec.name, code, uptime_s
            )
            self._exit_code = 1
            self._stop_requests = 1
            return
        log.warning("%s exited with code %s: starting it again", child.spec.name, code)
        child.restarts.append(now)
        child.kill_group()
        child.start()

    def _stop_children(self) -> None:
        for child in self._children:
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + self._shutdown_timeout_s
        while any(child.alive for child in self._children):
            if time.monotonic() > deadline or self._stop_requests > 1:
                names = ", ".join(child.spec.name for child in self._children if child.alive)
                log.warning("killing %s (shutdown timeout or second signal)", names)
                break
            time.sleep(_POLL_S)
        log.info("stopped")
