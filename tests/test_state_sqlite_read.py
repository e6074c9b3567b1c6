"""The standard-library SQLite reader: the same TaskStates as the SQLAlchemy store, or no answer at all."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from wikitop.state import Provenance, StateStore, TaskStatus, open_state_store, read_states
from wikitop.state.migrations import VERSION_TABLE
from wikitop.state.sqlite_read import read_sqlite_states

PROVENANCE = Provenance(
    blacklist_sha256="cd" * 32,
    top_n=25,
    dump_bytes=45_300_000_123,
    lines_read=5_700_000,
    lines_skipped=3,
    rows=37_500,
    duration_s=0.875,
)
QUEUED, RUNNING, SUCCESS, FAILED, UNAVAILABLE, NEVER = (
    "2020010100",
    "2020010101",
    "2020010102",
    "2020010103",
    "2020010104",
    "2020010105",
)


def fill(store: StateStore) -> None:
    """One hour in each status, every column of a row used by at least one of them."""
    store.enqueue([QUEUED, RUNNING, SUCCESS, FAILED, UNAVAILABLE], max_tries=3)
    for hour in (RUNNING, SUCCESS, FAILED, UNAVAILABLE):
        assert store.claim(hour, "host:42", 600.0, 3) is not None
    assert store.finish_success(
        SUCCESS, "host:42", "/data/reports/2020/2020-01/top-20200101-02.csv", PROVENANCE
    )
    assert store.finish_failure(FAILED, "host:42", TaskStatus.FAILED, "try 1/3: truncated gzip at byte 7")
    assert store.finish_failure(UNAVAILABLE, "host:42", TaskStatus.UNAVAILABLE, "HTTP 404: not published yet")


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'data' / 'state.sqlite3'}"
    store = open_state_store(url)
    try:
        fill(store)
    finally:
        store.close()
    return url


def test_reads_the_states_the_sqlalchemy_store_reads(url: str) -> None:
    hours = [QUEUED, RUNNING, SUCCESS, FAILED, UNAVAILABLE, NEVER]
    store = open_state_store(url)
    try:
        expected = store.get_many(hours)
    finally:
        store.close()

    read = read_sqlite_states(url, hours)

    assert read == expected
    assert sorted(read) == [QUEUED, RUNNING, SUCCESS, FAILED, UNAVAILABLE]
    assert {state.status for state in read.values()} == set(TaskStatus)
    running = read[RUNNING]
    assert running.lease_expires_at is not None and running.lease_expires_at.tzinfo is not None
    assert read[SUCCESS].provenance == PROVENANCE


def test_a_missing_file_has_no_states_and_a_read_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "state.sqlite3"
    url = f"sqlite:///{path}"

    assert read_sqlite_states(url, [QUEUED]) == {}
    assert read_states(url, [QUEUED]) == {}
    assert not path.parent.exists()


def test_an_older_schema_is_left_to_the_store_which_upgrades_it(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(f"UPDATE {VERSION_TABLE} SET version_num = '0001'")

    assert read_sqlite_states(url, [SUCCESS]) is None


@pytest.mark.parametrize(
    "other",
    [
        "sqlite:///{path}?timeout=5",
        "sqlite:///{escaped}",
        "postgresql://wikitop@127.0.0.1/wikitop",
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_urls_with_options_escapes_or_other_databases_are_left_to_sqlalchemy(url: str, other: str) -> None:
    path = url.removeprefix("sqlite:///")
    # %61 is "a": SQLAlchemy would decode it to the very same file; this reader does not decode.
    escaped = path.replace("state.sqlite3", "st%61te.sqlite3")
    assert read_sqlite_states(other.format(path=path, escaped=escaped), [SUCCESS]) is None


def test_hours_beyond_one_statement_are_read_in_chunks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    hours = [
        f"2020{month:02d}{day:02d}{hour:02d}"
        for month in (1, 2)
        for day in range(1, 29)
        for hour in range(24)
    ]
    store = open_state_store(url)
    try:
        store.enqueue(hours, max_tries=3)
        expected = store.get_many(hours)
    finally:
        store.close()
    assert len(hours) > 1_000
    assert read_sqlite_states(url, hours) == expected
