"""Logging: JSON lines (python-json-logger) or plain text, each record carrying its hour and task id."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_context: ContextVar[dict[str, str]] = ContextVar("wikitop_log_context", default={})  # noqa: B039
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(context)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Add `fields` (e.g. hour="2020010115", task_id="...") to every record logged inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class _ContextFilter(logging.Filter):
    """Copies the current log context onto each record (as attributes, and as text for plain logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get()
        for name, value in fields.items():
            setattr(record, name, value)
        record.context = "".join(f" {name}={value}" for name, value in fields.items())
        return True


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send the process's logs to stderr, as JSON lines (`fmt="json"`) or text, with the context."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(_JSON_FIELDS, reserved_attrs=[*_RESERVED, "context"]))
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Python's and the libraries' warnings (Celery's "running as root") become records of this format.
    logging.captureWarnings(True)
    # celery.app.trace's "Task ... succeeded in 0.01s: 'failed'" repeats the hour's own line (see
    # pipeline) and reads as a success for a failed hour; its errors are WARNING and still logged.
    for noisy in ("alembic", "httpx", "httpcore", "celery.app.trace"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


_RESERVED = [
    "args", "created", "exc_info", "exc_text", "filename", "funcName", "levelno", "lineno", "module",
    "msecs", "msg", "pathname", "processName", "relativeCreated", "stack_info", "thread",
    "threadName", "taskName",
]  # fmt: skip
