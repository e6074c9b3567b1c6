"""`wikitop run`'s progress: a live bar under a real pseudo-terminal, plain whole lines in a pipe."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from support.dumpgen import DumpSpec
from support.server import FakeWikimedia
from support.workspace import Workspace
from wikitop.progress import Figures

HOURS = ["2020010115", "2020010116", "2020010117"]
# Runs `wikitop ARGS` and writes, when it exits, whether rich was loaded.
RUN_AND_LIST = """
import atexit, json, sys
listing, args = sys.argv[1], sys.argv[2:]
atexit.register(lambda: open(listing, "w").write(json.dumps(sorted(sys.modules))))
from wikitop.cli import main
main(args, prog_name="wikitop")
"""
# Colours and styles, which leave a line whole; cursor moves and erasing, which start another.
STYLE = re.compile(r"\x1b\[[0-9;]*m")
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def mirror_with_dumps(workspace: Workspace, hours: list[str], lines: int) -> None:
    for index, hour in enumerate(hours):
        workspace.add_dump(hour, DumpSpec(lines=lines, domains=20, seed=index))


def command(
    workspace: Workspace, listing: Path, dumps_url: str, hours: list[str]
) -> tuple[list[str], dict[str, str]]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("WIKITOP_")}
    env.update(workspace.env, WIKITOP_DUMPS_URL=dumps_url, TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    args = [sys.executable, "-c", RUN_AND_LIST, str(listing), "run", hours[0], hours[-1], "--jobs", "1"]
    return args, env


def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal 160 columns wide; return exit code, stdout and the screen text."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, env=env, text=True
    )
    os.close(terminal)
    screen = bytearray()
    while True:
        try:
            data = os.read(controller, 65536)
        except OSError:  # EIO: the child closed its end of the terminal
            break
        if not data:
            break
        screen += data
    os.close(controller)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout, screen.decode("utf-8", "replace")


@pytest.mark.slow
def test_a_terminal_shows_a_bar_with_hours_bytes_rate_and_time_left(
    workspace: Workspace, tmp_path: Path
) -> None:
    hours = HOURS[:2]
    # ~1.6 MB an hour (the download reports every MiB), ~2.5 s each at this throttle: the bar is
    # drawn while the first hour downloads, and between the two.
    mirror_with_dumps(workspace, hours, lines=200_000)
    listing = tmp_path / "modules.json"
    with FakeWikimedia(workspace.mirror, throttle_bytes_per_s=650_000) as server:
        code, stdout, screen = run_in_terminal(*command(workspace, listing, server.url, hours))

    assert code == 0, screen
    assert "2/2 hours have a result" in stdout
    text = CONTROL.sub("\n", STYLE.sub("", screen))
    frames = [line.strip() for line in text.splitlines() if line.startswith("hours ")]
    size = r"\d+\.\d [kM]B"
    figures = rf"{size}, {size}/s"
    # Downloading the first hour: the bytes so far and their rate, no time left to tell yet.
    first = rf"hours ━+ 0/2 1\.0 MB, {size}/s, time left unknown"
    assert any(re.fullmatch(first, frame) for frame in frames), frames
    # After the first hour: the time left at that pace.
    assert any(re.fullmatch(rf"hours .+ 1/2 {figures}, 0:00:0\d left", frame) for frame in frames), frames
    assert re.fullmatch(rf"hours ━+ 2/2 {figures}, 0:00:00 left", frames[-1]), frames
    # Each finished hour is also said on its own line, above the bar.
    for index, hour in enumerate(hours, start=1):
        line = rf"^\[{index}/2\] {hour} computed: \d+ rows in \d+\.\d s, 1\.\d MB$"
        assert re.search(line, text, re.MULTILINE), text
    assert "rich" in json.loads(listing.read_text())


def test_a_pipe_gets_one_plain_line_per_hour_and_no_bar(workspace: Workspace, tmp_path: Path) -> None:
    mirror_with_dumps(workspace, HOURS, lines=3_000)
    listing = tmp_path / "modules.json"
    args, env = command(workspace, listing, str(workspace.mirror), HOURS)

    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 3, run.stderr
    for index, (line, hour) in enumerate(zip(lines, HOURS, strict=True), start=1):
        # A dump read from a local mirror counts its size as read.
        assert re.fullmatch(rf"\[{index}/3\] {hour} computed: \d+ rows in \d+\.\d s, \d+\.\d kB", line), line
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
    assert "rich" not in {name.split(".")[0] for name in json.loads(listing.read_text())}


def test_time_left_follows_the_pace_of_the_hours_done() -> None:
    assert Figures(done=0, total=4, bytes_read=0, elapsed_s=0.0).describe() == (
        "0 B, 0 B/s, time left unknown"
    )
    # 2 hours in 90 s: 2 more take another 90 s; 30 MB in 90 s.
    assert Figures(done=2, total=4, bytes_read=30_000_000, elapsed_s=90.0).describe() == (
        "30.0 MB, 333.3 kB/s, 0:01:30 left"
    )
    assert Figures(done=3, total=3, bytes_read=1, elapsed_s=4000.0).left_s == 0.0
    assert Figures(done=1, total=3, bytes_read=1, elapsed_s=3599.6).describe().endswith("1:59:59 left")
