"""Shared fixtures: a local dump mirror, a fresh data dir, and the `wikitop` command run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.requirements import require_native_engine
from support.workspace import Workspace


@pytest.fixture(params=["native", "arrow"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each ranking engine in turn; both must give the oracle's answer."""
    if request.param == "native":
        require_native_engine()
    return str(request.param)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's WIKITOP_* variables and .env file out of the settings built here.

    WIKITOP_TEST_* variables stay: they are not settings, and WIKITOP_TEST_REQUIRE_* must still
    turn a missing server or tool into a failure in CI.
    """
    for name in list(os.environ):
        if name.startswith("WIKITOP_") and not name.startswith("WIKITOP_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def workspace(tmp_path: Path, clean_environment: None) -> Iterator[Workspace]:
    blacklist = tmp_path / "blacklist.txt"
    blacklist.write_text("")
    env = {
        "WIKITOP_DATA_DIR": str(tmp_path / "data"),
        "WIKITOP_DUMPS_URL": str(tmp_path / "mirror"),
        "WIKITOP_BLACKLIST_URL": str(blacklist),
        "WIKITOP_HTTP_BACKOFF_S": "0.01",
        "WIKITOP_RETRY_BACKOFF_S": "0.01",
    }
    yield Workspace(tmp_path, env)


ReadCsv = Callable[[Path], list[tuple[str, int, str, int]]]
