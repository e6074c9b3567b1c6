"""run_api: serve the API with gunicorn (gthread workers) in the foreground."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from wikitop.services import build_services
from wikitop.settings import Settings

# A request spends most of its time in Python, so more threads than this per worker only add
# GIL contention; they are there to overlap the short waits on SQLite, PostgreSQL and the broker.
THREADS_PER_WORKER = 4
# Seconds an idle keep-alive connection stays open: clients that poll reuse their connection.
KEEPALIVE_S = 15


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

        return create_app(self._settings)


def run_api(
    settings: Settings, host: str = "127.0.0.1", port: int = 8080, workers: int | None = None
) -> None:
    """Serve the API on host:port with `workers` processes (default: one per CPU core) until stopped."""
    # Open the backends once before forking: the state schema is upgraded by one process, and a
    # bad setting fails here with its message instead of as a worker that cannot boot.
    build_services(settings).close()
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [address],
        "workers": workers or os.cpu_count() or 2,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "keepalive": KEEPALIVE_S,
        "proc_name": "wikitop-api",
        "accesslog": None,
        "errorlog": "-",
    }
    _ApiServer(settings, options).run()
