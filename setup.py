"""Build the engine's C hot loop (wikitop._native); everything else is configured in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and wikitop ranks with
its Arrow engine: the same answers, about 2.3 times slower (see README, "Performance").
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "wikitop._native",
            sources=["src/wikitop/_native.c"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        )
    ]
)
