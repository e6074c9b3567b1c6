"""What every entry point shares: warming the backends up before serving, and asking for hours."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from wikitop.errors import ConfigError
from wikitop.hours import hour_range
from wikitop.queue import Lane
from wikitop.queue.hour_queue import BrokerUnavailableError
from wikitop.services import ask_hours, warm_up
from wikitop.settings import Settings, load_settings
from wikitop.state import Provenance, TaskStatus, open_state_store

PROVENANCE = Provenance("ab" * 32, 25, 1, 1, 0, 1, 0.1)

UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing answers there


@pytest.fixture(autouse=True)
def _clean(clean_environment: None) -> None:
    """Settings here come from a clean environment (conftest's clean_environment)."""


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "dumps_url": str(tmp_path), "blacklist_url": ""}
    return load_settings(**(values | overrides))


def test_warm_up_creates_the_state_schema_and_the_embedded_queue(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    warm_up(settings)

    state = open_state_store(settings.resolved_state_url)
    try:
        assert state.get("2020010115") is None  # the tasks table exists
    finally:
        state.close()
    # What `wikitop api` and `wikitop worker` now do before their processes race to, as serve did.
    with sqlite3.connect(settings.data_dir / "queue.sqlite3") as queue:
        names = {name for (name,) in queue.execute("SELECT name FROM kombu_queue")}
    assert names == {lane.value for lane in Lane}  # both lanes, before any worker consumes them


def test_warm_up_checks_a_remote_broker_only_when_required(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, broker_url=UNREACHABLE_REDIS)

    warm_up(settings)  # the API and a worker may start before their broker

    with pytest.raises(BrokerUnavailableError, match="cannot reach the queue"):
        warm_up(settings, require_broker=True)


def test_warm_up_names_a_bad_state_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="state URL 'nosuchscheme://x' is not supported"):
        warm_up(make_settings(tmp_path, state_url="nosuchscheme://x"))


def test_ask_hours_dispatches_new_and_rearmed_hours_and_done_ones_when_forced(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    state = open_state_store(settings.resolved_state_url)
    hours = hour_range("2020010115", "2020010117", settings.max_range_hours)
    try:
        first = ask_hours(state, hours, settings.max_tries, force=False)
        assert first.hours == first.to_dispatch == ["2020010115", "2020010116", "2020010117"]

        assert ask_hours(state, hours, settings.max_tries, force=False).to_dispatch == []

        state.claim("2020010116", "w", 60, settings.max_tries)
        state.finish_failure("2020010116", "w", TaskStatus.FAILED, "gone")
        assert ask_hours(state, hours, settings.max_tries, force=False).to_dispatch == ["2020010116"]

        # Forced: the hours with a result are recomputed; queued and running ones are on their way.
        state.claim("2020010115", "w", 60, settings.max_tries)
        state.finish_success("2020010115", "w", "reports/x.csv", PROVENANCE)
        state.claim("2020010117", "w", 60, settings.max_tries)
        assert ask_hours(state, hours, settings.max_tries, force=True).to_dispatch == ["2020010115"]
        assert ask_hours(state, hours, settings.max_tries, force=True).to_dispatch == []
    finally:
        state.close()
