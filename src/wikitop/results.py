"""Result files: render a Ranking as CSV and store it atomically under one fsspec URL.

A local directory (the default), `s3://bucket/prefix`, `gs://...` or `memory://` all go through
fsspec. Atomicity: locally the file is written next to its final path and renamed over it; on
object stores a single PUT is atomic, so readers never see a partial object.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from datetime import datetime
from typing import Any

import fsspec

from wikitop.hours import result_path
from wikitop.ranking import RankedPage

CSV_HEADER = ("domain_code", "rank", "page_title", "views")


def render_csv(pages: list[RankedPage]) -> bytes:
    """Render ranked pages as UTF-8 CSV with the header `domain_code,rank,page_title,views`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows((page.domain, page.rank, page.title, page.views) for page in pages)
    return buffer.getvalue().encode("utf-8")


class ResultStore:
    """Reads and writes the hourly result files under one base URL or directory."""

    def __init__(self, base_url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._fs, self._root = fsspec.core.url_to_fs(self.base_url, **(storage_options or {}))
        self._local = "file" in _protocols(self._fs)

    def location(self, hour: datetime) -> str:
        """The full path or URL of the hour's result file."""
        return f"{self.base_url}/{result_path(hour)}"

    def _path(self, hour: datetime) -> str:
        return f"{self._root}/{result_path(hour)}"

    def exists(self, hour: datetime) -> bool:
        """Tell whether the hour's result file exists."""
        return bool(self._fs.exists(self._path(hour)))

    def read(self, hour: datetime) -> bytes:
        """Return the hour's result file; FileNotFoundError when it does not exist."""
        return bytes(self._fs.cat_file(self._path(hour)))

    def write(self, hour: datetime, data: bytes) -> str:
        """Store the hour's result atomically and return its location."""
        path = self._path(hour)
        if self._local:
            parent = os.path.dirname(path)
            os.makedirs(parent, exist_ok=True)
            partial = os.path.join(parent, f".{uuid.uuid4().hex}.part")
            with open(partial, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        else:
            self._fs.pipe_file(path, data)
        return self.location(hour)

    def ping(self) -> None:
        """Raise if the storage cannot be reached."""
        if self._local:
            os.makedirs(self._root, exist_ok=True)
        else:
            self._fs.ls(self._root.split("/")[0])


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
