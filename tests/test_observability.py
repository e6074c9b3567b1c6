"""Worker-side metrics and structured logs of process_hour, and the README's list of metric names."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from support.queues import RecordingQueue
from support.workspace import Workspace
from wikitop.hours import parse_hour
from wikitop.logs import configure_logging
from wikitop.metrics import ApiMetrics, WorkerMetrics, render
from wikitop.pipeline import process_hour
from wikitop.services import build_services
from wikitop.settings import Settings, load_settings
from wikitop.web.app import create_app

README = Path(__file__).resolve().parents[1] / "README.md"


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, flags=re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_process_hour_counts_hours_bytes_and_logs_json_with_the_hour(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace.add_dump("2020010115", lines=["en A 5 0", "en B 3 0"])
    for name, value in workspace.env.items():
        monkeypatch.setenv(name, value)
    services = build_services(load_settings())
    before, _ = render()
    configure_logging("INFO", "json")
    try:
        result = process_hour(parse_hour("2020010115"), services)
        process_hour(parse_hour("2020010115"), services)
    finally:
        logging.getLogger().handlers.clear()
        services.close()
    after, _ = render()
    text_before, text_after = before.decode(), after.decode()

    computed = 'wikitop_hours_total{outcome="computed"}'
    cached = 'wikitop_hours_total{outcome="cached"}'
    assert _sample(text_after, computed) - _sample(text_before, computed) == 1
    assert _sample(text_after, cached) - _sample(text_before, cached) == 1
    dump_bytes = _sample(text_after, "wikitop_dump_bytes_total") - _sample(
        text_before, "wikitop_dump_bytes_total"
    )
    assert dump_bytes == result.dump_bytes > 0
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line["message"].startswith("hour 2020010115 computed: 2 rows")]
    assert len(finished) == 1
    assert finished[0]["hour"] == "2020010115"
    assert finished[0]["rows"] == 2
    assert finished[0]["seconds"] > 0
    assert finished[0]["levelname"] == "INFO"


def _exposed_names(text: str) -> set[str]:
    """The metric names of an exposition, as Prometheus and Grafana see them (`_total` included).

    prometheus_client adds a `<name>_created` timestamp to counters and histograms outside
    multiprocess mode; that is its bookkeeping, not a metric of ours.
    """
    names = set(re.findall(r"^# TYPE (wikitop_\w+) ", text, flags=re.MULTILINE))
    return {name for name in names if not name.endswith("_created")}


def _registry_names(*metric_groups: type[WorkerMetrics | ApiMetrics]) -> set[str]:
    registry = CollectorRegistry()
    for group in metric_groups:
        group(registry)
    return _exposed_names(generate_latest(registry).decode())


def _api_scrape_names(settings: Settings) -> set[str]:
    """What the API's /metrics exposes, its scrape-time gauges included."""
    services = build_services(settings)
    try:
        client = create_app(settings, services, queue=RecordingQueue()).test_client()
        client.get("/healthz")
        return _exposed_names(client.get("/metrics").get_data(as_text=True))
    finally:
        services.close()


def test_every_metric_is_listed_in_the_readme(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blacklist_url="")
    exposed = _registry_names(WorkerMetrics, ApiMetrics) | _api_scrape_names(settings)
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(wikitop_\w+)` \|", text, flags=re.MULTILINE))
    assert {"wikitop_hours_total", "wikitop_tasks", "wikitop_api_requests_total"} <= exposed
    assert exposed - documented == set(), "metrics missing from the README table"
    assert documented - exposed == set(), "the README lists metrics that do not exist"


def test_a_method_the_client_makes_up_adds_no_series(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blacklist_url="")
    services = build_services(settings)
    try:
        client = create_app(settings, services, queue=RecordingQueue()).test_client()
        for i in range(5):
            assert client.open("/healthz", method=f"BREW{i}").status_code == 405
        scraped = client.get("/metrics").get_data(as_text=True)
    finally:
        services.close()
    assert "BREW" not in scraped
    [other] = [
        line
        for line in scraped.splitlines()
        if line.startswith("wikitop_api_requests_total{")
        and 'method="other"' in line
        and 'status="405"' in line
    ]
    assert float(other.rsplit(" ", 1)[1]) >= 5


def test_api_metrics_hold_no_worker_series(tmp_path: Path) -> None:
    # A fresh interpreter in multiprocess mode, as gunicorn's workers run: the API's /metrics sums
    # the files its processes wrote, and none of them may hold a worker's series stuck at 0.
    script = f"""
from pathlib import Path
from wikitop.metrics import use_metrics_dir
use_metrics_dir(Path({str(tmp_path / "metrics")!r}))
from wikitop.settings import Settings
from wikitop.web.app import create_app
app = create_app(Settings(data_dir=Path({str(tmp_path / "data")!r}), blacklist_url=""))
client = app.test_client()
client.get("/healthz")
print(client.get("/metrics").get_data(as_text=True))
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    exposed = _exposed_names(output.stdout)
    assert {"wikitop_api_requests_total", "wikitop_tasks", "wikitop_queue_depth"} <= exposed
    assert exposed & _registry_names(WorkerMetrics) == set()


def test_metrics_are_created_once_when_threads_race() -> None:
    # A fresh interpreter, so that the metric objects do not exist yet when the threads ask.
    script = """
import threading
import wikitop.metrics as module
barrier = threading.Barrier(16)
created, errors = [], []
def ask():
    barrier.wait()
    try:
        created.append(id(module.metrics()))
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=ask) for _ in range(16)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print(len(set(created)), len(errors))
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert output.stdout.split() == ["1", "0"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Command:
    """A real `wikitop` process in its own session, its stderr in a file read as it grows."""

    def __init__(self, tmp_path: Path, *args: str, **env: str) -> None:
        base = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
        base |= {"WIKITOP_DATA_DIR": str(tmp_path / "data"), "WIKITOP_BLACKLIST_URL": ""}
        self.stderr_path = tmp_path / f"{args[0]}.stderr"
        with self.stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "wikitop", *args],
                env=base | env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.stderr():
            assert self.process.poll() is None, f"wikitop exited:\n{self.stderr()}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout_s} s:\n{self.stderr()}"
            time.sleep(0.1)

    def stop(self) -> list[dict[str, Any]]:
        """SIGTERM, wait, and return stderr's lines, each of which must be a JSON object."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        finally:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        lines = [line for line in self.stderr().splitlines() if line.strip()]
        records = []
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"a line not in WIKITOP_LOG_FORMAT=json: {line!r}") from None
        return records


def test_worker_follows_log_level_and_format_and_serves_metrics_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    worker = _Command(
        tmp_path,
        "worker",
        "--concurrency",
        "1",
        WIKITOP_LOG_LEVEL="DEBUG",
        WIKITOP_LOG_FORMAT="json",
        WIKITOP_WORKER_METRICS_PORT=str(port),
    )
    try:
        worker.wait_for(" ready.")
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
        # Bound to 127.0.0.1, not to every address: another loopback address finds nobody there.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/metrics", timeout=5)
    finally:
        records = worker.stop()
    assert worker.process.returncode == 0
    loggers = {record["name"] for record in records}
    assert {"wikitop.queue.worker", "celery.apps.worker"} <= loggers
    assert any(record["levelname"] == "DEBUG" for record in records)


def test_serve_logs_every_process_in_the_configured_format_and_level(tmp_path: Path) -> None:
    port = _free_port()
    serve = _Command(
        tmp_path,
        "serve",
        "--port",
        str(port),
        "--workers",
        "1",
        "--api-workers",
        "1",
        WIKITOP_LOG_LEVEL="DEBUG",
        WIKITOP_LOG_FORMAT="json",
        WIKITOP_WORKER_METRICS_PORT=str(_free_port()),
    )
    try:
        serve.wait_for(" ready.")
        serve.wait_for("Booting worker")
    finally:
        records = serve.stop()
    assert serve.process.returncode == 0
    by_logger: dict[str, set[str]] = {}
    for record in records:
        by_logger.setdefault(record["name"].split(".")[0], set()).add(record["levelname"])
    # The supervisor, gunicorn's processes and Celery's: one format, and the level reaches them all.
    assert {"wikitop", "gunicorn", "celery"} <= by_logger.keys()
    assert "DEBUG" in by_logger["gunicorn"]
    assert "DEBUG" in by_logger["celery"]
    assert len({record["process"] for record in records}) >= 3
