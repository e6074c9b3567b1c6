"""`wikitop top HOUR`: a computed hour's rows of one domain code, as a table or JSON, and its errors."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable

import pytest

from support.workspace import Workspace

HOUR = "2020010115"
# en: 12 pages (one with a comma and an accent, one blacklisted-free tie), de: 3, en.m: 2.
LINES = [
    *(f"en Page_{index:02d} {1_000 - index * 10} 0" for index in range(11)),
    "en Café,_au_lait 1500000 0",
    "de Hauptseite 900 0",
    "de Berlin 800 0",
    "de %C3%9Cber 700 0",
    "en.m Main_Page 5000 0",
    "en.m Special:Search 4000 0",
]


def csv_rows(workspace: Workspace, domain: str) -> list[dict[str, str]]:
    """The hour's result file, as written by `wikitop run`, filtered to one domain code."""
    with workspace.result(HOUR).open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle) if row["domain_code"] == domain]


def computed(workspace: Workspace) -> Workspace:
    workspace.add_dump(HOUR, lines=LINES)
    assert workspace.run("run", HOUR).exit_code == 0
    return workspace


def test_top_shows_the_first_rows_of_en_by_default_as_a_table(workspace: Workspace) -> None:
    result = computed(workspace).run("top", HOUR)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"en, hour {HOUR}: top 10"
    assert lines[1].split() == ["rank", "views", "page_title"]
    shown = [line.split(maxsplit=2) for line in lines[2:]]
    expected = csv_rows(workspace, "en")[:10]
    assert [(rank, views.replace(",", ""), title) for rank, views, title in shown] == [
        (row["rank"], row["views"], row["page_title"]) for row in expected
    ]
    assert shown[0] == ["1", "1,500,000", "Café,_au_lait"]
    assert shown[-1][0] == "10"


def test_top_json_has_the_csv_columns_and_values(workspace: Workspace) -> None:
    result = computed(workspace).run("top", HOUR, "--domain", "de", "--limit", "2", "--json")

    assert result.exit_code == 0, result.output
    expected = [
        {**row, "rank": int(row["rank"]), "views": int(row["views"])} for row in csv_rows(workspace, "de")[:2]
    ]
    assert json.loads(result.stdout) == expected
    assert [row["page_title"] for row in expected] == ["Hauptseite", "Berlin"]
    assert list(expected[0]) == ["domain_code", "rank", "page_title", "views"]


def test_a_limit_above_the_rows_shows_them_all_and_iso_hours_work(workspace: Workspace) -> None:
    result = computed(workspace).run("top", "2020-01-01T15:00Z", "--domain", "en.m", "--limit", "50")

    assert result.exit_code == 0, result.output
    assert [line.split()[-1] for line in result.stdout.splitlines()[2:]] == ["Main_Page", "Special:Search"]


def test_an_hour_never_computed_exits_1_saying_how_to_compute_it(workspace: Workspace) -> None:
    result = workspace.run("top", HOUR)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: hour {HOUR} has no result: it was never computed; compute it with `wikitop run {HOUR}`\n"
    )


def test_an_unavailable_hour_exits_1_with_its_state(workspace: Workspace) -> None:
    workspace.mirror.mkdir(parents=True)
    assert workspace.run("run", HOUR).exit_code == 1

    result = workspace.run("top", HOUR)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: hour {HOUR} has no result: its status is unavailable (")
    assert result.stderr.endswith(f"; compute it with `wikitop run {HOUR}`\n")
    assert len(result.stderr.splitlines()) == 1


def test_a_lost_result_file_asks_for_a_forced_run(workspace: Workspace) -> None:
    computed(workspace).result(HOUR).unlink()

    result = workspace.run("top", HOUR)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: hour {HOUR} has a recorded result but its file is missing; "
        f"compute it with `wikitop run {HOUR} --force`\n"
    )


def test_an_unknown_domain_code_exits_2_suggesting_close_ones(workspace: Workspace) -> None:
    result = computed(workspace).run("top", HOUR, "--domain", "en.n")

    assert result.exit_code == 2
    assert (
        result.stderr == f"Error: domain code 'en.n' has no pages in hour {HOUR} (did you mean en.m, en?)\n"
    )

    far = workspace.run("top", HOUR, "--domain", "zz.wikivoyage")
    assert far.exit_code == 2
    assert "none of its 3 domain codes is close" in far.stderr


def test_a_malformed_or_future_hour_exits_2_naming_the_expected_form(workspace: Workspace) -> None:
    malformed = workspace.run("top", "2020-13-01T15")
    assert malformed.exit_code == 2
    assert malformed.stderr.startswith("Error: invalid hour '2020-13-01T15': month must be in 1..12")
    assert "YYYYMMDDHH" in malformed.stderr

    future = workspace.run("top", "2999010100")
    assert future.exit_code == 2
    assert "is in the future" in future.stderr


def test_limit_must_be_positive(workspace: Workspace) -> None:
    result = workspace.run("top", HOUR, "--limit", "0")
    assert result.exit_code == 2
    assert "--limit" in result.stderr


def test_a_damaged_result_file_asks_for_a_forced_run(workspace: Workspace) -> None:
    computed(workspace).result(HOUR).write_text('garbage,"\n')

    result = workspace.run("top", HOUR)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: hour {HOUR} has a recorded result but its file is damaged (not a result file: its "
        "header is 'garbage,\"', expected 'domain_code,rank,page_title,views'); "
        f"compute it with `wikitop run {HOUR} --force`\n"
    )


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda good: good[: good.rindex(b"\n", 0, len(good) - 1) + 5], "cut short"),
        (lambda good: good + b"aa,1,Main_Page,notanumber\n", "invalid literal for int()"),
        (lambda good: good + b"aa,1\n", "not enough values to unpack"),
    ],
    ids=["cut-short", "bad-number", "short-row"],
)
def test_a_result_file_with_damaged_rows_asks_for_a_forced_run(
    workspace: Workspace, damage: Callable[[bytes], bytes], reason: str
) -> None:
    path = computed(workspace).result(HOUR)
    path.write_bytes(damage(path.read_bytes()))

    result = workspace.run("top", HOUR)

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: hour {HOUR} has a recorded result but its file is damaged (")
    assert reason in line and line.endswith(f"compute it with `wikitop run {HOUR} --force`")
