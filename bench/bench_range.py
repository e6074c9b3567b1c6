"""Range benchmark: a 24-hour range against a throttled local Wikimedia, vs the network floor.

The fake server caps each connection at --rate bytes/s (Wikimedia serves about 5 MB/s per
connection) and answers 503 beyond 3 connections, as Wikimedia does. With
WIKITOP_DOWNLOAD_CONCURRENCY=3 the floor is total bytes / (3 x rate).

Mode cli times `wikitop run START END --jobs N`. Mode service starts a real `wikitop serve
--workers N`, waits for /readyz, asks for the whole range with one POST /api/v1/reports and polls
GET /api/v1/reports until every hour is a success: it is timed from that POST to the last success.
Each mode gets a fresh fake server and data directory. For each mode the script prints the wall
time, the floor, their ratio, and what the fake server saw: the most connections at once, its 503
answers and its downloads (one per hour, unless an hour was fetched twice).

    python bench/bench_range.py [--mode cli|service|both] [--hours 24] [--rate 5e6] [--jobs 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from common import HOUR, free_port, realistic_dump
from support.server import FakeWikimedia, RecordedRequest
from wikitop.hours import dump_path, format_hour

MODES = ("cli", "service")
POLL_S = 0.2
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Figures:
    """What one mode measured: its wall time, and what the fake server saw meanwhile."""

    mode: str
    wall_s: float
    peak_connections: int
    rejected: int
    downloads: int


def build_mirror(root: Path, hours: int, lines: int) -> int:
    """Link the benchmark hour under `hours` consecutive names; return the total bytes."""
    source = realistic_dump(lines, 1500, 1)
    for offset in range(hours):
        target = root / dump_path(HOUR + timedelta(hours=offset))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)
    return source.stat().st_size * hours


def wikitop_env(dumps_url: str, data_dir: Path) -> dict[str, str]:
    """Return the environment of a wikitop process downloading from `dumps_url` into `data_dir`."""
    return {
        **os.environ,
        "WIKITOP_DATA_DIR": str(data_dir),
        "WIKITOP_DUMPS_URL": dumps_url,
        "WIKITOP_BLACKLIST_URL": "",
        "WIKITOP_DOWNLOAD_CONCURRENCY": "3",
        # Other benchmarks may run a worker at the same time: do not race them for the metrics port.
        "WIKITOP_WORKER_METRICS_PORT": "0",
    }


def measure(mode: str, mirror: Path, work_dir: Path, args: argparse.Namespace) -> Figures:
    """Compute the range in `mode` against a fresh throttled fake server; return the figures."""
    first, last = format_hour(HOUR), format_hour(HOUR + timedelta(hours=args.hours - 1))
    work_dir.mkdir()
    with FakeWikimedia(mirror, max_connections=3, throttle_bytes_per_s=args.rate) as server:
        env = wikitop_env(server.url, work_dir / "data")
        if mode == "cli":
            wall_s = run_cli(env, first, last, args.jobs)
        else:
            wall_s = run_service(env, first, last, args.jobs, work_dir / "serve.log")
        if args.requests:
            print_requests(mode, server.requests)
        statuses = [request.status for request in server.requests if request.method == "GET"]
    return Figures(mode, wall_s, server.max_concurrent, statuses.count(503), statuses.count(200))


def run_cli(env: dict[str, str], first: str, last: str, jobs: int) -> float:
    """Run `wikitop run first last`; return its wall seconds."""
    command = [sys.executable, "-m", "wikitop", "run", first, last, "--jobs", str(jobs)]
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_service(env: dict[str, str], first: str, last: str, workers: int, log_path: Path) -> float:
    """Ask a fresh `wikitop serve` for first..last in one request; return the seconds until all are done."""
    with started_service(env, workers, log_path) as service:
        service.wait_ready()
        started = time.perf_counter()
        service.ask(first, last)
        service.wait_done(first, last)
        return time.perf_counter() - started


@contextmanager
def started_service(env: dict[str, str], workers: int, log_path: Path) -> Iterator[Service]:
    """Start `wikitop serve` on a free port, logging to `log_path`; stop it when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "wikitop", "serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    try:
        yield service
    finally:
        service.stop()


@dataclass(frozen=True)
class Service:
    """A running `wikitop serve`: its process, the address of its API and its log file."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def wait_ready(self) -> None:
        """Wait until the service answers /readyz with 200."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(POLL_S)
        raise SystemExit(f"wikitop serve was not ready within {READY_TIMEOUT_S:.0f} s:\n{self.log_tail()}")

    def ask(self, first: str, last: str) -> None:
        """Ask for the whole range first..last with one request."""
        body = {"start": first, "end": last}
        httpx.post(f"{self.base_url}/api/v1/reports", json=body, timeout=30).raise_for_status()

    def wait_done(self, first: str, last: str) -> None:
        """Poll the states of first..last until all are a success; exit if one failed or is unavailable."""
        query = {"start": first, "end": last, "limit": "1000"}
        while True:
            self.check_alive()
            items = httpx.get(f"{self.base_url}/api/v1/reports", params=query, timeout=30).json()["items"]
            given_up = [item for item in items if item["status"] in ("failed", "unavailable")]
            if given_up:
                problems = "; ".join(f"{item['hour']} {item['status']}: {item['error']}" for item in given_up)
                raise SystemExit(f"the service gave up on hours: {problems}")
            if all(item["status"] == "success" for item in items):
                return
            time.sleep(POLL_S)

    def check_alive(self) -> None:
        """Exit with the end of the log when the service process has ended."""
        if self.process.poll() is not None:
            raise SystemExit(f"wikitop serve exited with {self.process.returncode}:\n{self.log_tail()}")

    def log_tail(self) -> str:
        """Return the end of the log (it lives in a scratch directory deleted at exit)."""
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """Stop the service as an operator would (SIGTERM) and wait; kill it if it overstays."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            print(f"wikitop serve still ran {STOP_TIMEOUT_S:.0f} s after SIGTERM: killed", file=sys.stderr)


def print_requests(mode: str, requests: list[RecordedRequest]) -> None:
    """Print each request the fake server answered: path, status, size and duration."""
    for request in requests:
        duration_s = (request.finished_at or 0) - request.started_at
        size_mb = request.body_bytes / 1e6
        print(f"  {mode:<8} {request.path[-28:]} {request.status} {size_mb:.1f} MB in {duration_s:.1f} s")


def print_figures(figures: list[Figures], floor_s: float) -> None:
    """Print one line per mode: wall time, floor, ratio, peak connections, 503s and downloads."""
    print(
        f"{'mode':<8} {'wall s':>7} {'floor s':>7} {'ratio':>6} {'peak conns':>10} {'503s':>5} {'downloads':>9}"
    )
    for figure in figures:
        print(
            f"{figure.mode:<8} {figure.wall_s:>7.1f} {floor_s:>7.1f} {figure.wall_s / floor_s:>5.2f}x"
            f" {figure.peak_connections:>10} {figure.rejected:>5} {figure.downloads:>9}"
        )


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=[*MODES, "both"], default="both")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--rate", type=float, default=5e6, help="bytes/s per connection")
    # One more than the 3 download slots: a slot freed by a finished download is taken at once.
    parser.add_argument(
        "--jobs", type=int, default=4, help="hours at once: `run --jobs` threads, `serve --workers` processes"
    )
    parser.add_argument("--lines", type=int, default=5_700_000)
    parser.add_argument("--requests", action="store_true", help="also list every request of the fake server")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    modes = MODES if args.mode == "both" else (args.mode,)
    with tempfile.TemporaryDirectory() as scratch:
        mirror = Path(scratch) / "mirror"
        total_bytes = build_mirror(mirror, args.hours, args.lines)
        figures = [measure(mode, mirror, Path(scratch) / mode, args) for mode in modes]
    print(
        f"{args.hours} hours, {total_bytes / 1e6:,.0f} MB, {args.rate / 1e6:.1f} MB/s per connection,"
        f" {args.jobs} hours at once (run --jobs / serve --workers)"
    )
    print_figures(figures, total_bytes / (3 * args.rate))


if __name__ == "__main__":
    main()
