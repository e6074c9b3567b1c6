"""Commands that run the long-lived processes: `api`, `worker` and `serve` (the two in one)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from wikitop.cli.main import main, read_settings, with_follow

if TYPE_CHECKING:
    pass


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

    run_api(read_settings(), host, port, workers)


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

    settings = with_follow(read_settings(), follow)
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
    settings = with_follow(read_settings(), follow)
    # Imported here so that the other commands load neither Celery nor the web app.
    from wikitop.supervisor import serve as serve_all

    sys.exit(serve_all(settings, host, port, workers, api_workers, shutdown_timeout))
