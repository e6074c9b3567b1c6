"""Dashboard benchmark: how long `GET /hours/<hour>?domain=en` takes from a real `wikitop api`, results on local disk.

Seeds --hours consecutive hours whose result files have a real hour's size (TOP_DOMAINS domain codes
x 25 pages, ~42,000 rows, ~1.5 MB), each ranking `en` differently, starts `wikitop api --workers 1`,
then times one client's requests, alternating in every round:

- warm: the hour page of one hour again and again (its three hours parsed and cached), against the
  baseline `GET /api/v1/reports/<hour>/top?domain=en` of the same hour and `GET /healthz`;
- cold: the hour page of a domain code not seen before (its rows of the hour, the hour before and the
  day before all read from disk), against `/top` of an hour not cached (the whole file parsed).

Prints medians and p95 in ms, and each page's median as a ratio to its baseline's. The target is
200 ms for an hour page.

    python bench/bench_dashboard.py [--rounds 40] [--hours 60]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench_api import PROVENANCE, TOP_DOMAINS, start_api
from common import free_port
from wikitop.hours import format_hour, parse_hour
from wikitop.ranking import RankedPage
from wikitop.results import ResultStore, render_csv
from wikitop.state import open_state_store

TARGET_MS = 200.0
FIRST_HOUR = datetime(2020, 1, 1, tzinfo=UTC)
EN_TITLES = ["Main_Page", "Special:Search", "-", *(f"Article_{index}" for index in range(60))]


def hour_pages(seed: int) -> list[RankedPage]:
    """One hour's result: `en` draws its 25 pages from EN_TITLES in a seeded order; other codes are fixed."""
    rng = random.Random(seed)
    en = rng.sample(EN_TITLES, 25)
    pages = [RankedPage("en", rank, title, 100_000 - 1000 * rank) for rank, title in enumerate(en, 1)]
    pages += [
        RankedPage(f"d{domain}", rank, f"Page_{domain}_{rank}", 1000 - rank)
        for domain in range(TOP_DOMAINS)
        for rank in range(1, 26)
    ]
    return pages


def seed(data_dir: Path, count: int) -> list[str]:
    """Write `count` consecutive success hours with real-sized results; return them."""
    hours = [format_hour(FIRST_HOUR + timedelta(hours=index)) for index in range(count)]
    results = ResultStore(str(data_dir / "reports"))
    store = open_state_store(f"sqlite:///{data_dir / 'state.sqlite3'}")
    try:
        store.enqueue(hours, 3)
        for index, hour in enumerate(hours):
            store.claim(hour, "bench", 60.0, 3)
            location = results.write(parse_hour(hour), render_csv(hour_pages(index)))
            store.finish_success(hour, "bench", location, PROVENANCE)
    finally:
        store.close()
    return hours


def timed_get(client: httpx.Client, path: str) -> float:
    """GET the path; return the milliseconds until the whole body arrived (any answer but 200 stops the run)."""
    started = time.perf_counter()
    response = client.get(path)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed_ms


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20)[-1]


def measure(base: str, hours: list[str], rounds: int) -> dict[str, list[float]]:
    """Time the warm kinds, alternating once per round, then the cold ones; return each kind's latencies."""
    # The day before must exist: pages of the last day of the seeded hours.
    late = hours[24:]
    warm = late[len(late) // 2]
    phases: list[dict[str, Callable[[int], str]]] = [
        {
            "healthz": lambda _: "/healthz",
            "top warm": lambda _: f"/api/v1/reports/{warm}/top?domain=en",
            "page warm": lambda _: f"/hours/{warm}?domain=en",
        },
        {
            # Every round another hour for /top (4 parsed hours are cached, the rounds cycle over
            # more) and another domain code for the page (none of its three hours' rows cached).
            "top cold": lambda index: f"/api/v1/reports/{late[(7 * index) % len(late)]}/top?domain=en",
            "page cold": lambda index: f"/hours/{late[(7 * index + 3) % len(late)]}?domain=d{index}",
        },
    ]
    latencies: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for phase in phases:
            for kind, path in phase.items():  # warm-up: imports, templates, first parses
                latencies[kind] = []
                timed_get(client, path(rounds + 1))
            for index in range(rounds):
                for kind, path in phase.items():
                    latencies[kind].append(timed_get(client, path(index)))
    return latencies


def report(latencies: dict[str, list[float]]) -> None:
    """Print medians and p95, and the pages' ratios to their baselines."""
    medians = {kind: statistics.median(values) for kind, values in latencies.items()}
    for kind, values in latencies.items():
        print(f"{kind:10s} median {medians[kind]:7.1f} ms   p95 {p95(values):7.1f} ms   n={len(values)}")
    for page, baseline in (("page warm", "top warm"), ("page cold", "top cold"), ("page warm", "healthz")):
        print(f"{page} / {baseline}: {medians[page] / medians[baseline]:.2f}x")
    worst = max(p95(latencies["page warm"]), p95(latencies["page cold"]))
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"hour page p95 (worst of warm and cold): {worst:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--hours", type=int, default=60, help="seeded hours (more than 24 + the cache's 6)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wikitop-bench-dashboard-") as work:
        data_dir = Path(work)
        print(f"seeding {args.hours} hours of {TOP_DOMAINS * 25 + 25:,} rows ...", file=sys.stderr)
        hours = seed(data_dir, args.hours)
        port = free_port()
        api = start_api(data_dir, port, workers=1)
        try:
            report(measure(f"http://127.0.0.1:{port}", hours, args.rounds))
        finally:
            api.terminate()
            api.wait(30)


if __name__ == "__main__":
    main()
