"""`wikitop serve`: the whole service on one machine, the API and a queue worker as child processes.

Each child runs in its own session, so a terminal's Ctrl-C reaches only this supervisor, which
then stops the children in order: SIGTERM (the API drains its requests, the worker finishes its
hours), and SIGKILL to each child's whole process group after the shutdown timeout or on a second
Ctrl-C. A child that dies is started again after a delay that doubles with each death in a row,
while the other child goes on (the API keeps answering while the worker is down, and its /readyz
says so); only a child that exits by itself right after its first start (a bad setting) stops the
whole service. If this supervisor is killed, the children notice their parent is gone and stop.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from wikitop.errors import UsageError
from wikitop.heartbeats import heartbeat_file
from wikitop.logs import configure_logging
from wikitop.services import warm_up
from wikitop.settings import Settings, mask_url_password

log = logging.getLogger(__name__)

# A child that exits by itself this soon after its first start is broken (a bad setting), not
# unlucky: restarting it would only loop, so the whole service stops with its message.
MIN_UPTIME_S = 10.0
# Any other death (the out-of-memory killer, an operator's SIGKILL, a crash) is restarted after a
# delay doubling with each death in a row, as Kubernetes' CrashLoopBackOff does, and never given
# up on: the API must outlive a worker that the kernel kills over and over. A child that stayed
# up STABLE_UPTIME_S starts over from the first delay.
FIRST_RESTART_DELAY_S = 0.5
MAX_RESTART_DELAY_S = 60.0
STABLE_UPTIME_S = 300.0
# A second stop signal kills at once, as a second Ctrl-C does in Docker Compose; one this close
# after the first is the same request delivered twice: `make run` passes on the SIGTERM that its
# whole process group (this process included) received, and a terminal's Ctrl-C reaches both too.
SAME_REQUEST_S = 1.0
_POLL_S = 0.2


@dataclass(frozen=True)
class ChildSpec:
    """A child process to keep running: its name and the function (with arguments) it runs."""

    name: str
    target: Callable[..., Any]
    args: tuple[Any, ...]
    # Called with the pid of a child that died, in this process (e.g. to remove its heartbeat file).
    on_death: Callable[[int], None] | None = None


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
        "API on http://%s:%d (docs at /docs); %d worker process(es); queue %s; state %s; results %s; %s",
        f"[{host}]" if ":" in host else host,
        port,
        workers,
        mask_url_password(describe_broker(settings.resolved_broker_url)),
        mask_url_password(describe_broker(settings.resolved_state_url)),
        mask_url_password(settings.resolved_results_url),
        # The worker child gets these settings: --follow reaches its reconciler through them.
        f"following every hour since {settings.follow_since}" if settings.follow else "not following",
    )
    specs = [
        # The worker runs beside the API: /readyz fails while it is down.
        ChildSpec(
            "wikitop-api",
            api_child,
            (settings.model_copy(update={"ready_needs_worker": True}), host, port, api_workers),
        ),
        # One address for the whole service: the worker's /metrics listens where the API does.
        ChildSpec(
            "wikitop-worker",
            worker_child,
            (settings.model_copy(update={"worker_metrics_host": host}), workers),
            on_death=lambda pid: forget_heartbeat(settings.data_dir, pid),
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


def forget_heartbeat(data_dir: Path, pid: int) -> None:
    """Remove the heartbeat file of a dead worker: /readyz then says at once that none runs."""
    heartbeat_file(data_dir, pid).unlink(missing_ok=True)


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
    """One supervised child process, and when to start it again after it died."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.process: multiprocessing.process.BaseProcess | None = None
        self.started_at = 0.0
        self.starts = 0
        self.deaths_in_a_row = 0
        self.restart_at: float | None = None

    def start(self) -> None:
        """Start the child in a fresh interpreter (nothing of this process's state crosses a fork)."""
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=_child_main, args=(self.spec.target, self.spec.args, os.getpid()), name=self.spec.name
        )
        self.process.start()
        self.started_at = time.monotonic()
        self.starts += 1
        self.restart_at = None
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
        self._first_stop_at = float("-inf")
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
        now = time.monotonic()
        if now - self._first_stop_at < SAME_REQUEST_S:
            return
        self._stop_requests += 1
        if self._stop_requests == 1:
            self._first_stop_at = now
            log.info("%s: stopping (again to kill at once)", signal.Signals(signum).name)

    def _check_children(self) -> None:
        for child in self._children:
            if self._stop_requests:
                return
            if child.restart_at is not None:
                if time.monotonic() >= child.restart_at:
                    child.start()
            elif not child.alive:
                self._on_death(child)

    def _on_death(self, child: Child) -> None:
        """Schedule a dead child's restart, or stop all if it exited by itself right after its first start."""
        assert child.process is not None and child.process.pid
        code, pid = child.process.exitcode, child.process.pid
        now = time.monotonic()
        uptime_s = now - child.started_at
        child.kill_group()  # what it left behind (a Celery worker's pool processes)
        if child.spec.on_death is not None:
            child.spec.on_death(pid)
        # A negative code is a signal: something outside killed it, which says nothing of its settings.
        if child.starts == 1 and code is not None and code >= 0 and uptime_s < MIN_UPTIME_S:
            log.error(
                "%s exited with code %s %.1f s after starting: stopping", child.spec.name, code, uptime_s
            )
            self._exit_code = 1
            self._stop_requests = 1
            return
        child.deaths_in_a_row = 1 if uptime_s >= STABLE_UPTIME_S else child.deaths_in_a_row + 1
        delay_s = min(MAX_RESTART_DELAY_S, FIRST_RESTART_DELAY_S * 2 ** (child.deaths_in_a_row - 1))
        child.restart_at = now + delay_s
        log.warning(
            "%s exited with code %s: starting it again in %.1f s (%d death(s) in a row, up %.1f s)",
            child.spec.name,
            code,
            delay_s,
            child.deaths_in_a_row,
            uptime_s,
        )

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
