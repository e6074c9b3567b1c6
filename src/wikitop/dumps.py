"""One hourly dump: where it lives (Wikimedia, a mirror URL, a local directory or a data lake) and reading it.

A remote dump is read while it downloads: the body goes to the engine and to a file at once, so an
hour costs about its download time. The file serves a second read (the engine's path for unsorted
dumps) and, with WIKITOP_KEEP_DUMPS, becomes a local mirror. A mirror in a data lake (`s3://`,
`s3a://`, `hdfs://`: where the Spark job's users keep their dumps) is read through fsspec.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from isal import igzip

from wikitop.download import BodyReader, HttpFetcher, ProgressCallback, unreachable_reason
from wikitop.errors import (
    CorruptDumpError,
    CorruptFileError,
    DumpDownloadError,
    DumpNotPublishedError,
    HostUnreachableError,
    MirrorAccessError,
    MirrorNotFoundError,
    WikitopError,
)
from wikitop.hours import dump_path
from wikitop.inflate import open_gzip_file
from wikitop.results import LOCAL_PROTOCOLS, fsspec_options, open_filesystem, refused_for_good, url_protocol

T = TypeVar("T")
StreamOpener = Callable[[], BinaryIO]
# Bytes asked of an object store per request: few round trips for a ~45 MB dump.
_OBJECT_BLOCK_BYTES = 8 << 20


def is_remote(url: str) -> bool:
    """Tell whether a location is an http(s) URL rather than a local path."""
    return url.startswith(("http://", "https://"))


def is_object_store(url: str) -> bool:
    """Tell whether a location is a data lake URL (s3://, s3a://, hdfs://, gs://...) read through fsspec."""
    return not is_remote(url) and url_protocol(url) not in LOCAL_PROTOCOLS


def local_path(url: str) -> Path:
    """Turn a local location (a path or a file:// URL) into a Path."""
    return Path(url.removeprefix("file://"))


class DumpSource:
    """Reads the dump of an hour from a local directory, over HTTP or from a data lake (fsspec)."""

    def __init__(
        self,
        base_url: str,
        fetcher: HttpFetcher,
        work_dir: Path,
        keep_dir: Path | None,
        *,
        s3_endpoint_url: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._fetcher = fetcher
        self._work_dir = work_dir
        self._keep_dir = keep_dir
        self._s3_endpoint_url = s3_endpoint_url.strip()

    def url_for(self, hour: datetime) -> str:
        """The URL or path of the dump labelled `hour`."""
        return f"{self.base_url}/{dump_path(hour)}"

    def read(
        self, hour: datetime, consume: Callable[[StreamOpener], T], progress: ProgressCallback | None = None
    ) -> tuple[T, int]:
        """Give `consume` an opener of the hour's inflated dump; return its result and the dump's size.

        DumpNotPublishedError when the dump does not exist; CorruptDumpError when it is empty;
        MirrorNotFoundError when the local mirror itself does not exist; HostUnreachableError when
        the dumps server cannot be reached at all.
        """
        if is_object_store(self.base_url):
            return self._read_object(hour, consume)
        kept = self._keep_dir / dump_path(hour) if self._keep_dir else None
        if not is_remote(self.base_url) or (kept is not None and kept.is_file()):
            path = kept if kept is not None and kept.is_file() else self._mirror_file(hour)
            fix = "delete it to download it again" if path == kept else "replace it with a good copy"
            if not path.is_file():
                if path.exists():  # a directory in its place: no run will find a dump there by waiting
                    raise CorruptFileError(f"the dump file {path} is not a file (a directory?); {fix}")
                raise DumpNotPublishedError(f"{path} does not exist")
            with _corrupt_file(str(path), fix):
                size = _nonempty_size(path.stat().st_size, str(path))
                return consume(lambda: open_gzip_file(path)), size
        return self._download(hour, consume, progress, kept)

    def _mirror_file(self, hour: datetime) -> Path:
        """The hour's file in the local mirror; MirrorNotFoundError when the mirror directory is missing."""
        # A missing file in an existing mirror is an hour not published (yet); a missing mirror is
        # a mistyped setting, which "not published" would hide behind hours of re-checks.
        mirror = local_path(self.base_url)
        if not mirror.is_dir():
            problem = "is not a directory" if mirror.exists() else "does not exist"
            raise MirrorNotFoundError(
                f"WIKITOP_DUMPS_URL: the local mirror {mirror} {problem}; set it to a directory laid out "
                "like dumps.wikimedia.org/other/pageviews (YYYY/YYYY-MM/pageviews-*.gz) or to an http(s) URL"
            )
        return local_path(self.url_for(hour))

    def _read_object(self, hour: datetime, consume: Callable[[StreamOpener], T]) -> tuple[T, int]:
        """Read the hour's dump from a data lake: missing is not published, a missing mirror is a bad URL."""
        url = self.url_for(hour)
        options = fsspec_options(url_protocol(url), {}, self._s3_endpoint_url)
        try:
            fs, path = open_filesystem(url, options, "WIKITOP_DUMPS_URL")
            try:
                size = int(fs.size(path))
            except FileNotFoundError:
                _, root = open_filesystem(self.base_url, options, "WIKITOP_DUMPS_URL")
                if not fs.isdir(root):
                    raise MirrorNotFoundError(
                        f"WIKITOP_DUMPS_URL: the mirror {self.base_url} does not exist; set it to a "
                        "directory laid out like dumps.wikimedia.org/other/pageviews"
                    ) from None
                raise DumpNotPublishedError(f"{url} does not exist") from None
            with _corrupt_file(url, "replace it with a good copy"):
                _nonempty_size(size, url)
                return consume(lambda: _open_gzip_object(fs, path)), size
        except WikitopError:
            raise
        except Exception as exc:
            # A client library's own errors (no credentials, no connection) need not be OSErrors.
            reason = unreachable_reason(exc)
            if reason is not None:
                raise HostUnreachableError(
                    f"cannot reach the mirror {self.base_url}: {reason}; check the network or WIKITOP_DUMPS_URL"
                ) from exc
            if refused_for_good(exc, local=False):
                raise MirrorAccessError(
                    f"cannot read {url}: access refused ({type(exc).__name__}: {exc}); check the "
                    "credentials (AWS_* variables, the role) or WIKITOP_DUMPS_URL"
                ) from exc
            if isinstance(exc, OSError):
                raise
            raise DumpDownloadError(f"cannot read {url}: {type(exc).__name__}: {exc}") from exc

    def _download(
        self,
        hour: datetime,
        consume: Callable[[StreamOpener], T],
        progress: ProgressCallback | None,
        kept: Path | None,
    ) -> tuple[T, int]:
        """Read the hour's dump while it downloads, keeping the file in `kept` if asked."""
        self._work_dir.mkdir(parents=True, exist_ok=True)
        dest = self._work_dir / f"{uuid.uuid4().hex}-{Path(dump_path(hour)).name}"
        try:
            try:
                result, size = self._fetcher.stream_through(
                    self.url_for(hour), dest, lambda body: consume(_body_opener(body)), progress
                )
            except HostUnreachableError as exc:
                raise HostUnreachableError(f"{exc}; check the network or WIKITOP_DUMPS_URL") from exc
            _nonempty_size(size, self.url_for(hour))
            if kept is not None:
                kept.parent.mkdir(parents=True, exist_ok=True)
                dest.replace(kept)
            return result, size
        finally:
            dest.unlink(missing_ok=True)


def _body_opener(body: BodyReader) -> StreamOpener:
    """First open: inflate the body as it arrives. Later opens: the saved file, once fully received."""
    opened = False

    def open_stream() -> BinaryIO:
        nonlocal opened
        if not opened:
            opened = True
            stream: BinaryIO = igzip.GzipFile(fileobj=body, mode="rb")  # type: ignore[no-untyped-call,assignment]
            return stream
        body.drain()
        return open_gzip_file(body.path)

    return open_stream


def _open_gzip_object(fs: Any, path: str) -> BinaryIO:
    """Inflate an object of a data lake as it is read (ISA-L), closing the object with the stream."""
    raw = fs.open(path, "rb", block_size=_OBJECT_BLOCK_BYTES)
    stream: BinaryIO = igzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call,assignment]
    # GzipFile leaves a file object it was given open: close both together.
    weakref.finalize(stream, raw.close)
    return stream


@contextmanager
def _corrupt_file(where: str, fix: str) -> Iterator[None]:
    """Turn a corrupt stored file's error into one that names the file and how to mend it."""
    # Reading a stored file again gives the same bytes: `wikitop run` says so at once rather than
    # after the queue's retry waits (the error is lasting); a worker still retries later.
    try:
        yield
    except CorruptDumpError as exc:
        named = str(exc).startswith(f"{where} ")
        detail = str(exc).removeprefix(f"{where} ") if named else f"is damaged: {exc}"
        raise CorruptFileError(f"the dump file {where} {detail}; {fix}") from exc


def _nonempty_size(size: int, where: str) -> int:
    if size == 0:
        raise CorruptDumpError(f"{where} is empty: not a gzip stream")
    return size
