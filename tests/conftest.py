"""Shared fixtures: a local dump mirror, a fresh data dir, and the `wikitop` command run in-process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import pytest
from click.testing import CliRunner, Result

from wikitop.cli import main
from wikitop.hours import dump_path, parse_hour
from wikitop.ranking import native
from wikitop.testing.dumpgen import DumpSpec, write_dump

SHARED_DATA = Path(
    os.environ.get("WIKITOP_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


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


@pytest.fixture(params=["native", "arrow"])
def engine(request: pytest.FixtureRequest) -> str:
    """Each ranking engine in turn; both must give the oracle's answer."""
    if request.param == "native":
        require_native_engine()
    return str(request.param)


@dataclass
class Workspace:
    """A temporary data dir, a local dump mirror and the settings environment that points at them."""

    root: Path
    env: dict[str, str]

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def add_dump(
        self, hour: str | datetime, spec: DumpSpec | None = None, lines: list[str] | None = None
    ) -> Path:
        """Write the dump of `hour` into the mirror, generated from `spec` or from literal lines."""
        moment = parse_hour(hour) if isinstance(hour, str) else hour
        path = self.mirror / dump_path(moment)
        if lines is not None:
            import gzip

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
            return path
        return write_dump(path, spec or DumpSpec(lines=2_000, domains=20, seed=moment.hour))

    def result(self, hour: str) -> Path:
        moment = parse_hour(hour)
        return self.data_dir / "reports" / moment.strftime("%Y/%Y-%m/top-%Y%m%d-%H.csv")

    def run(self, *args: str, **env: str) -> Result:
        """Run `wikitop ARGS` in-process with this workspace's settings (plus overrides)."""
        return CliRunner().invoke(main, list(args), env={**self.env, **env}, catch_exceptions=False)


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
    }
    yield Workspace(tmp_path, env)


ReadCsv = Callable[[Path], list[tuple[str, int, str, int]]]
