"""Build the engine's C hot loop (wikitop._native); everything else is configured in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and wikitop ranks with
its Arrow engine: the same answers, 2-3 times as slow (see README, "Performance").
"""

import sys

from setuptools import Extension, setup

# GCC and Clang flags; MSVC takes its defaults (and would refuse these). Warnings are errors: a C
# engine that compiles with a warning is not built (the extension is optional), which the tests,
# required to find it in CI (WIKITOP_TEST_REQUIRE_NATIVE=1), then report.
WARNINGS = ["-Wall", "-Wextra", "-Werror"]
COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3", "-std=c11", *WARNINGS]

setup(
    ext_modules=[
        Extension(
            "wikitop._native",
            sources=["src/wikitop/_native.c"],
            extra_compile_args=COMPILE_ARGS,
            optional=True,
        )
    ]
)
