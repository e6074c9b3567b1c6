"""The `wikitop` command group and what its commands share: settings, hours, error lines, the summary.

Commands live by kind: `batch.py` computes and reads hours (run, status, top, spark), `service.py`
runs the long-lived processes (api, worker, serve); `config` is here, with the settings.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from wikitop import __version__
from wikitop.errors import ConfigError, UsageError, WikitopError
from wikitop.hours import hour_range
from wikitop.state import TaskState

# Start-up: a command imports what it uses, inside its function; `--help`, `--version` and `status`
# load neither the engine, nor HTTP, nor Celery, nor Flask (tests/test_startup.py checks which
# modules each loads; bench/bench_startup.py times them).
if TYPE_CHECKING:
    from wikitop.pipeline import HourResult
    from wikitop.services import Services
    from wikitop.settings import Settings

_SETTINGS_KEY = "wikitop.settings"


class _Main(click.Group):
    """The command group: an expected failure of any command ends as one line on stderr, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a wikitop error exits 1 (2 for usage), an unreachable database exits 1.

        The one home of the CLI's error lines: commands raise, this prints and sets the exit code.
        """
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            usage_error(str(exc))
        except WikitopError as exc:
            fail(str(exc))
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            # A database that refuses connections is an expected condition (a server down, a wrong
            # URL): say which one and why, in one line, without SQLAlchemy's traceback.
            from wikitop.settings import mask_url_password

            settings: Settings | None = ctx.meta.get(_SETTINGS_KEY)
            url = mask_url_password(settings.resolved_state_url) if settings else "(not read)"
            server = "" if url.startswith("sqlite") else " and that its server is running"
            # SQLAlchemy's OperationalError wraps the driver's error in `orig`.
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            fail(f"cannot use the database: {reason} (check WIKITOP_STATE_URL={url}{server})")


def _is_database_error(exc: Exception) -> bool:
    """Tell whether `exc` says the database cannot be used, without importing SQLAlchemy to ask.

    SQLAlchemy's OperationalError (refused, down, locked), or its plain DatabaseError, which SQLite
    raises for a file that is not a database; not its errors of a statement (bugs: a traceback).
    """
    # Only a command that opened the database can raise it, and that command imported SQLAlchemy.
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and (
        isinstance(exc, errors.OperationalError) or type(exc) is errors.DatabaseError
    )


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wikitop")
def main() -> None:
    """The 25 most viewed pages of every Wikipedia domain code, hour by hour.

    Settings come from WIKITOP_* environment variables (see the README or `wikitop config`).
    """


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of NAME=value lines.")
def config(as_json: bool) -> None:
    """Print the effective settings (environment, .env, TOML, defaults), secrets masked."""
    effective = read_settings().public_view()
    if as_json:
        click.echo(json.dumps(effective, indent=2))
        return
    for name, value in effective.items():
        click.echo(f"{name}={value}")


def state_to_dict(state: TaskState) -> dict[str, Any]:
    """Flatten a TaskState into JSON-ready values (provenance fields inline, ISO timestamps)."""
    data = dataclasses.asdict(state)
    provenance = data.pop("provenance") or {}
    data.update(provenance)
    data["status"] = state.status.value
    return {key: _iso(value) if isinstance(value, datetime) else value for key, value in data.items()}


def _iso(moment: datetime) -> str:
    """ISO 8601 with `Z` for UTC, the form the API's JSON uses for the same instants."""
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def read_settings() -> Settings:
    from wikitop.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        usage_error(str(exc))
    click.get_current_context().meta[_SETTINGS_KEY] = settings  # for main's error messages
    return settings


def with_follow(settings: Settings, follow: bool | None) -> Settings:
    """The settings with WIKITOP_FOLLOW replaced by --follow/--no-follow, when given."""
    return settings if follow is None else settings.model_copy(update={"follow": follow})


def hours_of(start: str | None, end: str | None, settings: Settings) -> list[datetime]:
    try:
        return hour_range(start, end, settings.max_range_hours)
    except UsageError as exc:
        # One line: an invalid hour's message already gives the accepted forms (--help: END is inclusive).
        usage_error(str(exc))


def usage_error(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@contextmanager
def open_services(settings: Settings) -> Iterator[Services]:
    from wikitop.services import build_services

    # A backend that cannot be opened raises a WikitopError: _Main prints its one line.
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


def print_summary(results: list[HourResult], asked: int | None = None) -> None:
    """One line per hour (its outcome, rows, malformed lines skipped, seconds, result or error), then a count.

    `asked`: how many hours the command was asked for, when it stopped before processing them all.
    """
    click.echo(f"{'hour':<10}  {'status':<11}  {'rows':>6}  {'bad lines':>9}  {'seconds':>7}  path / error")
    for result in results:
        status, detail = result.reported
        click.echo(
            f"{result.hour:<10}  {status:<11}  {result.rows:>6}  {result.lines_skipped:>9}  "
            f"{result.seconds:>7.1f}  {detail}"
        )
    have = sum(result.has_result for result in results)
    kept = sum(result.has_result and not result.outcome.done for result in results)
    earlier = f" ({kept} of them the last good one: its recompute failed)" if kept else ""
    click.echo(f"{have}/{asked or len(results)} hours have a result{earlier}")
