"""Skip a test for want of a server or tool, saying what; fail instead in CI, which must provide it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from wikitop.ranking import native


def missing(message: str, required_by: str) -> NoReturn:
    """Skip a test for want of something, saying what; fail instead when CI sets `required_by` to 1."""
    if os.environ.get(required_by) == "1":
        pytest.fail(f"{message} ({required_by}=1: CI must provide it)")
    pytest.skip(message)


def server_unavailable(what: str, url: str, reason: str) -> NoReturn:
    """Skip a test that needs a server, with the reason; fail instead in CI, where servers must exist."""
    missing(f"{what} not reachable at {url}: {reason}", "WIKITOP_TEST_REQUIRE_SERVERS")


def require_native_engine() -> None:
    """Skip a test of the C engine when it is not built; fail instead in CI, which must build it."""
    if not native.AVAILABLE:
        message = "wikitop._native is not built (no C compiler when wikitop was installed)"
        missing(message, "WIKITOP_TEST_REQUIRE_NATIVE")


def browser_unavailable(reason: str) -> NoReturn:
    """Skip a test that drives a real browser, with the reason; fail instead in CI, which must provide it."""
    missing(f"no browser for the dashboard's tests: {reason}", "WIKITOP_TEST_REQUIRE_BROWSER")
