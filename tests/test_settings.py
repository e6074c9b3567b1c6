"""Settings: environment, .env and TOML sources, validation messages, and the README table."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from wikitop.errors import ConfigError
from wikitop.settings import Settings, load_settings, mask_url_password

README = Path(__file__).resolve().parents[1] / "README.md"


def test_defaults_live_under_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIKITOP_DATA_DIR", "/srv/wikitop")
    settings = load_settings()
    assert settings.resolved_results_url == "/srv/wikitop/reports"
    assert settings.resolved_state_url == "sqlite:////srv/wikitop/state.sqlite3"
    assert settings.top_n == 25
    assert settings.max_tries == 3
    assert settings.download_concurrency == 2
    assert settings.max_range_hours == 744
    assert settings.user_agent.startswith("wikitop/")


def test_every_default_passes_the_validators_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Settings skips validating its defaults at start-up (validate_default=False): this is where
    # they are validated. Each default is given explicitly, as an environment variable would be.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("WIKITOP_") and not name.startswith("WIKITOP_TEST_"):
            monkeypatch.delenv(name)
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    explicit = load_settings(**defaults)
    assert explicit.model_dump() == load_settings().model_dump() == defaults


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        (
            "WIKITOP_DOWNLOAD_CONCURRENCY",
            "4",
            "WIKITOP_DOWNLOAD_CONCURRENCY: Input should be less than or equal to 3",
        ),
        ("WIKITOP_TOP_N", "zero", "WIKITOP_TOP_N: Input should be a valid integer"),
        ("WIKITOP_ENGINE", "fast", "WIKITOP_ENGINE: Input should be 'auto', 'native' or 'arrow'"),
        ("WIKITOP_MAX_TRIES", "0", "WIKITOP_MAX_TRIES: Input should be greater than or equal to 1"),
        (
            "WIKITOP_DUMPS_URL",
            "htps://dumps.wikimedia.org/other/pageviews",
            "WIKITOP_DUMPS_URL: Value error, unknown protocol htps:// (expected a path, an http(s) URL or",
        ),
        (
            "WIKITOP_RESULTS_URL",
            "s4://bucket/reports",
            "WIKITOP_RESULTS_URL: Value error, unknown protocol s4://",
        ),
        (
            "WIKITOP_BLACKLIST_URL",
            "htps://x/y",
            "WIKITOP_BLACKLIST_URL: Value error, unknown protocol htps://",
        ),
        ("WIKITOP_BROKER_URL", "redi://127.0.0.1:6379/0", "WIKITOP_BROKER_URL: Value error, expected empty"),
        (
            "WIKITOP_BROKER_URL",
            "amqp://guest@localhost//",
            "redis://host:6379/0 (or rediss://, redis+socket://)",
        ),
    ],
)
def test_invalid_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, problem: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert problem in str(caught.value)


def test_sources_priority_env_over_dotenv_over_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "wikitop.toml"
    toml.write_text("top_n = 7\nmax_tries = 9\nmax_range_hours = 10\n")
    (tmp_path / ".env").write_text("WIKITOP_MAX_TRIES=5\nWIKITOP_MAX_RANGE_HOURS=11\n")
    monkeypatch.setenv("WIKITOP_CONFIG", str(toml))
    monkeypatch.setenv("WIKITOP_MAX_RANGE_HOURS", "12")
    settings = load_settings()
    assert (settings.top_n, settings.max_tries, settings.max_range_hours) == (7, 5, 12)


def test_missing_config_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WIKITOP_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"WIKITOP_CONFIG=.*no such file"):
        load_settings()


def test_every_setting_is_in_the_readme_table() -> None:
    table = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(WIKITOP_[A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    expected = {f"WIKITOP_{name.upper()}" for name in Settings.model_fields}
    assert expected - documented == set(), "settings missing from the README table"
    assert documented - expected == set(), "README documents settings that do not exist"


def test_config_command_masks_passwords(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wikitop.cli import main

    monkeypatch.chdir(tmp_path)
    env = {
        "WIKITOP_STATE_URL": "postgresql://wikitop:s3cret@db.example:5432/wikitop",
        "WIKITOP_BROKER_URL": "redis://:hunter2@redis:6379/0",
        "WIKITOP_TOP_N": "10",
    }
    result = CliRunner().invoke(main, ["config"], env=env)
    assert result.exit_code == 0
    assert "WIKITOP_STATE_URL=postgresql://wikitop:***@db.example:5432/wikitop" in result.output
    assert "WIKITOP_BROKER_URL=redis://:***@redis:6379/0" in result.output
    assert "WIKITOP_TOP_N=10" in result.output
    assert "s3cret" not in result.output
    assert "hunter2" not in result.output


def test_toml_syntax_error_is_one_clear_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "wikitop.toml"
    toml.write_text("top_n = 7\nmax_tries = \n")
    monkeypatch.setenv("WIKITOP_CONFIG", str(toml))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"WIKITOP_CONFIG={str(toml)!r}: not valid TOML: Invalid value (at line 2")
    assert "\n" not in message


def test_unknown_settings_warn_naming_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [name for name in os.environ if name.startswith("WIKITOP_")]:
        monkeypatch.delenv(name)
    toml = tmp_path / "wikitop.toml"
    toml.write_text("top_m = 7\nmax_tries = 4\n")
    (tmp_path / ".env").write_text("WIKITOP_MAX_TRY=5\nWIKITOP_LEASE_S=30\n")
    monkeypatch.setenv("WIKITOP_CONFIG", str(toml))
    monkeypatch.setenv("WIKITOP_TOPN", "10")
    monkeypatch.setenv("WIKITOP_ZZZ", "1")
    monkeypatch.setenv("WIKITOP_TEST_SOMETHING", "1")  # the test suite's own variables are no settings

    settings = load_settings()

    assert (settings.top_n, settings.max_tries, settings.lease_s) == (25, 4, 30)
    assert sorted(capsys.readouterr().err.splitlines()) == [
        f"warning: unknown setting 'top_m' in {toml} (did you mean top_n?)",
        "warning: unknown setting WIKITOP_MAX_TRY in .env (did you mean WIKITOP_MAX_TRIES?)",
        "warning: unknown setting WIKITOP_TOPN (did you mean WIKITOP_TOP_N?)",
        "warning: unknown setting WIKITOP_ZZZ",
    ]


def test_config_command_prints_the_effective_locations(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from wikitop.cli import main

    monkeypatch.chdir(tmp_path)
    data_dir = tmp_path / "srv"
    result = CliRunner().invoke(main, ["config", "--json"], env={"WIKITOP_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    effective = json.loads(result.output)
    assert effective["WIKITOP_RESULTS_URL"] == str(data_dir / "reports")
    assert effective["WIKITOP_STATE_URL"] == f"sqlite:///{data_dir / 'state.sqlite3'}"
    assert effective["WIKITOP_BROKER_URL"] == f"sqla+sqlite:///{data_dir / 'queue.sqlite3'}"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://wikitop:p@ss@db:5432/wikitop", "postgresql://wikitop:***@db:5432/wikitop"),
        ("postgresql://wikitop:a:b/c@d@db/wikitop", "postgresql://wikitop:***@db/wikitop"),
        ("redis://:pa/ss:w@rd@redis:6379/0", "redis://:***@redis:6379/0"),
        (
            "postgresql://db:5432/wikitop?user=w&password=s3cret",
            "postgresql://db:5432/wikitop?user=w&password=***",
        ),
        (
            "postgresql:///wikitop?host=/run&sslpassword=s3cret&sslmode=require",
            "postgresql:///wikitop?host=/run&sslpassword=***&sslmode=require",
        ),
        ("s3://bucket/reports?secret_key=s3cret", "s3://bucket/reports?secret_key=***"),
        ("s3://bucket/reports", "s3://bucket/reports"),
        ("redis://redis:6379/0", "redis://redis:6379/0"),
        ("sqlite:////data/state.sqlite3", "sqlite:////data/state.sqlite3"),
        (
            "cannot fetch https://u:p@ss@example.org/list: HTTP 503",
            "cannot fetch https://u:***@example.org/list: HTTP 503",
        ),
    ],
)
def test_passwords_of_every_form_are_masked(url: str, shown: str) -> None:
    assert mask_url_password(url) == shown


def test_config_command_masks_query_and_at_sign_passwords(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from wikitop.cli import main

    monkeypatch.chdir(tmp_path)
    env = {
        "WIKITOP_STATE_URL": "postgresql://wikitop:tail@s3cret@db:5432/wikitop",
        "WIKITOP_BROKER_URL": "redis://redis:6379/0?password=hunter2",
        "WIKITOP_RESULTS_URL": "s3://bucket/reports?token=t0ken",
        "WIKITOP_BLACKLIST_URL": "https://user:pa:ss/w@example.org/blacklist",
    }
    result = CliRunner().invoke(main, ["config", "--json"], env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["WIKITOP_STATE_URL"] == "postgresql://wikitop:***@db:5432/wikitop"
    assert shown["WIKITOP_BROKER_URL"] == "redis://redis:6379/0?password=***"
    assert shown["WIKITOP_RESULTS_URL"] == "s3://bucket/reports?token=***"
    assert shown["WIKITOP_BLACKLIST_URL"] == "https://user:***@example.org/blacklist"
    for secret in ("s3cret", "hunter2", "t0ken", "pa:ss", "ss/w"):
        assert secret not in result.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WIKITOP_DUMPS_URL", "https://dumps.wikimedia.org/other/pageviews"),
        ("WIKITOP_DUMPS_URL", "file:///srv/pageviews"),
        ("WIKITOP_DUMPS_URL", "s3a://lake/pageviews"),
        ("WIKITOP_DUMPS_URL", "hdfs://namenode/pageviews"),
        ("WIKITOP_RESULTS_URL", "/srv/reports"),
        ("WIKITOP_RESULTS_URL", "gs://bucket/reports"),
        ("WIKITOP_BLACKLIST_URL", "file:///srv/blacklist"),
        ("WIKITOP_BLACKLIST_URL", "/srv/blacklist"),
        ("WIKITOP_BROKER_URL", "rediss://cache:6380/1"),
        ("WIKITOP_BROKER_URL", "sqla+sqlite:////srv/queue.sqlite3"),
    ],
)
def test_locations_of_every_supported_kind_are_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), variable.removeprefix("WIKITOP_").lower()) == value
