"""The C engine built with AddressSanitizer and UndefinedBehaviorSanitizer, running the quirky workout.

valgrind (tests/test_native_memory.py) watches the optimised build's heap; the sanitizers, compiled
in, also catch overflows of the stack and of globals, and undefined behaviour (signed overflow,
misaligned or null pointers, shifts out of range) that valgrind cannot see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from support.requirements import missing

WORKOUT = Path(__file__).with_name("native_workout.py")
SOURCE = Path(__file__).resolve().parents[1] / "src" / "wikitop" / "_native.c"
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
# What the sanitizers print when they find something, whatever the kind.
REPORTS = (
    "ERROR: AddressSanitizer",
    "runtime error:",
    "SUMMARY: AddressSanitizer",
    "SUMMARY: UndefinedBehavior",
)


def gcc_with_asan() -> tuple[str, str]:
    """The GCC that builds the instrumented engine and the ASan runtime Python must preload."""
    gcc = shutil.which("gcc")
    if gcc is None:
        missing(
            "gcc is not installed (apt install gcc): the C engine is not run under the sanitizers",
            "WIKITOP_TEST_REQUIRE_NATIVE",
        )
    found = subprocess.run(
        [gcc, "-print-file-name=libasan.so"], capture_output=True, text=True
    ).stdout.strip()
    # Without the library, gcc prints the bare name back.
    if not Path(found).is_absolute() or not Path(found).exists():
        missing(
            "GCC's AddressSanitizer runtime is not installed (apt install libasan8)",
            "WIKITOP_TEST_REQUIRE_NATIVE",
        )
    return gcc, found


def build_sanitized(gcc: str, out_dir: Path, defines: list[str]) -> Path:
    """Compile _native.c with both sanitizers into `out_dir`, warnings as errors as setup.py does."""
    module = out_dir / f"_native{sysconfig.get_config_var('EXT_SUFFIX')}"
    paths = sysconfig.get_paths()
    includes = [f"-I{paths['include']}", f"-I{paths['platinclude']}"]
    flags = ["-shared", "-fPIC", "-O1", "-g", "-std=c11", "-Wall", "-Wextra", "-Werror", *SANITIZE, *defines]
    built = subprocess.run(
        [gcc, *flags, *includes, str(SOURCE), "-o", str(module)], capture_output=True, text=True
    )
    assert built.returncode == 0, f"the sanitizer build failed:\n{built.stderr}"
    return module


@pytest.mark.slow
# The line scanner finds separators 16 bytes at a time with SSE2 where the CPU has it, one byte at
# a time elsewhere (or with -DWIKITOP_SCALAR_SCAN): both builds must give the oracle's answers.
@pytest.mark.parametrize("defines", [[], ["-DWIKITOP_SCALAR_SCAN"]], ids=["native-scan", "scalar-scan"])
def test_c_engine_runs_clean_under_address_and_undefined_behaviour_sanitizers(
    tmp_path: Path, defines: list[str]
) -> None:
    gcc, libasan = gcc_with_asan()
    module = build_sanitized(gcc, tmp_path, defines)
    env = {
        **os.environ,
        # Python is not instrumented: the ASan runtime must be loaded before it to intercept malloc.
        "LD_PRELOAD": libasan,
        # Python never frees some of its own memory at exit; the engine's leaks are valgrind's job.
        "ASAN_OPTIONS": "detect_leaks=0",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
        # Every allocation through malloc, so that ASan also guards Python objects the engine writes.
        "PYTHONMALLOC": "malloc",
    }
    run = subprocess.run(
        [sys.executable, str(WORKOUT), "--native", str(module)],
        env=env,
        capture_output=True,
        text=True,
        cwd=WORKOUT.parent,
    )
    reports = [line for line in run.stderr.splitlines() if any(report in line for report in REPORTS)]
    assert reports == [], run.stderr[-5000:]
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "all answers match the oracle" in run.stdout
