"""API benchmark: `GET /get_task_state` (the prototype's call, JSON body) against a real `wikitop api`.

Seeds a SQLite state with --hours hours (half of them success with provenance), starts
`wikitop api` on a free loopback port, then loads it with 64 concurrent keep-alive clients for
10 s, each request asking for another hour, and prints throughput, p50/p99 latency and the CPU
time the server processes spent per request (a figure that other load on the machine disturbs less).
The load generator is wrk when it is installed (apt-get install wrk), else an asyncio httpx
client, which on a 2-core machine competes with the server for the CPU and so measures less.

`--endpoint top` loads `GET /api/v1/reports/<hour>/top?domain=<code>&limit=10` instead, on
hours whose result files have the size of a real hour's (TOP_DOMAINS domain codes x 25 pages).

    python bench/bench_api.py [--endpoint get_task_state|top] [--connections 64] [--duration-s 10]
                              [--hours 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

from common import free_port
from wikitop.hours import parse_hour
from wikitop.ranking import RankedPage
from wikitop.results import ResultStore, render_csv
from wikitop.state import Provenance, open_state_store

TARGET_RPS = 1000.0
TARGET_P99_MS = 100.0
WARMUP_S = 2
FIRST_HOUR = datetime(2020, 1, 1, tzinfo=UTC)
PROVENANCE = Provenance("ab" * 32, 25, 450_000_000, 9_000_000, 120, 25_000, 3.2)
# A real hour's result has ~1,700 domain codes of 25 pages: ~42,000 rows, ~1.5 MB.
TOP_DOMAINS = 1700
TOP_HOURS = 4


@dataclass(frozen=True)
class Call:
    """One request of the load: a path and an optional JSON body."""

    path: str
    body: str | None = None


@dataclass(frozen=True)
class Figures:
    """What one load run measured."""

    tool: str
    requests: int
    server_cpu_s: float
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float


def seed_state(url: str, count: int) -> list[str]:
    """Create `count` hours in the state store, every other one success; return them."""
    hours = [(FIRST_HOUR + timedelta(hours=i)).strftime("%Y%m%d%H") for i in range(count)]
    store = open_state_store(url)
    try:
        store.enqueue(hours, 3)
        for hour in hours[::2]:
            store.claim(hour, "bench", 60.0, 3)
            store.finish_success(hour, "bench", f"/data/reports/top-{hour}.csv", PROVENANCE)
    finally:
        store.close()
    return hours


def seed_results(data_dir: Path) -> list[str]:
    """Create TOP_HOURS success hours with real-sized result files; return them."""
    hours = [(FIRST_HOUR + timedelta(hours=i)).strftime("%Y%m%d%H") for i in range(TOP_HOURS)]
    results = ResultStore(str(data_dir / "reports"))
    store = open_state_store(f"sqlite:///{data_dir / 'state.sqlite3'}")
    pages = [
        RankedPage(f"d{domain}", rank, f"Page_{domain}_{rank}", 1000 - rank)
        for domain in range(TOP_DOMAINS)
        for rank in range(1, 26)
    ]
    try:
        store.enqueue(hours, 3)
        for hour in hours:
            store.claim(hour, "bench", 60.0, 3)
            location = results.write(parse_hour(hour), render_csv(pages))
            store.finish_success(hour, "bench", location, PROVENANCE)
    finally:
        store.close()
    return hours


def calls_for(endpoint: str, data_dir: Path, hours: int) -> list[Call]:
    """Seed the data dir for the endpoint and return the requests of the load, cycled through."""
    if endpoint == "top":
        top_hours = seed_results(data_dir)
        return [
            Call(f"/api/v1/reports/{hour}/top?domain=d{domain}&limit=10")
            for domain in range(0, TOP_DOMAINS, 97)
            for hour in top_hours
        ]
    seeded = seed_state(f"sqlite:///{data_dir / 'state.sqlite3'}", hours)
    return [Call("/get_task_state", json.dumps({"date": hour})) for hour in seeded]


def start_api(data_dir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start `wikitop api` on the data dir and wait until /healthz answers."""
    env = {**os.environ, "WIKITOP_DATA_DIR": str(data_dir), "WIKITOP_BLACKLIST_URL": ""}
    command = [sys.executable, "-m", "wikitop", "api", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"wikitop api exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("wikitop api did not answer /healthz within 60 s")


def server_cpu_s(api: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the `wikitop api` process and its gunicorn workers."""
    root = psutil.Process(api.pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def run_wrk(base: str, calls: list[Call], connections: int, duration_s: int, work_dir: Path) -> Figures:
    """Load the API with wrk and a Lua script that cycles through the calls (GET, maybe a JSON body)."""
    script = work_dir / "load.lua"
    script.write_text(
        "local paths = {" + ",".join(json.dumps(call.path) for call in calls) + "}\n"
        "local bodies = {" + ",".join(json.dumps(call.body or "") for call in calls) + "}\n"
        "local i = math.random(#paths)\n"
        'local headers = {["Content-Type"] = "application/json"}\n'
        "request = function()\n"
        "  i = i % #paths + 1\n"
        "  local body = nil\n"
        '  if bodies[i] ~= "" then body = bodies[i] end\n'
        '  return wrk.format("GET", paths[i], headers, body)\n'
        "end\n"
    )
    threads = str(min(connections, os.cpu_count() or 2))
    command = [
        "wrk",
        "-t",
        threads,
        "-c",
        str(connections),
        "-d",
        f"{duration_s}s",
        "--latency",
        "-s",
        str(script),
    ]
    output = subprocess.run([*command, base], check=True, capture_output=True, text=True).stdout
    return Figures(
        tool=f"wrk -t{threads} -c{connections} -d{duration_s}s",
        requests=int(_find(r"(\d+) requests in", output)),
        server_cpu_s=0.0,
        errors=int(_find(r"Non-2xx or 3xx responses: (\d+)", output, "0")) + _socket_errors(output),
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", output)),
        p50_ms=_ms(_find(r"(?m)^\s+50%\s+(\S+)", output)),
        p99_ms=_ms(_find(r"(?m)^\s+99%\s+(\S+)", output)),
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match is None:
        if default is None:
            raise SystemExit(f"wrk output lacks {pattern!r}")
        return default
    return match.group(1)


def _socket_errors(output: str) -> int:
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return sum(int(n) for n in match.groups()) if match else 0


def _ms(value: str) -> float:
    """Convert wrk's 1.23ms / 456.00us / 1.20s into milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_httpx(base: str, calls: list[Call], connections: int, duration_s: int) -> Figures:
    """Load the API with `connections` asyncio clients sharing one keep-alive httpx pool."""
    return asyncio.run(_httpx_load(base, calls, connections, duration_s))


async def _httpx_load(base: str, calls: list[Call], connections: int, duration_s: int) -> Figures:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration_s
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def client(offset: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        index = offset
        while time.perf_counter() < deadline:
            call = calls[index % len(calls)]
            started = time.perf_counter()
            response = await http.request(
                "GET", call.path, content=call.body, headers={"Content-Type": "application/json"}
            )
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200
            index += connections

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        await asyncio.gather(*(client(i, http) for i in range(connections)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return Figures(
        tool=f"httpx asyncio x{connections}",
        requests=len(latencies),
        server_cpu_s=0.0,
        errors=errors,
        rps=len(latencies) / elapsed,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
    )


def load(
    use_wrk: bool, base: str, calls: list[Call], connections: int, duration_s: int, work_dir: Path
) -> Figures:
    """Run one load with wrk or the httpx client."""
    if use_wrk:
        return run_wrk(base, calls, connections, duration_s, work_dir)
    return run_httpx(base, calls, connections, duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint", choices=["get_task_state", "top"], default="get_task_state")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration-s", type=int, default=10)
    parser.add_argument("--hours", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    with tempfile.TemporaryDirectory(prefix="wikitop-bench-api-") as tmp:
        data_dir = Path(tmp)
        calls = calls_for(args.endpoint, data_dir, args.hours)
        port = free_port()
        api = start_api(data_dir, port, args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            # Warm every worker up (first requests compile SQL and fill caches), then measure.
            load(use_wrk, base, calls, args.connections, WARMUP_S, data_dir)
            cpu_before = server_cpu_s(api)
            figures = load(use_wrk, base, calls, args.connections, args.duration_s, data_dir)
            figures = dataclasses.replace(figures, server_cpu_s=server_cpu_s(api) - cpu_before)
        finally:
            api.terminate()
            api.wait(timeout=30)
    _report(figures, args)


def _report(figures: Figures, args: argparse.Namespace) -> None:
    met = figures.rps >= TARGET_RPS and figures.p99_ms < TARGET_P99_MS and figures.errors == 0
    what = (
        f"GET /api/v1/reports/<hour>/top?domain=...&limit=10, {TOP_HOURS} hours of {TOP_DOMAINS * 25:,} rows"
        if args.endpoint == "top"
        else f"GET /get_task_state, {args.hours} hours in SQLite"
    )
    print(f"{what}, wikitop api --workers {args.workers}")
    print(f"load generator   {figures.tool} (after a {WARMUP_S} s warm-up)")
    print(f"requests         {figures.requests:,} ({figures.errors} errors)")
    print(f"throughput       {figures.rps:,.0f} requests/s (target >= {TARGET_RPS:,.0f})")
    print(f"latency p50      {figures.p50_ms:.1f} ms")
    print(f"latency p99      {figures.p99_ms:.1f} ms (target < {TARGET_P99_MS:.0f})")
    cpu_ms = figures.server_cpu_s * 1000 / max(figures.requests, 1)
    ceiling = (os.cpu_count() or 1) * 1000 / cpu_ms if cpu_ms else 0.0
    print(f"server CPU       {cpu_ms:.2f} ms per request (all cores busy: {ceiling:,.0f} requests/s)")
    print(f"target           {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
