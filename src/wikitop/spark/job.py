"""The Spark job: Spark hands the hours of a range to its executors, which run wikitop's own engine.

Each executor task builds the services from the driver's settings and calls `process_hour` for its
hours, so the rules of every other entry point hold as they are: claim, staleness, provenance,
retries, the result written through the results store and the state recorded in the state store.
The driver records the hours as tasks first, leaves out those with a fresh result, and starts Spark
only when some hour is left to compute. Only this module imports pyspark.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from wikitop.blacklist import Blacklist
from wikitop.dumps import is_remote
from wikitop.errors import BackendMissingError, WikitopError
from wikitop.hours import parse_hour
from wikitop.pipeline import HourResult, Outcome, cached_result, is_fresh, settle_hour
from wikitop.services import Services, ask_hours, build_services
from wikitop.settings import Settings

# "ValueError: ...", "org.apache.spark.SparkException: ...": the lines of a trace that name an error.
_EXCEPTION_LINE = re.compile(r"^[\w.$]*(Error|Exception): ")
SPARK_INSTALL_HINT = 'pip install "wikitop[spark]"'
APP_NAME = "wikitop"
# Spark's UI, progress bar and INFO logs are noise for a batch command; shuffles are tiny (one row
# per hour). Speculative copies of a slow task would download its hours a second time: never.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.speculation": "false",
}


def run_spark_job(
    settings: Settings, hours: list[datetime], force: bool, master: str | None
) -> list[HourResult]:
    """Compute every hour of `hours` that has no fresh result in one Spark job; one result per hour, in order."""
    services = build_services(settings)
    try:
        blacklist = services.blacklists.get()  # an unreachable blacklist stops the job before Spark starts
        keys = ask_hours(services.state, hours, settings.max_tries, force).hours
        cached = {} if force else _cached_results(keys, services, blacklist)
    finally:
        services.close()
    todo = [key for key in keys if key not in cached]
    computed = _compute_on_spark(settings, todo, force, master) if todo else []
    by_hour = {**cached, **{result.hour: result for result in computed}}
    return [by_hour[key] for key in keys]


def partition_count(settings: Settings, hours: int) -> int:
    """How many Spark tasks share the hours: one per hour, or WIKITOP_DOWNLOAD_CONCURRENCY over http(s)."""
    # A task computes its hours one after another, so over http(s) the tasks are the job's downloads
    # at once, on however many machines: each machine's download lock files cap only that machine.
    if is_remote(settings.dumps_url):
        return max(1, min(hours, settings.download_concurrency))
    return max(1, hours)


def _cached_results(keys: list[str], services: Services, blacklist: Blacklist) -> dict[str, HourResult]:
    """The hours whose result is fresh (pipeline's rule: today's blacklist and N, the file still there)."""
    states = services.state.get_many(keys)
    cached = {}
    for key, state in states.items():
        if is_fresh(state, blacklist, services.settings.top_n) and _result_exists(key, services):
            cached[key] = cached_result(state)
    return cached


def _result_exists(key: str, services: Services) -> bool:
    try:
        return services.results.looks_whole(parse_hour(key))
    except OSError:
        # Storage down: let the executors try the hour; process_hour records what it finds.
        return False


def _compute_on_spark(
    settings: Settings, keys: list[str], force: bool, master: str | None
) -> list[HourResult]:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendMissingError(f"the Spark job needs pyspark ({exc}): {SPARK_INSTALL_HINT}") from None
    # A session already running in this process (a notebook, a test module) is used as it is, and
    # left running; the job stops only the session it started.
    running = SparkSession.getActiveSession()
    spark = running or _start_session(SparkSession, master)
    try:
        _use_this_interpreter_locally(spark.sparkContext)
        hours = spark.sparkContext.parallelize(keys, partition_count(settings, len(keys)))
        try:
            results: list[HourResult] = hours.mapPartitions(partial(compute_hours, settings, force)).collect()
        except Exception as exc:  # py4j's and Spark's errors: a task failed beyond Spark's retries
            raise _job_failure(exc) from exc
        return results
    finally:
        if running is None:
            spark.stop()


def _job_failure(exc: Exception) -> WikitopError:
    """One line out of Spark's error (a Java stack with a Python traceback inside): its last exception."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    raised = [line for line in lines if _EXCEPTION_LINE.match(line)]
    reason = (raised or lines or [type(exc).__name__])[-1][:500]
    return WikitopError(
        f"the Spark job failed: {reason}; hours it left unfinished are retried by the next run "
        "(`wikitop status` shows them)"
    )


def _start_session(session_class: Any, master: str | None) -> Any:
    """A SparkSession on `master` (default: spark-submit's --master, else local[*]), quiet."""
    builder = session_class.builder.appName(APP_NAME)
    if master:
        builder = builder.master(master)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _use_this_interpreter_locally(context: Any) -> None:
    """In local mode, run the Python workers with this interpreter (the one that has wikitop)."""
    # Local executors are this machine's processes: whatever `python3` is first on the PATH may
    # not have wikitop. On a cluster, spark.pyspark.python (or PYSPARK_PYTHON) says which to run.
    if context.master.startswith("local"):
        context.pythonExec = sys.executable


def compute_hours(settings: Settings, force: bool, keys: Iterable[str]) -> Iterator[HourResult]:
    """On an executor: process each hour of a partition, one after another, through wikitop's pipeline."""
    services = build_services(settings)
    try:
        for key in keys:
            yield _compute_hour(key, services, force)
    finally:
        services.close()


def _compute_hour(key: str, services: Services, force: bool) -> HourResult:
    """Process one hour until it is done or failed for good, as `wikitop run` does."""
    try:
        return settle_hour(parse_hour(key), services, force=force)
    except WikitopError as exc:
        # The state store is down: the hour keeps its state; the other hours of the job still land.
        return HourResult(key, Outcome.FAILED, error=str(exc))
