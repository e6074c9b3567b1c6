"""Schemathesis against a real `wikitop serve`: every operation, no 5xx, every answer as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support.api_process import run_wikitop_http

pytestmark = pytest.mark.slow

# Bounded: a few seconds of requests per phase on a 2-core machine; the seed makes a failure replayable.
MAX_EXAMPLES = 30
SEED = 20200101
# Every check runs, with two adjustments for what a schema cannot say:
CONFIG = """
[checks.positive_data_acceptance]
# A schema-valid hour can still be no date (2020-02-30), and a valid range can end before it starts:
# the server answers 400 with the reason. Any other answer to valid data is still a failure.
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]

[checks.ensure_resource_availability]
# An ask (202) records the hour at once; its result (/top, .csv) exists only once a worker computed it.
enabled = false
"""


def test_schemathesis_finds_nothing_against_a_real_serve(tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    (tmp_path / "mirror").mkdir()  # an empty local mirror: asked hours are "not published yet"
    # No rate limit: the fuzzer's hundreds of asks must reach the logic behind the limiter (the
    # limiter's own 429 is tested in tests/test_guard.py).
    with run_wikitop_http(tmp_path / "serve", "serve", "--workers", "1", "--api-workers", "1",
                          mirror_url=str(tmp_path / "mirror"),
                          env={"WIKITOP_RATE_LIMIT_WRITES": ""}) as serve:  # fmt: skip
        spec = httpx.get(f"{serve.base_url}/openapi.json", headers={"Host": "evil.example"}).json()
        assert spec["servers"] == [{"url": "/"}]  # never the request's Host header
        run = subprocess.run(
            [
                *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config)),
                *("run", f"{serve.base_url}/openapi.json"),
                *("--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED)),
                *("--request-timeout", "10", "--workers", "1"),
                "--no-color",
            ],
            cwd=tmp_path,  # schemathesis keeps its replay data in ./.schemathesis
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, f"{run.stdout[-12000:]}\n{run.stderr[-2000:]}\n{serve.logs()[-3000:]}"
        assert "16 selected / 16 total" in run.stdout  # every operation was tested
