"""Helpers shared by the tests and the benchmarks; never shipped in the wheel.

- `dumpgen`: realistic hourly dumps (Wikimedia's key order, every quirk);
- `server`: a real HTTP server on loopback playing dumps.wikimedia.org, with faults;
- `reference`: the independent, deliberately naive oracle that every engine is compared with;
- `requirements`: skip-or-fail when a server or tool is missing (CI turns skips into failures);
- `workspace`: a temporary data dir and dump mirror, and `wikitop` run in-process against them.

Tests import them as `support.*` (pytest puts `tests/` on sys.path, see pyproject.toml); the
benchmarks add `tests/` to sys.path in bench/common.py.
"""
