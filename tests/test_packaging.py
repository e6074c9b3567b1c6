"""The package as users install it: with a C compiler (the C engine) or without one (Arrow only).

The wheel ships wikitop alone: no test code, and no import of a package that a runtime install lacks.
That is checked on the wheel's own files, statically (every `import` statement, lazy ones included):
importing each module here would prove nothing, as the test packages (polars, pytest, moto...) are
installed in this virtualenv, and a fresh runtime-only virtualenv would cost a minute of downloads.
"""

from __future__ import annotations

import ast
import email
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


@pytest.fixture(scope="module")
def arrow_only_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel that pip builds where no C compiler works (`CC=false`): the same files but the C engine."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", "dist", "."]
    built = subprocess.run(
        build, cwd=source, env={"PATH": "/usr/bin:/bin", "CC": "false"}, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (source / "dist").glob("wikitop-*.whl")
    return wheel


@pytest.mark.slow
def test_wheel_builds_without_a_c_compiler(arrow_only_wheel: Path) -> None:
    """The C extension is optional: with no working compiler the wheel still builds, without it."""
    names = zipfile.ZipFile(arrow_only_wheel).namelist()
    assert not [name for name in names if name.endswith((".so", ".pyd", ".c"))]
    expected = {
        "wikitop/ranking/arrow.py",
        "wikitop/_native.pyi",
        "wikitop/state/migrations/script.py.mako",
        "wikitop/web/templates/hour.html",
        "wikitop/web/templates/overview.html",
        "wikitop/web/static/dashboard.css",
        "wikitop/web/static/dashboard.js",
    }
    assert expected <= set(names)


@pytest.mark.slow
def test_wheel_ships_wikitop_and_no_test_code(arrow_only_wheel: Path) -> None:
    names = zipfile.ZipFile(arrow_only_wheel).namelist()
    version = arrow_only_wheel.name.split("-")[1]
    assert {name.split("/")[0] for name in names} == {"wikitop", f"wikitop-{version}.dist-info"}
    assert not [name for name in names if re.search(r"(^|/)(tests?|testing|support|conftest)(/|\.py$)", name)]


_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def _runtime_imports(statements: Iterable[ast.AST], module_level: bool) -> Iterator[tuple[int, str, bool]]:
    """Each absolute import that runs (line, top-level name, whether on importing the module).

    Imports under `if TYPE_CHECKING:` never run; those in a function or guarded by `except ImportError`
    may fail without breaking the module's import.
    """
    for node in statements:
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            yield from _runtime_imports(node.orelse, module_level)
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name.split(".")[0], module_level) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0], module_level
        guarded = isinstance(node, ast.Try) and any(
            handler.type is not None and set(re.findall(r"\w+", ast.unparse(handler.type))) & _IMPORT_ERRORS
            for handler in node.handlers
        )
        lazy = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _runtime_imports(ast.iter_child_nodes(node), module_level and not (guarded or lazy))


def _installed_by(wheel: zipfile.ZipFile, extras: set[str]) -> set[str]:
    """The distributions that installing the wheel with `extras` brings, per this virtualenv's metadata."""
    (metadata_path,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    wheel_requires = email.message_from_bytes(wheel.read(metadata_path)).get_all("Requires-Dist") or []
    installed: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    wanted = [(requirement, frozenset(extras or {""})) for requirement in map(Requirement, wheel_requires)]
    while wanted:
        requirement, wanted_for = wanted.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in wanted_for):
            continue
        name, its_extras = canonicalize_name(requirement.name), frozenset(requirement.extras)
        if (name, its_extras) in seen:
            continue
        seen.add((name, its_extras))
        installed.add(name)
        wanted += [
            (Requirement(line), its_extras or frozenset({""})) for line in metadata.requires(name) or []
        ]
    return installed


@pytest.mark.slow
def test_wheel_modules_import_only_what_a_runtime_install_has(arrow_only_wheel: Path) -> None:
    """Imports on loading a module come from the base install; the backends' extras' only lazily."""
    providers = {
        name: {canonicalize_name(dist) for dist in dists}
        for name, dists in metadata.packages_distributions().items()
    }
    wheel = zipfile.ZipFile(arrow_only_wheel)
    base = _installed_by(wheel, set())
    with_extras = _installed_by(wheel, {"postgres", "s3", "redis", "spark"})
    assert {"psycopg", "s3fs", "redis"} <= with_extras - base
    assert not {"pytest", "polars", "moto", "boto3", "hypothesis"} & with_extras
    wrong = []
    for path in (name for name in wheel.namelist() if name.endswith(".py")):
        tree = ast.parse(wheel.read(path), path)
        for line, name, on_import in _runtime_imports(tree.body, module_level=True):
            allowed = base if on_import else with_extras
            if (
                name not in sys.stdlib_module_names
                and name != "wikitop"
                and not providers.get(name, set()) & allowed
            ):
                wrong.append(f"{path}:{line} imports {name}")
    assert not wrong, "imports that a runtime install cannot satisfy:\n" + "\n".join(wrong)


def _make(venv: Path, *arguments: str) -> list[str]:
    """Run make on the project's Makefile with its virtualenv at `venv`; the commands it ran (or would, -n)."""
    command = ["make", "--no-print-directory", "-C", str(ROOT), f"VENV={venv}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()


def _installs(commands: list[str]) -> list[str]:
    return [command for command in commands if " pip " in command]


def test_make_run_installs_the_service_alone_with_the_stock_pip(tmp_path: Path) -> None:
    commands = _make(tmp_path / "venv", "-n", "run")
    (install,) = _installs(commands)
    assert install.split()[-2:] == ["-e", "."]
    assert not [command for command in commands if "--upgrade" in command or "-U " in command]
    (test_install,) = _installs(_make(tmp_path / "venv", "-n", "pytest"))
    assert test_install.split()[-2:] == ["-e", "'.[test]'"]


def test_make_run_serves_following_every_new_hour(tmp_path: Path) -> None:
    from wikitop.cli import main as cli

    (serve,) = [command for command in _make(tmp_path / "venv", "-n", "run") if "wikitop serve" in command]
    arguments = serve.split("wikitop serve", 1)[1].split()
    assert cli.commands["serve"].make_context("wikitop serve", arguments).params["follow"] is True


def test_make_installs_each_level_once(tmp_path: Path) -> None:
    """`make run` after `make test` installs nothing; `make test` after `make run`, only the test extras."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()  # the virtualenv exists; `true` stands for pip below
    _make(venv, "PIP_INSTALL=true", str(venv / ".installed-test"))
    assert _installs(_make(venv, "-n", "run")) == []
    (venv / ".installed-test").unlink()
    assert [command.split()[-1] for command in _installs(_make(venv, "-n", "test"))] == ["'.[test]'"]
