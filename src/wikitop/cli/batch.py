"""Commands that compute and read hours: `run`, `status`, `top` and `spark`."""

from __future__ import annotations

import dataclasses
import gc
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click

from wikitop.cli.main import fail, hours_of, main, open_services, print_summary, read_settings, state_to_dict
from wikitop.hours import format_hour, parse_hour, validate_hour

if TYPE_CHECKING:
    from wikitop.pipeline import HourResult
    from wikitop.progress import Progress
    from wikitop.ranking import RankedPage
    from wikitop.services import Services
    from wikitop.settings import Settings


@main.command()
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--force", is_flag=True, help="Recompute hours that already have a result.")
@click.option(
    "--jobs",
    type=click.IntRange(1, 16),
    default=None,
    help="Hours processed at once.  [default: WIKITOP_DOWNLOAD_CONCURRENCY + 1]",
)
def run(start: str | None, end: str | None, force: bool, jobs: int | None) -> None:
    """Compute the top pages of START..END, END included (default: the hour 24 hours ago).

    Hour H is Wikimedia's file pageviews-YYYYMMDD-HH0000.gz. Exit code 0 when every hour was
    computed or already had a fresh result, 1 when any failed or is not published yet (a failed
    recompute keeps the last good result), 2 on a usage error, 130 / 143 when stopped by Ctrl-C /
    SIGTERM (the hours being computed are finished first; the others stay queued).
    """
    with _stop_signals() as received:  # from the start: a stop while it sets up is one too
        try:
            asked, results = _run_range(start, end, force, jobs)
        except KeyboardInterrupt:
            if not received:
                raise
            _stopped(received[0], None)
    print_summary(results, len(asked))
    if received:
        _stopped(received[0], len(asked) - len(results))
    sys.exit(0 if all(result.outcome.done for result in results) else 1)


def _run_range(
    start: str | None, end: str | None, force: bool, jobs: int | None
) -> tuple[list[str], list[HourResult]]:
    """Record the range's hours as tasks and process them; the hours, and the results of those processed."""
    from wikitop.metrics import uncounted
    from wikitop.services import ask_hours

    settings = read_settings()
    hours = hours_of(start, end, settings)
    # This command serves no /metrics and exits when its hours are done: counters would die unread.
    with uncounted(), open_services(settings) as services:
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
    return asked.hours, results


def _stopped(signum: int, left: int | None) -> NoReturn:
    """Say that a stop signal ended the run early, and exit with the shell's code for it (128 + N).

    `left`: the hours not started, or None when it came before any hour was handed out.
    """
    name = signal.Signals(signum).name
    if left is None:
        what = "before its hours were handed out; they stay as they were"
    else:
        what = f"the hours being computed were finished, {left} not started stay queued"
    click.echo(f"Interrupted ({name}): {what}; run the same command again to compute them.", err=True)
    sys.exit(128 + signum)


@main.command()
@click.argument("start", required=False)
@click.argument("end", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hour, in a JSON array.")
def status(start: str | None, end: str | None, as_json: bool) -> None:
    """Show each hour's state: status, tries, result path and error.

    With --json also its times and provenance (blacklist, N, dump bytes, lines read and skipped, rows).
    """
    from wikitop.state import read_states

    settings = read_settings()
    hours = [format_hour(hour) for hour in hours_of(start, end, settings)]
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
    pages = domain_pages(_stored_pages(read_settings(), key), domain, limit, key)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(page) for page in pages], indent=2, ensure_ascii=False))
    else:
        click.echo(f"{domain}, hour {key}: top {len(pages)}")
        _print_table(pages)


def _stored_pages(settings: Settings, hour: str) -> list[RankedPage]:
    """Every page of the hour's stored result; exit 1 saying how to compute it when it has none."""
    from wikitop.results import ResultStore, read_csv
    from wikitop.state import read_states
    from wikitop.top_pages import ResultNotReadyError, parse_result, read_result

    state = read_states(settings.resolved_state_url, [hour]).get(hour)
    if state is None:
        fail(f"hour {hour} has no result: it was never computed; compute it with `wikitop run {hour}`")
    results = ResultStore(settings.resolved_results_url, s3_endpoint_url=settings.s3_endpoint_url)
    try:
        return parse_result(state, read_result(state, results), read_csv)
    except ResultNotReadyError as exc:
        again = " --force" if exc.file_missing else ""
        fail(f"{exc}; compute it with `wikitop run {hour}{again}`")
    except OSError as exc:
        fail(f"cannot read the result of hour {hour}: {exc}")


def _print_table(pages: list[RankedPage]) -> None:
    """Rank and views right-aligned, the title last and whole: a long title wraps, nothing shifts."""
    views_width = max(len("views"), *(len(f"{page.views:,}") for page in pages))
    rank_width = max(len("rank"), len(str(pages[-1].rank)))
    click.echo(f"{'rank':>{rank_width}}  {'views':>{views_width}}  page_title")
    for page in pages:
        click.echo(f"{page.rank:>{rank_width}}  {page.views:>{views_width},}  {page.page_title}")


def _run_hours(hours: list[str], services: Services, force: bool, jobs: int) -> list[HourResult]:
    """Process the hours on `jobs` threads; the results in order, of the hours processed before a stop signal."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from wikitop.progress import Progress

    progress = Progress(len(hours), terminal=sys.stderr.isatty())
    futures: list[Future[HourResult]] = []
    stop = threading.Event()
    with progress, ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="hour") as pool:
        try:
            futures.extend(pool.submit(_run_one, hour, services, force, progress, stop) for hour in hours)
            for future in futures:
                future.result()
        except BaseException as exc:
            stop.set()  # no other try: an hour waiting between tries ends its wait
            for future in futures:
                future.cancel()  # start no other hour
            if not isinstance(exc, KeyboardInterrupt):
                raise
            # Ctrl-C or SIGTERM: finish the hours being computed (their claims are held: left
            # behind, they would stay `running` until their lease lapsed), then stop.
            click.echo(
                "Stopping: the hours being computed finish first (send it again to stop at once).", err=True
            )
            pool.shutdown(wait=True)
    return [future.result() for future in futures if not future.cancelled()]


@contextmanager
def _stop_signals() -> Iterator[list[int]]:
    """Turn SIGTERM (a scheduler's or `timeout`'s stop) into Ctrl-C's KeyboardInterrupt; list what came."""
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        for each in previous:  # a second signal stops the process at once, as it would by default
            signal.signal(each, signal.SIG_DFL)
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield received  # only the main thread receives signals
        return
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run_one(
    hour: str, services: Services, force: bool, progress: Progress, stop: threading.Event
) -> HourResult:
    """Process one hour until it is done or failed for good (or stopped), saying on stderr why it waits."""
    from wikitop.pipeline import settle_hour

    counter = progress.counter(hour)
    result = settle_hour(
        parse_hour(hour), services, force=force, progress=counter, on_retry=progress.retrying, stop=stop
    )
    progress.hour_done(result)
    return result


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
    settings = read_settings()
    hours = hours_of(start, end, settings)
    # Imported here so that the other commands do not need pyspark.
    from wikitop.spark.job import run_spark_job

    results = run_spark_job(settings, hours, force, master)
    print_summary(results)
    sys.exit(0 if all(result.outcome.done for result in results) else 1)
