"""Start-up benchmark: how long the quick commands take, against a Python that imports click.

Each round runs, in turn, the baseline `python -c "import click, sqlite3, json"` (an interpreter
and a CLI library: the floor of any click command), `wikitop --version`, `wikitop --help` and
`wikitop status START END` (24 hours on a SQLite state holding 48); prints the medians and their
ratio to the baseline. `--before DIR` also runs the three commands on another checkout's code (its
src/ put first on PYTHONPATH), alternated in the same rounds, so that the code before a change is
timed by the same script on the same machine at the same time. `--parts` also times what the
status command is made of: importing SQLAlchemy (which it no longer does on SQLite), and loading
the settings (pydantic and the Settings model), and, when it is installed, importing
pydantic-settings, on which the settings were built before:

    python bench/bench_startup.py [--runs 21] [--before ../other-checkout/src] [--parts]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine_description

WIKITOP = [sys.executable, "-m", "wikitop"]
FIRST, STATUS_END = "2020010100", "2020010123"
# The state the status command reads: 48 hours asked, half of them shown.
MAKE_STATE = """
import sys
from wikitop.state import open_state_store
store = open_state_store(sys.argv[1])
store.enqueue([f"202001{day:02d}{hour:02d}" for day in (1, 2) for hour in range(24)], max_tries=3)
store.close()
"""


PARTS = {
    "import sqlalchemy": "import click, sqlite3, json, sqlalchemy",
    "load settings": "import click, sqlite3, json\nfrom wikitop.settings import load_settings\nload_settings()",
    # What the settings were built on before (no longer a dependency: timed only when installed).
    "import pydantic-settings": "import click, sqlite3, json, pydantic_settings",
}


def commands(before: bool, parts: bool) -> dict[str, list[str]]:
    """The baseline and the measured commands, by name; "(before)" ones run the other checkout."""
    measured = {
        "--version": [*WIKITOP, "--version"],
        "--help": [*WIKITOP, "--help"],
        "status": [*WIKITOP, "status", FIRST, STATUS_END],
    }
    named = {"baseline": [sys.executable, "-c", "import click, sqlite3, json"], **measured}
    if before:
        named.update({f"{name} (before)": command for name, command in measured.items()})
    if parts:
        present = {
            name: code
            for name, code in PARTS.items()
            if "pydantic_settings" not in code or _has_pydantic_settings()
        }
        named.update({name: [sys.executable, "-c", code] for name, code in present.items()})
    return named


def _has_pydantic_settings() -> bool:
    return importlib.util.find_spec("pydantic_settings") is not None


def environment(data_dir: Path, src: Path | None) -> dict[str, str]:
    """No WIKITOP_* of the caller's; the data dir given; another checkout's code first if asked."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    env["WIKITOP_DATA_DIR"] = str(data_dir)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src.resolve()), env.get("PYTHONPATH")]))
    return env


def time_once(command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one run; a command that fails stops the benchmark."""
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(runs: int, before: Path | None, parts: bool) -> dict[str, list[float]]:
    """Seconds of every run of every command, the commands alternated in each round."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = environment(root / "data", None)
        before_env = environment(root / "data", before)
        url = f"sqlite:///{root / 'data' / 'state.sqlite3'}"
        subprocess.run([sys.executable, "-c", MAKE_STATE, url], env=env, check=True)
        named = commands(before is not None, parts)
        envs = {name: before_env if name.endswith("(before)") else env for name in named}
        # One untimed round: the first run of each command fills the OS's file cache.
        for name, command in named.items():
            time_once(command, envs[name], root)
        times: dict[str, list[float]] = {name: [] for name in named}
        for _ in range(runs):
            for name, command in named.items():
                times[name].append(time_once(command, envs[name], root))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=21, help="alternated rounds (default 21)")
    parser.add_argument("--before", type=Path, default=None, help="also time this src/ directory's wikitop")
    parser.add_argument("--parts", action="store_true", help="also time SQLAlchemy's import and the settings")
    args = parser.parse_args()
    print(machine_description())
    times = measure(args.runs, args.before, args.parts)
    print(f"medians of {args.runs} alternated runs; load average at the end {os.getloadavg()[0]:.2f}:")
    baseline = statistics.median(times["baseline"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} {median:6.3f} s  {median / baseline:5.2f}x baseline")


if __name__ == "__main__":
    main()
