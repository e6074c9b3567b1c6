"""run_api: serve the API with gunicorn (gthread workers that read requests in their event loop) in the foreground."""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger
from gunicorn.http.errors import NoMoreData, ParseException

from wikitop.errors import WikitopError
from wikitop.logs import configure_logging
from wikitop.metrics import mark_process_dead, use_metrics_dir
from wikitop.services import warm_up_waiting
from wikitop.settings import Settings
from wikitop.state.outage import STATE_OUTAGES, describe_outage

log = logging.getLogger(__name__)

# A request spends most of its time in Python, holding the GIL: a second thread overlaps the waits
# on sockets, SQLite, PostgreSQL and the broker; more only add GIL contention (bench/bench_api.py:
# 2 threads served 1,740 requests/s with p99 95 ms, 4 threads 1,470 requests/s with p99 133 ms).
THREADS_PER_WORKER = 2
# Seconds an idle keep-alive connection stays open: clients that poll reuse their connection.
KEEPALIVE_S = 15
# One listening socket per worker (SO_REUSEPORT): the kernel spreads connections evenly over the
# workers, where a shared socket lets whichever worker wakes first take most of a burst of clients.
REUSE_PORT = True


class PortInUseError(WikitopError):
    """Another process listens on the API's address."""


class _RootLogger(GunicornLogger):  # type: ignore[misc]
    """gunicorn's logger, sending its lines to the root handler (WIKITOP_LOG_FORMAT) instead of its own."""

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's loggers up, then drop its handlers: its records propagate to ours."""
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers[:] = []
            logger.propagate = True

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Log like gunicorn, less its "Listening at:" line, empty with SO_REUSEPORT (run_api logs the address)."""
        if not msg.startswith("Listening at:"):
            super().info(msg, *args, **kwargs)


class _ApiServer(BaseApplication):  # type: ignore[misc]
    """A gunicorn application that builds one app per worker process, after the fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our options to gunicorn's configuration."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the app in the worker: connections and pools must not cross a fork."""
        from wikitop.web.app import create_app

        # A worker replaced while the database is down must not fail to boot: gunicorn would stop
        # the whole API. It waits instead (its arbiter replaces it if it waits past the timeout).
        for wait_s in (1.0, 2.0, 4.0, 8.0):
            try:
                app = create_app(self._settings)
                break
            except STATE_OUTAGES as exc:
                log.warning("API process waits for the task-state database: %s", describe_outage(exc))
                time.sleep(wait_s)
        else:
            app = create_app(self._settings)
        app.register_error_handler(ParseException, _unreadable_body)
        app.register_error_handler(NoMoreData, _unreadable_body)
        # The modules and the app are never freed: moving them out of the collector's reach turns
        # the full collections that paused a worker for hundreds of milliseconds into short ones.
        gc.freeze()
        return app


def _unreadable_body(error: Exception) -> tuple[dict[str, str], int]:
    """A body that gunicorn cannot read (broken chunked encoding, cut short): 400, not a crash's 500."""
    # Raised while the app reads the body, so the app's handlers see it, not gunicorn's own 400.
    # gunicorn then closes the connection: it cannot find where the next request would start.
    reason = str(error) or type(error).__name__
    return {
        "message": f"cannot read the request body: {reason}; send a Content-Length or a valid chunked body"
    }, 400


def run_api(
    settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int | None = None
) -> None:
    """Serve the API on host:port with `workers` processes (default: one per CPU core) until stopped."""
    # Warmed up before forking: a bad setting fails here with its message instead of as a worker
    # that cannot boot; a database that is down is waited for (services.warm_up_waiting).
    configure_logging(settings.log_level, settings.log_format)
    use_metrics_dir(Path(settings.data_dir) / "metrics" / f"api-{os.getpid()}")
    warm_up_waiting(settings)
    check_port_free(host, port)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [address],
        "workers": workers or os.cpu_count() or 2,
        # gthread, less its weak spot: idle and slow clients wait in the event loop, not in a thread.
        "worker_class": "wikitop.web.worker.RequestReadingWorker",
        "threads": THREADS_PER_WORKER,
        "keepalive": KEEPALIVE_S,
        "reuse_port": REUSE_PORT,
        "proc_name": "wikitop-api",
        # gunicorn's control socket is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl) that every
        # instance would share; wikitop is managed by signals and its own commands, not gunicornc.
        "control_socket_disable": True,
        "accesslog": None,
        "logger_class": _RootLogger,
        "loglevel": settings.log_level.lower(),
        "child_exit": lambda server, worker: mark_process_dead(worker.pid),
    }
    # gunicorn's own "Listening at:" line is empty with SO_REUSEPORT: the workers bind, not it.
    log.info("API listening on http://%s (%d worker processes)", address, options["workers"])
    _ApiServer(settings, options).run()


def check_port_free(host: str, port: int) -> None:
    """Fail at once, with the address, if something listens there already.

    With SO_REUSEPORT each worker binds for itself: without this check a taken port surfaces as
    workers that retry and die, and a second `wikitop api` would silently share the port.
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise PortInUseError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
