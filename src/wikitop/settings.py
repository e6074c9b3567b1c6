"""One typed Settings object: every WIKITOP_* setting, its default, unit and meaning.

Sources, highest priority first: environment variables, a `.env` file in the working directory,
the TOML file named by WIKITOP_CONFIG, then the defaults below. Nothing else reads os.environ.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from wikitop import __version__
from wikitop.errors import ConfigError

DEFAULT_DUMPS_URL = "https://dumps.wikimedia.org/other/pageviews"
DEFAULT_BLACKLIST_URL = (
    "https://s3.amazonaws.com/dd-interview-data/data_engineer/wikipedia/blacklist_domains_and_pages"
)
DEFAULT_USER_AGENT = f"wikitop/{__version__} (https://github.com/wikitop/wikitop; hourly top pages)"
# Wikimedia answers 503 to a client that opens more than 3 connections at once.
MAX_DOWNLOAD_CONCURRENCY = 3


# The brokers wikitop is built and tested for (wikitop.queue.app): Redis, and kombu's SQLite queue.
BROKER_URL_FORMS = ("redis://", "rediss://", "redis+socket://", "sqla+sqlite:///")


class Settings(BaseModel):
    """Every setting of wikitop; the README's settings table lists the same names.

    A plain pydantic model: load_settings gathers its sources. (pydantic-settings did; importing
    it alone took longer than loading the settings now does: bench/bench_startup.py --parts.)
    """

    # The defaults below are written valid (tests/test_settings.py passes each through the
    # validators): validating them again at every start would import what some validators use
    # (limits, the C engine) into commands that never need it.
    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=False)

    data_dir: Path = Field(Path("./data"), description="root of the defaults below")
    results_url: str = Field("", description="where result files go (default <data dir>/reports)")
    state_url: str = Field("", description="task-state store (default sqlite:///<data dir>/state.sqlite3)")
    dumps_url: str = Field(
        DEFAULT_DUMPS_URL, description="base of the dumps: http(s) URL, local directory, s3:// s3a:// hdfs://"
    )
    blacklist_url: str = Field(DEFAULT_BLACKLIST_URL, description="http(s) URL or local file; empty = none")
    top_n: int = Field(25, ge=1, le=100_000, description="pages per domain")
    engine: Literal["auto", "native", "arrow"] = Field(
        "auto", description="ranking engine: auto = the C engine when built, else arrow"
    )
    max_tries: int = Field(3, ge=1, le=100, description="attempts per hour before `failed`")
    download_concurrency: int = Field(
        2, ge=1, le=MAX_DOWNLOAD_CONCURRENCY, description="downloads at once, never above 3"
    )
    max_range_hours: int = Field(744, ge=1, description="longest range one command or request may ask for")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1, description="sent with every request")
    http_timeout_s: float = Field(60.0, gt=0, description="seconds without progress before a request fails")
    http_retries: int = Field(5, ge=0, le=20, description="retries of one request on 5xx/429/timeouts")
    http_backoff_s: float = Field(1.0, ge=0, description="first retry delay; doubles each retry (max 60 s)")
    lease_s: float = Field(
        60.0, gt=0, description="a worker's claim on an hour lapses this long after its last heartbeat"
    )
    blacklist_max_age_s: int = Field(86_400, ge=0, description="refetch the cached blacklist after this age")
    keep_dumps: bool = Field(False, description="keep downloaded dumps under <data dir>/dumps")
    broker_url: str = Field("", description="Celery broker; empty = embedded SQLite queue in the data dir")
    config: Path | None = Field(None, description="optional TOML file with these settings")

    @field_validator("rate_limit_writes")
    @classmethod
    def _rate_limits(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value) if value.strip() else None
        except ValueError:
            raise ValueError("expected limits like '10/minute;100/hour' (empty = none)") from None
        return value.strip()

    @field_validator("follow_since")
    @classmethod
    def _follow_since(cls, value: str) -> str:
        from wikitop.queue.follow import parse_since

        parse_since(value)  # raises ValueError naming the expected forms
        return value.strip()

    @field_validator("dumps_url", "results_url", "state_url", "blacklist_url", "broker_url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("dumps_url", "results_url")
    @classmethod
    def _known_protocol(cls, value: str, info: ValidationInfo) -> str:
        from wikitop.results import check_location

        value = value.strip()
        if value:
            check_location(
                value, f"WIKITOP_{(info.field_name or '').upper()}", http=info.field_name == "dumps_url"
            )
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(BROKER_URL_FORMS):
            raise ValueError(
                "expected empty (the embedded SQLite queue), redis://host:6379/0 (or rediss://, "
                "redis+socket://) or sqla+sqlite:///path"
            )
        return value

    @field_validator("blacklist_url")
    @classmethod
    def _known_blacklist_location(cls, value: str) -> str:
        value = value.strip()
        scheme, separator, _ = value.partition("://")
        if separator and scheme not in ("http", "https", "file"):
            raise ValueError(
                f"unknown protocol {scheme}:// (expected an http(s) URL, a local file, or empty for none)"
            )
        return value

    @field_validator("engine")
    @classmethod
    def _engine_built(cls, value: str) -> str:
        if value != "native":
            return value
        from wikitop.ranking import native

        if not native.AVAILABLE:
            raise ValueError(
                "the C engine (wikitop._native) is not built: reinstall wikitop with a C compiler"
            )
        return value

    def public_view(self) -> dict[str, str]:
        """Every effective setting as WIKITOP_NAME -> value, with passwords and secret values masked."""
        # An empty URL means "the default under the data dir": show the location it resolves to.
        effective = {
            "results_url": self.resolved_results_url,
            "state_url": self.resolved_state_url,
            "broker_url": self.resolved_broker_url,
        }
        view = {}
        for name in type(self).model_fields:
            value = effective.get(name, getattr(self, name))
            text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            if any(word in name for word in ("secret", "password", "key", "token")):
                text = "***" if text else ""
            view[f"WIKITOP_{name.upper()}"] = mask_url_password(text)
        return view

    @property
    def resolved_results_url(self) -> str:
        """The results location, defaulting to <data dir>/reports."""
        return self.results_url or str(self.data_dir / "reports")

    @property
    def resolved_state_url(self) -> str:
        """The state store URL, defaulting to SQLite in the data dir."""
        return self.state_url or f"sqlite:///{self.data_dir / 'state.sqlite3'}"

    @property
    def resolved_broker_url(self) -> str:
        """The Celery broker URL, defaulting to an SQLite database in the data dir."""
        return self.broker_url or f"sqla+sqlite:///{self.data_dir / 'queue.sqlite3'}"

    # Queue workers (wikitop worker / serve); see wikitop.queue.
    reconcile_interval_s: float = Field(
        15.0, gt=0, description="seconds between a worker's passes that re-publish lost and due hours"
    )
    stale_queued_s: float = Field(
        120.0, gt=0, description="a queued hour untouched this long, with the queue empty, is published again"
    )
    retry_backoff_s: float = Field(
        15.0, ge=0, description="wait before retrying a failed attempt; doubles each try (max 60 s)"
    )
    unavailable_recheck_s: float = Field(
        300.0, gt=0, description="first wait before asking again for a dump not published yet; then doubles"
    )
    unavailable_recheck_max_s: float = Field(
        3600.0, gt=0, description="longest wait between two checks of a dump not published yet"
    )
    task_time_limit_s: float = Field(
        3600.0, gt=0, description="a worker process busy with one hour longer than this is killed"
    )
    small_ask_hours: int = Field(
        24, ge=0, description="asks of at most this many hours go to the queue's interactive lane"
    )
    # Follow mode; see wikitop.queue.follow.
    follow: bool = Field(
        False, description="workers enqueue every new hour by themselves (`--follow`; `make run`: on)"
    )
    follow_since: str = Field(
        "24h", description="first hour kept when following: an hour (2026110100, ISO) or a duration (24h, 7d)"
    )
    follow_delay_s: float = Field(
        2700.0,
        ge=0,
        description="an hour is first checked this long after its label (Wikimedia publishes ~45-60 min later)",
    )
    # Observability; see wikitop.logs and wikitop.metrics.
    log_level: str = Field("INFO", pattern="(?i)^(debug|info|warning|error)$", description="log level")
    log_format: str = Field(
        "json", pattern="^(json|text)$", description="json lines or text (api, worker, serve)"
    )
    worker_metrics_port: int = Field(
        9808, ge=0, le=65535, description="port of a worker's Prometheus /metrics; 0 = none"
    )
    worker_metrics_host: str = Field(
        "127.0.0.1", min_length=1, description="address of a worker's /metrics (`serve`: its --host)"
    )
    ready_needs_worker: bool = Field(
        False, description="/readyz fails while no worker sharing the data dir runs (`serve`: on)"
    )
    # Exposure of the HTTP API; see wikitop.web.guard and the README's Security section.
    api_token: str = Field(
        "", description="bearer token every request that enqueues must carry; empty = writes are open"
    )
    api_read_token: str = Field(
        "", description="bearer token the read endpoints need; empty = reads are open"
    )
    rate_limit_writes: str = Field(
        "10/minute;100/hour", description="flask-limiter limits of asks per client address; empty = none"
    )
    download_budget_per_hour: int = Field(
        120, ge=0, description="upstream downloads per hour for the whole deployment; 0 = unlimited"
    )
    # Results on S3-compatible storage; see wikitop.results.
    s3_endpoint_url: str = Field(
        "",
        description="S3 endpoint for s3:// results and dumps (MinIO...); empty = AWS_ENDPOINT_URL, else AWS",
    )


# Query parameters that carry a credential: `?password=`, `sslpassword`, `secret_key`, `token`...
_SECRET_PARAMETER = re.compile(
    r"([?&;][^=&;#\s]*(?:pass|pwd|secret|token|key|credential)[^=&;#\s]*=)[^&;#\s]*", re.I
)

_URL = re.compile(r"[A-Za-z][\w+.-]*://\S+")


def mask_url_password(text: str) -> str:
    """Replace the passwords of the URLs in `text` (`user:password@`, `?password=...`) with ***."""
    return _URL.sub(lambda match: _mask_one_url(match.group(0)), text)


def _mask_one_url(url: str) -> str:
    """Mask the user part's password and the secret query parameters of one URL."""
    # A password may hold `@`, `:` and `/` unencoded (drivers split the user part at its last `@`),
    # so the user part runs to the last `@` before the query; mask too much rather than a tail.
    scheme, _, remainder = url.partition("://")
    cut = min((i for i in (remainder.find("?"), remainder.find("#")) if i >= 0), default=len(remainder))
    authority, query = remainder[:cut], remainder[cut:]
    user_part, at, host = authority.rpartition("@")
    if at and ":" in user_part:
        authority = f"{user_part.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{authority}" + _SECRET_PARAMETER.sub(r"\1***", query)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings once; an invalid one raises ConfigError naming the variable and the problem.

    Unknown WIKITOP_* names (environment, .env, TOML) are reported on stderr, not fatal: an old
    deployment's leftover variable should not stop a new version.
    """
    config_file = os.environ.get("WIKITOP_CONFIG")
    toml = _toml_values(config_file)
    dotenv = _dotenv_values(Path(".env"))
    for warning in unknown_settings(os.environ, list(dotenv), list(toml), config_file or ""):
        print(f"warning: {warning}", file=sys.stderr)
    # Highest priority last: TOML, then .env, then the environment, then the caller's overrides.
    values = {**toml, **_prefixed(dotenv), **_prefixed(os.environ), **overrides}
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"WIKITOP_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None


def unknown_settings(
    environ: Mapping[str, str], dotenv_names: list[str], toml_keys: list[str], toml_file: str
) -> Iterator[str]:
    """Say which WIKITOP_* names and TOML keys are no setting, each with the closest setting's name."""
    known = list(Settings.model_fields)
    # WIKITOP_TEST_* belong to the test suite, which passes them through every environment it builds.
    names = [(name, "") for name in environ if name.upper().startswith(_PREFIX)]
    names += [(name, " in .env") for name in dotenv_names if name.upper().startswith(_PREFIX)]
    for name, where in names:
        field = name.upper().removeprefix(_PREFIX).lower()
        if field not in known and not name.upper().startswith(f"{_PREFIX}TEST_"):
            guess = difflib.get_close_matches(field, known, n=1)
            hint = f" (did you mean {_PREFIX}{guess[0].upper()}?)" if guess else ""
            yield f"unknown setting {name}{where}{hint}"
    for key in toml_keys:
        if key not in known:
            guess = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            yield f"unknown setting {key!r} in {toml_file}{hint}"


_PREFIX = "WIKITOP_"


def _toml_values(config_file: str | None) -> dict[str, Any]:
    """The settings of the TOML file named by WIKITOP_CONFIG (its keys are the settings' names)."""
    if not config_file:
        return {}
    if not Path(config_file).is_file():
        raise ConfigError(f"WIKITOP_CONFIG={config_file!r}: no such file (expected a TOML file)")
    try:
        return tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"WIKITOP_CONFIG={config_file!r}: not valid TOML: {exc}") from None


def _dotenv_values(path: Path) -> dict[str, str]:
    """The variables of a .env file, if there is one, read by python-dotenv (`export`, quotes, comments)."""
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def _prefixed(variables: Mapping[str, str]) -> dict[str, str]:
    """The WIKITOP_* variables by setting name: WIKITOP_TOP_N -> top_n (names in any case)."""
    return {
        name.upper().removeprefix(_PREFIX).lower(): value
        for name, value in variables.items()
        if name.upper().startswith(_PREFIX)
    }
