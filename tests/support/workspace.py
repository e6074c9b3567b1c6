"""A temporary data dir, a local dump mirror, and `wikitop` run in-process against them."""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner, Result
from pytest import MonkeyPatch

from support.dumpgen import DumpSpec, write_dump
from wikitop.cli import main
from wikitop.hours import dump_path, parse_hour


@dataclass
class Workspace:
    """A temporary data dir, a local dump mirror and the settings environment that points at them."""

    root: Path
    env: dict[str, str]

    @property
    def mirror(self) -> Path:
        return self.root / "mirror"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def add_dump(
        self, hour: str | datetime, spec: DumpSpec | None = None, lines: list[str] | None = None
    ) -> Path:
        """Write the dump of `hour` into the mirror, generated from `spec` or from literal lines."""
        moment = parse_hour(hour) if isinstance(hour, str) else hour
        path = self.mirror / dump_path(moment)
        if lines is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress("".join(line + "\n" for line in lines).encode()))
            return path
        return write_dump(path, spec or DumpSpec(lines=2_000, domains=20, seed=moment.hour))

    def result(self, hour: str) -> Path:
        moment = parse_hour(hour)
        return self.data_dir / "reports" / moment.strftime("%Y/%Y-%m/top-%Y%m%d-%H.csv")

    def run(self, *args: str, **env: str) -> Result:
        """Run `wikitop ARGS` in-process with this workspace's settings (plus overrides)."""
        return CliRunner().invoke(main, list(args), env={**self.env, **env}, catch_exceptions=False)


def record_waits(monkeypatch: MonkeyPatch) -> list[float]:
    """Make the pipeline's waits between tries return at once; the list gets each wait's seconds."""
    from wikitop import pipeline

    waits: list[float] = []

    def pause(delay_s: float, stop: threading.Event | None) -> bool:
        waits.append(delay_s)
        return False

    monkeypatch.setattr(pipeline, "pause", pause)
    return waits
