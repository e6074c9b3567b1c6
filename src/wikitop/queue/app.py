"""The Celery app: the broker named by the settings and the options that make delivery reliable."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from celery import Celery
from kombu.entity import Exchange, Queue
from kombu.utils.url import maybe_sanitize_url

from wikitop.queue import Lane
from wikitop.settings import Settings

TASK_NAME = "wikitop.compute_hour"
# The queues a worker consumes, in turn: kombu's virtual transports (the embedded SQL one and Redis)
# take one message from each non-empty queue in round-robin, so neither lane waits for the other.
QUEUE_NAMES: tuple[str, ...] = tuple(lane.value for lane in Lane)
QUEUE_NAME = Lane.INTERACTIVE.value  # the default queue, the single one of earlier versions
# Redis hands a message that was delivered but never acknowledged (its worker died) to another
# worker after this long. A task running longer gets a duplicate, which finds the hour claimed
# (BUSY) and is dropped, so the timeout only bounds how soon a lost message comes back.
REDIS_VISIBILITY_TIMEOUT_S = 300
# A worker process is replaced after this many hours, which hands its memory back to the system.
MAX_TASKS_PER_CHILD = 50
# A publisher waits this long for SQLite's write lock on the embedded queue.
SQLITE_BUSY_TIMEOUT_S = 30
_PREPARE_TRIES = 5


def is_redis(url: str) -> bool:
    """Tell whether a broker URL names Redis."""
    return url.startswith(("redis://", "rediss://", "redis+socket://"))


def embedded_queue_path(url: str) -> Path | None:
    """Return the SQLite file of the embedded queue (`sqla+sqlite:///path`), or None for other brokers."""
    prefix = "sqla+sqlite:///"
    return Path(url.removeprefix(prefix)) if url.startswith(prefix) else None


def describe_broker(url: str) -> str:
    """Return the broker URL without its password, for logs."""
    return str(maybe_sanitize_url(url))


def celery_config(settings: Settings) -> dict[str, Any]:
    """Return the Celery configuration for the settings' broker."""
    url = settings.resolved_broker_url
    return {
        "broker_url": url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 5,
        "broker_transport_options": _transport_options(url),
        "task_default_queue": QUEUE_NAME,
        # A worker consumes every queue listed here (kombu's entities are untyped).
        "task_queues": [
            Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]
            for name in QUEUE_NAMES
        ],
        "task_serializer": "json",
        "accept_content": ["json"],
        # A message is acknowledged only once its hour is done, and handed back when the process
        # running it dies: a crash loses no work the broker knows about.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # The task state lives in our state store: no result backend.
        "task_ignore_result": True,
        "task_time_limit": settings.task_time_limit_s,
        "task_publish_retry_policy": {
            "max_retries": 3,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 2,
        },
        # One hour at a time per process: a long hour does not hold other hours behind it.
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": MAX_TASKS_PER_CHILD,
        "worker_send_task_events": False,
        # Remote control needs broadcast, which the SQL transport only fakes by polling more tables.
        "worker_enable_remote_control": is_redis(url),
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }


def _transport_options(url: str) -> dict[str, Any]:
    if is_redis(url):
        return {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT_S, "socket_connect_timeout": 5}
    if embedded_queue_path(url) is not None:
        # kombu passes these to SQLAlchemy's create_engine.
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {}


def make_app(settings: Settings) -> Celery:
    """Create the Celery app of the settings' broker (tasks are registered by wikitop.queue.tasks)."""
    app = Celery("wikitop", set_as_current=False)
    app.conf.update(celery_config(settings))
    path = embedded_queue_path(settings.resolved_broker_url)
    if path is not None:
        prepare_embedded_queue(app, path)
    return app


def prepare_embedded_queue(app: Celery, path: Path) -> None:
    """Create the embedded queue's database, in WAL mode, with kombu's tables and the lanes' rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the API publish while workers poll; the mode is stored in the file, so every
    # connection kombu opens later uses it.
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()
    # kombu's SQL transport creates its tables and the queue's row on first use, and of two
    # processes doing it at once on a new file one fails (UNIQUE constraint, table exists): do it
    # here, where a second try finds them made.
    for attempt in range(1, _PREPARE_TRIES + 1):
        try:
            with app.connection_for_write() as broker:
                for name in QUEUE_NAMES:
                    broker.default_channel.queue_declare(queue=name, durable=True, auto_delete=False)
            return
        except sqlalchemy.exc.DatabaseError:
            if attempt == _PREPARE_TRIES:
                raise
            time.sleep(0.1 * attempt)
