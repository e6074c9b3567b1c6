"""Worker-side metrics and structured logs of process_hour, and the README's list of metric names."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.workspace import Workspace
from wikitop.hours import parse_hour
from wikitop.logs import configure_logging
from wikitop.metrics import METRIC_NAMES, render
from wikitop.pipeline import process_hour
from wikitop.services import build_services
from wikitop.settings import load_settings

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


def test_every_metric_is_listed_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in METRIC_NAMES if f"`{name}`" not in text]
    assert missing == []


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
