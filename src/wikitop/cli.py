"""The `wikitop` command: thin commands that parse input, call the pipeline or a service, and format output."""

from __future__ import annotations

import dataclasses
import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from wikitop import __version__
from wikitop.errors import ConfigError, UsageError, WikitopError
from wikitop.hours import EXPECTED_FORM, format_hour, hour_range, parse_hour, validate_hour
from wikitop.state import TaskState

# Start-up: a command imports what it uses, inside its function; `--help`, `--version` and `status`
# load neither the engine, nor HTTP, nor Celery, nor Flask (tests/test_startup.py checks which
# modules each loads; bench/bench_startup.py times them).
if TYPE_CHECKING:
    from wikitop.pipeline import HourResult
    from wikitop.progress import Progress
    from wikitop.ranking import RankedPage
    from wikitop.services import Services
    from wikitop.settings import Settings

HOURS_HELP = f"Hours are {EXPECTED_FORM}, UTC; END is inclusive."
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
            _usage_error(str(exc))
        except WikitopError as exc:
            _fail(str(exc))
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
            _fail(f"cannot use the database: {reason} (check WIKITOP_STATE_URL={url}{server})")


def _is_database_error(exc: Exception) -> bool:
    """Tell whether `exc` is SQLAlchemy's OperationalError, without importing SQLAlchemy to ask."""
    # Only a command that opened the database can raise it, and that command imported SQLAlchemy.
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, errors.OperationalError)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wikitop")
def main() -> None:
    """The 25 most viewed pages of every Wikipedia domain code, hour by hour.

    Settings come from WIKITOP_* environment variables (see the README or `wikitop config`).
    """


@main.command()
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--force", is_flag=True, help="Recompute hours that already have a result.")
@click.option("--jobs", type=click.IntRange(1, 16), default=None, help="Hours processed at once.")
def run(start: str | None, end: str | None, force: bool, jobs: int | None) -> None:
    """Compute the top pages of START..END (default: the hour 24 hours ago).

    Hour H is Wikimedia's file pageviews-YYYYMMDD-HH0000.gz. Exit code 0 when every hour has a
    result, 1 when any failed or is not published yet, 2 on a usage error.
    """
    from wikitop.metrics import stop_counting
    from wikitop.services import ask_hours

    # This process exits when its hours are done and serves no /metrics: its counters would die unread.
    stop_counting()
    settings = _settings()
    hours = _hours(start, end, settings)
    with _services(settings) as services:
        # An unreachable blacklist fails the whole range at once, in one line (see _Main).
        services.blacklists.get()
        # What is loaded by now (modules, settings, the blacklist) lives as long as the process: out
        # of the collector's sight, its collections stop walking it again and again (4% of a range's CPU).
        gc.freeze()
        asked = ask_hours(services.state, hours, settings.max_tries, force)
        # This process is the worker: it visits every hour, not only those to dispatch, because
        # process_hour also recomputes stale results and reports the fresh ones as cached.
        # One more job than download slots: a slot freed by a finished download is taken at once.
        results = _run_hours(asked.hours, services, force, jobs or settings.download_concurrency + 1)
    _print_summary(results)
    sys.exit(0 if all(result.outcome.done for result in results) else 1)


@main.command()
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hour, in a JSON array.")
def status(start: str | None, end: str | None, as_json: bool) -> None:
    """Show each hour's state: status, tries, result path, error and provenance."""
    from wikitop.state import read_states

    settings = _settings()
    hours = [format_hour(hour) for hour in _hours(start, end, settings)]
    states = read_states(settings.resolved_state_url, hours)
    rows = [
        state_to_dict(states[hour]) if hour in states else {"hour": hour, "status": "unknown"}
        for hour in hours
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        error = f"  {row['error']}" if row.get("error") else ""
        click.echo(
            f"{row['hour']}  {row['status']:<11} tries {row.get('try_count', 0)}/{row.get('max_tries', '-')}"
            f"  {row.get('data_path') or ''}{error}"
        )


@main.command()
@click.argument("hour")
@click.option(
    "--domain",
    default="en",
    show_default=True,
    help="Domain code: en (English Wikipedia on desktop), en.m (its mobile site), de, commons.m...",
)
@click.option("--limit", type=click.IntRange(1), default=10, show_default=True, help="Rows shown.")
@click.option("--json", "as_json", is_flag=True, help="The rows as a JSON array, named as the CSV's columns.")
def top(hour: str, domain: str, limit: int, as_json: bool) -> None:
    """Show the most viewed pages of one domain code in a computed HOUR (titles as stored).

    Exit code 1 when the hour has no result (compute it with `wikitop run HOUR`), 2 when the hour
    or the domain code is not valid.
    """
    from wikitop.top_pages import domain_pages

    key = format_hour(validate_hour(parse_hour(hour), hour))
    pages = domain_pages(_stored_pages(_settings(), key), domain, limit, key)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(page) for page in pages], indent=2, ensure_ascii=False))
    else:
        click.echo(f"{domain}, hour {key}: top {len(pages)}")
        _print_table(pages)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of NAME=value lines.")
def config(as_json: bool) -> None:
    """Print the effective settings (environment, .env, TOML, defaults), secrets masked."""
    effective = _settings().public_view()
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


def _settings() -> Settings:
    from wikitop.settings import load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        _usage_error(str(exc))
    click.get_current_context().meta[_SETTINGS_KEY] = settings  # for main's error messages
    return settings


def _with_follow(settings: Settings, follow: bool | None) -> Settings:
    """The settings with WIKITOP_FOLLOW replaced by --follow/--no-follow, when given."""
    return settings if follow is None else settings.model_copy(update={"follow": follow})


def _hours(start: str | None, end: str | None, settings: Settings) -> list[datetime]:
    try:
        return hour_range(start, end, settings.max_range_hours)
    except UsageError as exc:
        _usage_error(f"{exc}\n{HOURS_HELP}")


def _usage_error(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    from wikitop.services import build_services

    # A backend that cannot be opened raises a WikitopError: _Main prints its one line.
    services = build_services(settings)
    try:
        yield services
    finally:
        services.close()


def _stored_pages(settings: Settings, hour: str) -> list[RankedPage]:
    """Every page of the hour's stored result; exit 1 saying how to compute it when it has none."""
    from wikitop.results import ResultStore, read_csv
    from wikitop.state import read_states
    from wikitop.top_pages import ResultNotReadyError, read_result

    state = read_states(settings.resolved_state_url, [hour]).get(hour)
    if state is None:
        _fail(f"hour {hour} has no result: it was never computed; compute it with `wikitop run {hour}`")
    results = ResultStore(settings.resolved_results_url, s3_endpoint_url=settings.s3_endpoint_url)
    try:
        return read_csv(read_result(state, results))
    except ResultNotReadyError as exc:
        again = " --force" if exc.file_missing else ""
        _fail(f"{exc}; compute it with `wikitop run {hour}{again}`")
    except OSError as exc:
        _fail(f"cannot read the result of hour {hour}: {exc}")


def _print_table(pages: list[RankedPage]) -> None:
    """Rank and views right-aligned, the title last and whole: a long title wraps, nothing shifts."""
    views_width = max(len("views"), *(len(f"{page.views:,}") for page in pages))
    rank_width = max(len("rank"), len(str(pages[-1].rank)))
    click.echo(f"{'rank':>{rank_width}}  {'views':>{views_width}}  page_title")
    for page in pages:
        click.echo(f"{page.rank:>{rank_width}}  {page.views:>{views_width},}  {page.page_title}")


def _run_hours(hours: list[str], services: Services, force: bool, jobs: int) -> list[HourResult]:
    from concurrent.futures import ThreadPoolExecutor

    from wikitop.progress import Progress

    progress = Progress(len(hours), terminal=sys.stderr.isatty())
    work: Callable[[str], HourResult] = lambda hour: _run_one(hour, services, force, progress)  # noqa: E731
    with progress, ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hour") as pool:
        return list(pool.map(work, hours))


def _run_one(hour: str, services: Services, force: bool, progress: Progress) -> HourResult:
    """Process one hour until it is done or failed for good, saying on stderr why it waits."""
    from wikitop.pipeline import settle_hour

    result = settle_hour(
        parse_hour(hour), services, force=force, progress=progress.counter(hour), on_retry=progress.retrying
    )
    progress.hour_done(result)
    return result


def _print_summary(results: list[HourResult]) -> None:
    click.echo(f"{'hour':<10}  {'status':<11}  {'rows':>6}  {'seconds':>7}  path / error")
    for result in results:
        detail = result.data_path if result.outcome.done else result.error
        click.echo(
            f"{result.hour:<10}  {result.outcome.value:<11}  {result.rows:>6}  {result.seconds:>7.1f}  {detail or ''}"
        )
    done = sum(result.outcome.done for result in results)
    click.echo(f"{done}/{len(results)} hours have a result")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes [default: one per CPU core].",
)
def api(host: str, port: int, workers: int | None) -> None:
    """Serve the HTTP API (gunicorn) in the foreground: docs at /docs, OpenAPI at /openapi.json.

    The API records asked hours in the state store and publishes them to the queue; run
    `wikitop worker` to compute them, or `wikitop serve` for both in one command.
    """
    # Imported here so that the other commands load neither Flask nor gunicorn.
    from wikitop.web.server import run_api

    run_api(_settings(), host, port, workers)


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes computing hours [default: WIKITOP_DOWNLOAD_CONCURRENCY].",
)
@click.option(
    "--loglevel",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Log level [default: WIKITOP_LOG_LEVEL].",
)
@click.option(
    "--follow/--no-follow",
    default=None,
    help="Compute every new hour by itself, from WIKITOP_FOLLOW_SINCE on [default: WIKITOP_FOLLOW].",
)
def worker(concurrency: int | None, loglevel: str | None, follow: bool | None) -> None:
    """Compute the hours published to the queue (WIKITOP_BROKER_URL), until SIGTERM.

    Also re-publishes, every WIKITOP_RECONCILE_INTERVAL_S, the hours whose message was lost (a
    killed worker, a restarted broker) and the hours whose dump is due for another check; with
    --follow, every hour Wikimedia publishes too. Run one per machine; every worker of a machine
    shares its download cap. On SIGTERM running hours finish.
    """
    from wikitop.logs import configure_logging
    from wikitop.services import warm_up_waiting

    settings = _with_follow(_settings(), follow)
    configure_logging(loglevel or settings.log_level, settings.log_format)
    warm_up_waiting(settings)
    # Imported here so that the other commands do not load Celery.
    from wikitop.queue.worker import run_worker

    sys.exit(run_worker(settings, concurrency or settings.download_concurrency, loglevel))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the API listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="API port.")
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Processes computing hours."
)
@click.option(
    "--api-workers", type=click.IntRange(1, 64), default=2, show_default=True, help="API processes."
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=30.0,
    show_default=True,
    help="Seconds running hours get to finish on SIGTERM/Ctrl-C before they are killed (and retried later).",
)
@click.option(
    "--follow/--no-follow",
    default=None,
    help="Compute every new hour by itself, from WIKITOP_FOLLOW_SINCE on [default: WIKITOP_FOLLOW].",
)
def serve(
    host: str, port: int, workers: int, api_workers: int, shutdown_timeout: float, follow: bool | None
) -> None:
    """Run the whole service on this machine: the API and the workers, until SIGTERM or Ctrl-C.

    Needs no other server: the queue and the task state are SQLite files in WIKITOP_DATA_DIR
    unless WIKITOP_BROKER_URL / WIKITOP_STATE_URL name Redis / PostgreSQL. With --follow the
    workers compute every hour Wikimedia publishes, from WIKITOP_FOLLOW_SINCE on.
    """
    settings = _with_follow(_settings(), follow)
    # Imported here so that the other commands load neither Celery nor the web app.
    from wikitop.supervisor import serve as serve_all

    sys.exit(serve_all(settings, host, port, workers, api_workers, shutdown_timeout))


@main.command()
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--force", is_flag=True, help="Recompute hours that already have a result.")
@click.option(
    "--master",
    default=None,
    help="Spark master URL (local[2], yarn, spark://host:7077, k8s://...) "
    "[default: spark-submit's --master, else local[*]].",
)
def spark(start: str | None, end: str | None, force: bool, master: str | None) -> None:
    """Compute START..END in one Spark job whose executors run wikitop's engine on the hours.

    The same results, state and exit codes as `wikitop run`; needs `pip install "wikitop[spark]"`
    and Java 17. Over http(s), at most WIKITOP_DOWNLOAD_CONCURRENCY hours download at once.
    """
    settings = _settings()
    hours = _hours(start, end, settings)
    # Imported here so that the other commands do not need pyspark.
    from wikitop.spark.job import run_spark_job

    results = run_spark_job(settings, hours, force, master)
    _print_summary(results)
    sys.exit(0 if all(result.outcome.done for result in results) else 1)
