"""The C engine's memory, checked by valgrind's memcheck while it ranks small quirky dumps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.requirements import missing, require_native_engine

WORKOUT = Path(__file__).with_name("native_workout.py")
# A frame in the C engine: "(_native.c:123)" with debug symbols, "(in .../_native.cpython-...so)" without.
_IN_NATIVE = re.compile(r"_native\.(c:\d|cpython)")


def native_errors(report: str) -> list[str]:
    """The error and leak records of a valgrind report whose stack goes through the C engine."""
    records = re.split(r"\n==\d+== \n", report)
    return [record for record in records if _IN_NATIVE.search(record)]


@pytest.mark.slow
# Everything under valgrind, the Python oracle included, runs ~50 times slower: about 4 minutes here.
@pytest.mark.timeout(900)
def test_c_engine_reads_writes_and_frees_only_its_own_memory() -> None:
    require_native_engine()
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        message = "valgrind is not installed (apt install valgrind): the C engine's memory is not checked"
        missing(message, "WIKITOP_TEST_REQUIRE_NATIVE")
    command = [valgrind, "--leak-check=full", "--show-leak-kinds=definite", "--num-callers=40"]
    # PYTHONMALLOC=malloc: every allocation goes through valgrind, not through CPython's pools.
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    run = subprocess.run(
        [*command, sys.executable, str(WORKOUT)], env=env, capture_output=True, text=True, cwd=WORKOUT.parent
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "all answers match the oracle" in run.stdout
    assert "ERROR SUMMARY" in run.stderr, "valgrind did not run to the end"
    assert native_errors(run.stderr) == []
