"""CeleryHourQueue: the HourQueue that publishes Celery tasks to the settings' broker."""

from __future__ import annotations

import sqlite3
import threading

from celery import Celery
from kombu.exceptions import OperationalError

from wikitop.errors import WikitopError
from wikitop.queue import Lane
from wikitop.queue.app import (
    QUEUE_NAMES,
    SQLITE_BUSY_TIMEOUT_S,
    TASK_NAME,
    describe_broker,
    embedded_queue_path,
    make_app,
)
from wikitop.settings import Settings


class BrokerUnavailableError(WikitopError):
    """The task queue's broker cannot be reached."""


class CeleryHourQueue:
    """Publishes `wikitop.compute_hour` tasks to the settings' broker; connects on first use."""

    def __init__(self, settings: Settings, app: Celery | None = None) -> None:
        self._settings = settings
        self._app = app
        self._lock = threading.Lock()
        self.broker = describe_broker(settings.resolved_broker_url)

    @property
    def app(self) -> Celery:
        """The Celery app, created on first use."""
        with self._lock:
            if self._app is None:
                self._app = make_app(self._settings)
            return self._app

    def submit(
        self, hour: str, force: bool = False, countdown_s: float = 0.0, lane: Lane = Lane.INTERACTIVE
    ) -> None:
        """Publish one compute task for `hour` (YYYYMMDDHH) to `lane`, to run no sooner than `countdown_s`."""
        try:
            # The default (nameless) exchange routes by queue name alone, so a publish never depends
            # on exchange bindings stored in the broker (a flushed Redis forgets them).
            self.app.send_task(
                TASK_NAME,
                args=(hour, force),
                countdown=countdown_s if countdown_s > 0 else None,
                queue=lane.value,
                exchange="",
                routing_key=lane.value,
            )
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailableError(f"cannot publish hour {hour} to {self.broker}: {exc}") from exc

    def depth(self) -> int | None:
        """Return how many messages wait in both lanes (not those a worker already holds)."""
        count = 0
        try:
            with self.app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1)
                for name in QUEUE_NAMES:
                    _, waiting, _ = connection.default_channel.queue_declare(
                        queue=name, durable=True, auto_delete=False
                    )
                    count += int(waiting)
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailableError(f"cannot reach the queue at {self.broker}: {exc}") from exc
        return count

    def ping(self) -> None:
        """Raise BrokerUnavailableError if the broker cannot be reached."""
        self.depth()

    def prune_delivered(self) -> int:
        """Delete the messages the embedded queue already delivered; return how many."""
        # kombu's SQL transport marks a delivered message invisible and never deletes it (in every
        # lane: the statement names no queue, so both lanes are pruned). Deleting
        # it is safe at any time: acknowledging is done in memory, and a message handed back is
        # written again from memory.
        path = embedded_queue_path(self._settings.resolved_broker_url)
        if path is None or not path.exists():
            return 0
        connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
        try:
            with connection:
                return connection.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise BrokerUnavailableError(f"cannot prune the queue at {self.broker}: {exc}") from exc
        finally:
            connection.close()

    def close(self) -> None:
        """Release the broker connections."""
        with self._lock:
            if self._app is not None:
                self._app.close()
