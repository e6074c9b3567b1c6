"""Build the engine's C hot loop (wikitop._native); everything else is configured in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and wikitop ranks with
its Arrow engine: the same answers, 2-3 times as slow (see README, "Performance").
"""

import sys

from setuptools import Extension, setup

# GCC and Clang flags; MSVC takes its defaults (and would refuse these).
COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3", "-std=c11"]

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
