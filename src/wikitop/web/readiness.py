"""/readyz's checks of the API's dependencies: which one failed and a short reason, never its URL, host or user."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Iterator

from wikitop.settings import mask_url_password

log = logging.getLogger(__name__)

# What /readyz calls each dependency.
DEPENDENCIES = {"state": "state store", "queue": "queue broker", "results": "results storage"}


def probe_dependency(name: str, probe: Callable[[], None]) -> str:
    """Run one dependency's probe: "ok", or the dependency and a reason without URL, host or user."""
    try:
        probe()
    except Exception as exc:
        # The driver's own message (host, port, user) goes to the log only: /readyz is public.
        log.warning(
            "readiness: the %s failed: %s: %s",
            DEPENDENCIES[name],
            type(exc).__name__,
            mask_url_password(str(exc)),
        )
        return f"{DEPENDENCIES[name]} unavailable: {failure_reason(exc)}"
    return "ok"


_REASONS = (
    (("refused",), "connection refused"),
    (("timed out", "timeout"), "timeout"),
    (
        ("authentication", "access denied", "not authorized", "invalidaccesskey", "signature"),
        "authentication failed",
    ),
    (
        ("name or service not known", "could not translate host", "name resolution", "nodename nor servname"),
        "host name not resolved",
    ),
    (("no space left",), "disk full"),
    (("read-only file system", "permission denied", "forbidden"), "permission denied"),
    (("does not exist", "no such", "not found", "nosuchbucket"), "not found"),
)


def failure_reason(exc: BaseException) -> str:
    """Classify an error as a short reason ("connection refused", "timeout"...) that names no host or user."""
    chain = list(_causes(exc))
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, TimeoutError | socket.timeout):
            return "timeout"
        if isinstance(cause, socket.gaierror):
            return "host name not resolved"
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return "disk full"
        if isinstance(cause, PermissionError):
            return "permission denied"
    text = " ".join(str(cause) for cause in chain).lower()
    for words, reason in _REASONS:
        if any(word in text for word in words):
            return reason
    if any(isinstance(cause, ConnectionError) for cause in chain):
        return "connection failed"
    return f"error ({type(exc).__name__})"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The error, what caused it, and a DBAPI error wrapped by SQLAlchemy (`orig`), without loops."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cause = todo.pop(0)
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        orig = getattr(cause, "orig", None)
        todo += [cause.__cause__, cause.__context__, orig if isinstance(orig, BaseException) else None]
