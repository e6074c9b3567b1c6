"""The package as users install it: with a C compiler (the C engine) or without one (Arrow only)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_RANK_WITHOUT_NATIVE = """
import io, sys
sys.modules["wikitop._native"] = None  # what an install without a C compiler looks like: no module
from wikitop.blacklist import Blacklist, percent_decode
from wikitop.ranking import native, rank_stream
data = b"en B 5 0\\nen C%20D 7 0\\nen A 9 0\\nde X 1 0\\n"
ranking = rank_stream(lambda: io.BytesIO(data), Blacklist.parse(b"en C D\\n"), 2)
print(native.AVAILABLE, percent_decode.__module__, "pyarrow" in sys.modules)
print([(p.domain_code, p.rank, p.page_title, p.views) for p in ranking.pages], ranking.lines_read)
"""


def test_without_the_c_engine_everything_runs_on_arrow() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _RANK_WITHOUT_NATIVE], capture_output=True, text=True, check=True
    )
    flags, rows = result.stdout.splitlines()
    assert flags == "False wikitop.blacklist True"
    assert rows == "[('de', 1, 'X', 1), ('en', 1, 'A', 9), ('en', 2, 'B', 5)] 4"


@pytest.mark.slow
def test_wheel_builds_without_a_c_compiler(tmp_path: Path) -> None:
    """The C extension is optional: with no working compiler the wheel still builds, without it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", "dist", "."]
    built = subprocess.run(
        build, cwd=source, env={"PATH": "/usr/bin:/bin", "CC": "false"}, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (source / "dist").glob("wikitop-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [name for name in names if name.endswith((".so", ".pyd", ".c"))]
    expected = {"wikitop/ranking/arrow.py", "wikitop/_native.pyi", "wikitop/state/migrations/script.py.mako"}
    assert expected <= set(names)
