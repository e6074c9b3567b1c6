"""Result files: render ranked pages as CSV and read them back, stored atomically under one fsspec URL.

A local directory (the default), `s3://bucket/prefix`, `gs://...` or `memory://` all go through
fsspec. Atomicity: locally the file is written next to its final path and renamed over it; on
object stores a single PUT is atomic, so readers never see a partial object.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from wikitop.errors import (
    BackendMissingError,
    ConfigError,
    HostUnreachableError,
    ResultsUnwritableError,
    WikitopError,
)
from wikitop.hours import result_path
from wikitop.ranking.rows import RankedPage, Row

# A contract with the files' readers; the same names, in the same order, as RankedPage's fields.
CSV_HEADER = ("domain_code", "rank", "page_title", "views")
_HEADER_LINE = (",".join(CSV_HEADER) + "\n").encode()
S3_INSTALL_HINT = 'pip install "wikitop[s3]"'
S3_PROTOCOLS = frozenset({"s3", "s3a"})
# Sent with every S3 PUT so that a browser or a presigned-URL download sees a UTF-8 CSV.
S3_PUT_OPTIONS = {"ContentType": "text/csv; charset=utf-8"}
# A local results disk with less free space than this cannot take many more hours (one is ~100 KB).
MIN_FREE_BYTES = 16 * 1024 * 1024
# URL schemes of the local filesystem, as fsspec names them ("file://", "local://", or no scheme).
LOCAL_PROTOCOLS = frozenset({"file", "local"})
# A local write failing so will fail the same way again (a file where a directory should be, no
# permission, a read-only mount); a full disk (ENOSPC) or an I/O error may pass: those are retried.
_REFUSED_FOR_GOOD = frozenset(
    {errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG}
)
# The record kept next to a result whose attempt could not record it in the state store (an outage):
# the next attempt records it from there instead of downloading the hour again.
PENDING_SUFFIX = ".pending.json"


def render_csv(pages: Iterable[RankedPage]) -> bytes:
    """Render ranked pages as UTF-8 CSV with the header `domain_code,rank,page_title,views`."""
    return render_rows((page.domain_code, page.rank, page.page_title, page.views) for page in pages)


def render_rows(rows: Iterable[Row]) -> bytes:
    """Render `(domain_code, rank, page_title, views)` rows as render_csv does (a Ranking's `rows()`)."""
    rows = list(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    text = buffer.getvalue()
    if "\r" in text:
        text = _render_carriage_returns(rows)
    return text.encode("utf-8")


def _render_carriage_returns(rows: list[Row]) -> str:
    """Render rows as render_rows does, but with the text fields quoted in a row that holds a "\r".

    csv quotes a field holding its line terminator ("\n") but not a bare carriage return, which
    readers (csv itself, spreadsheets) take for a line break. Dump lines end at "\n" only, so a title
    may hold one; such a row has its domain code and title quoted (read_domain_csv finds both forms).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    quoting = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(CSV_HEADER)
    for row in rows:
        (quoting if "\r" in row[0] or "\r" in row[2] else writer).writerow(row)
    return buffer.getvalue()


def read_csv(data: bytes) -> list[RankedPage]:
    """Parse a result file written by render_csv back into ranked pages."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = tuple(next(reader, ()))
    if header != CSV_HEADER:
        raise ValueError(f"not a result file: its header is {header!r}, expected {CSV_HEADER!r}")
    return [RankedPage(domain, int(rank), title, int(views)) for domain, rank, title, views in reader]


def read_domain_csv(data: bytes, domain: str) -> list[RankedPage]:
    """Parse only one domain code's rows of a result file written by render_csv, in file order."""
    check_result_file(data)
    # No field holds a newline (dump lines are split on them), so each row is one line, and a row of
    # `domain` starts with that field exactly as render_csv writes it: find those lines, parse them.
    found: list[tuple[int, bytes]] = []
    # Its rows that hold a carriage return have the code quoted (see _render_carriage_returns).
    quoted = b'"' + domain.replace('"', '""').encode("utf-8") + b'",'
    for prefix in {b"\n" + _rendered_field(domain), b"\n" + quoted}:
        start = data.find(prefix)
        while start != -1:
            end = data.find(b"\n", start + 1)
            found.append((start, data[start + 1 : end if end != -1 else len(data)]))
            start = data.find(prefix, end) if end != -1 else -1
    lines = [line for _, line in sorted(found)]
    reader = csv.reader(io.StringIO(b"\n".join(lines).decode("utf-8"), newline=""))
    return [RankedPage(code, int(rank), title, int(views)) for code, rank, title, views in reader]


def read_domain_codes(data: bytes) -> list[str]:
    """The domain codes that have rows in a result file written by render_csv, sorted."""
    check_result_file(data)
    codes: set[str] = set()
    quoted: list[bytes] = []
    for line in data.split(b"\n")[1:]:
        if line.startswith(b'"'):
            quoted.append(line)  # a code holding a comma or a quote: csv reads it
        elif line:
            codes.add(line.split(b",", 1)[0].decode("utf-8"))
    codes.update(row[0] for row in csv.reader(io.StringIO(b"\n".join(quoted).decode("utf-8"), newline="")))
    return sorted(codes)


def _rendered_field(domain: str) -> bytes:
    """The start of every row of `domain` in a result file: the field as csv writes it, and a comma."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow((domain, ""))
    return buffer.getvalue().encode("utf-8")[:-1]


def check_result_file(data: bytes) -> None:
    """ValueError unless `data` looks whole: a result file's header, and a line break at its end.

    A cheap check of a file read back (render_rows ends every file with one): a file cut short
    mid-row fails it; rows damaged inside fail when parsed (read_csv and kin raise ValueError).
    """
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if tuple(header.split(",")) != CSV_HEADER:
        shown = header if len(header) <= 60 else f"{header[:60]}..."  # one line, even for binary garbage
        raise ValueError(f"not a result file: its header is {shown!r}, expected {','.join(CSV_HEADER)!r}")
    if not data.endswith(b"\n"):
        raise ValueError("cut short: its last row does not end with a line break")


class ResultStore:
    """Reads and writes the hourly result files under one base URL or directory."""

    def __init__(
        self, base_url: str, storage_options: dict[str, Any] | None = None, *, s3_endpoint_url: str = ""
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.protocol = url_protocol(self.base_url)
        self._fs: Any
        if self.protocol in LOCAL_PROTOCOLS and not storage_options:
            # A directory (the default) needs no fsspec: its import is a sixth of `wikitop run`'s start-up.
            self._fs, self._root = _LocalFiles(), _local_root(self.base_url)
        else:
            options = fsspec_options(self.protocol, storage_options or {}, s3_endpoint_url.strip())
            self._fs, self._root = open_filesystem(self.base_url, options)
        self._local = "file" in _protocols(self._fs)
        self._put_options = S3_PUT_OPTIONS if self.protocol in S3_PROTOCOLS else {}

    def location(self, hour: datetime) -> str:
        """The full path or URL of the hour's result file."""
        return f"{self.base_url}/{result_path(hour)}"

    def _path(self, hour: datetime) -> str:
        return f"{self._root}/{result_path(hour)}"

    def looks_whole(self, hour: datetime) -> bool:
        """Tell whether the hour's result file exists and looks whole: its header, a line break at its end.

        What a run checks before calling an hour cached: two small reads (ranges on an object
        store), not the file. A file emptied, overwritten, cut short, or a directory in its place
        is computed again; a row damaged inside is found by its readers (read_result, parse_result).
        """
        path = self._path(hour)
        with _storage_errors("check", self.location(hour)):
            self._fs.invalidate_cache(path)
            try:
                size = int(self._fs.size(path))
                if size < len(_HEADER_LINE):  # an object store refuses a range beyond the end
                    return False
                head = bytes(self._fs.cat_file(path, start=0, end=len(_HEADER_LINE)))
                tail = bytes(self._fs.cat_file(path, start=size - 1, end=size))
            except (FileNotFoundError, IsADirectoryError):
                return False
        try:
            check_result_file(head + tail)  # the rule a reader applies, on the two ends it needs
        except ValueError:
            return False
        return True

    def read(self, hour: datetime) -> bytes:
        """Return the hour's result file; FileNotFoundError when it does not exist."""
        path = self._path(hour)
        with _storage_errors("read", self.location(hour)):
            self._fs.invalidate_cache(path)
            return bytes(self._fs.cat_file(path))

    def write(self, hour: datetime, data: bytes) -> str:
        """Store the hour's result atomically and return its location.

        ResultsUnwritableError when a local directory refuses the write for good (a file in the
        way, no permission, read-only): writing again would fail again, unlike on a full disk.
        """
        path = self._path(hour)
        try:
            with _storage_errors("write", self.location(hour)):
                if self._local:
                    _replace_file(Path(path), data)
                else:
                    # One PUT (or one completed multipart upload): the object appears whole or not at all.
                    self._fs.pipe_file(path, data, **self._put_options)
        except OSError as exc:
            if not refused_for_good(exc, local=self._local):
                raise
            reason = f"{exc.strerror} ({exc.filename})" if exc.strerror else str(exc)
            raise ResultsUnwritableError(
                f"cannot write the result {self.location(hour)}: {reason}; check WIKITOP_RESULTS_URL "
                "(default: <data dir>/reports) and its permissions or credentials"
            ) from exc
        return self.location(hour)

    def _pending_path(self, hour: datetime) -> str:
        return f"{self._path(hour)}{PENDING_SUFFIX}"

    def write_pending(self, hour: datetime, record: bytes) -> None:
        """Store, next to the hour's result, the record of the attempt that wrote it but could not say so."""
        path = self._pending_path(hour)
        with _storage_errors("write", f"{self.location(hour)}{PENDING_SUFFIX}"):
            if self._local:
                _replace_file(Path(path), record)
            else:
                self._fs.pipe_file(path, record)

    def read_pending(self, hour: datetime) -> bytes | None:
        """Return the hour's pending record, or None when it has none."""
        path = self._pending_path(hour)
        with _storage_errors("read", f"{self.location(hour)}{PENDING_SUFFIX}"):
            self._fs.invalidate_cache(path)
            try:
                return bytes(self._fs.cat_file(path))
            except FileNotFoundError:
                return None

    def delete_pending(self, hour: datetime) -> None:
        """Remove the hour's pending record once the state store holds what it said."""
        path = self._pending_path(hour)
        where = f"{self.location(hour)}{PENDING_SUFFIX}"
        with _storage_errors("delete", where), suppress(FileNotFoundError):
            self._fs.rm_file(path)

    def ping(self) -> None:
        """Raise WikitopError, naming the URL, if the storage cannot be reached or its bucket is missing."""
        if self._local:
            Path(self._root).mkdir(parents=True, exist_ok=True)
            return
        # Object stores put the bucket first ("bucket/prefix"); memory:// paths start at "/".
        bucket = self._root.split("/")[0]
        try:
            self._fs.invalidate_cache()
            if bucket:
                self._fs.info(bucket)
            else:
                self._fs.ls("/", detail=False)
        except FileNotFoundError:
            raise WikitopError(
                f"results storage {self.base_url}: bucket {bucket!r} does not exist (create it first)"
            ) from None
        except Exception as exc:
            raise WikitopError(
                f"results storage {self.base_url} is not usable: {type(exc).__name__}: {exc}"
            ) from exc

    def probe(self) -> None:
        """Raise if the results cannot be stored: unreachable, or locally unwritable or full (for /readyz)."""
        self.ping()
        if not self._local:
            # Object stores: the bucket answered. No PUT per probe: it would cost a request and an object.
            return
        root = Path(self._root)
        probe = root / f".probe-{os.getpid()}"
        try:
            probe.write_bytes(b"ok")
            if probe.read_bytes() != b"ok":
                raise OSError(errno.EIO, f"results directory {root} returned other bytes than written")
        finally:
            probe.unlink(missing_ok=True)
        stats = os.statvfs(root)
        if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
            raise OSError(errno.ENOSPC, f"results directory {root}: less than 16 MiB free")


def url_protocol(url: str) -> str:
    """The URL's protocol as fsspec names it: `s3` for `s3://b/k`, `file` for a plain path."""
    # fsspec.utils.get_protocol's rule, without importing fsspec for the local paths of most runs.
    parts = re.split(r"(\:\:|\://)", url, maxsplit=1)
    return parts[0] if len(parts) > 1 else "file"


def refused_for_good(exc: BaseException, *, local: bool) -> bool:
    """Tell whether a storage error will come back on every try, unlike a transient outage.

    A permission refused (a local EACCES, S3's AccessDenied, which s3fs raises as PermissionError),
    no credentials at all (botocore's NoCredentialsError and kin), an endpoint whose name does not
    resolve (a mistyped WIKITOP_S3_ENDPOINT_URL), or, on local files, a path that cannot be a file
    (`_REFUSED_FOR_GOOD`). A full disk, a timeout, a refused connection or a 503 may pass: retried.
    """
    if isinstance(exc, PermissionError):
        return True
    if local and isinstance(exc, OSError) and exc.errno in _REFUSED_FOR_GOOD:
        return True
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__.endswith("CredentialsError"):  # botocore's, without importing it
            return True
        if isinstance(cause, socket.gaierror):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def check_location(url: str, setting: str, *, http: bool) -> None:
    """Raise ValueError when `url` names a protocol that neither wikitop nor fsspec knows (`htps://`)."""
    # Checked when the settings load, so that a mistyped scheme stops a command at once with the
    # setting's name rather than failing every hour's tries; fsspec is imported only for a scheme
    # other than a path or http(s), which is about to need it anyway.
    protocol = url_protocol(url)
    if protocol in LOCAL_PROTOCOLS or (http and protocol in ("http", "https")):
        return
    from fsspec.registry import known_implementations, registry

    if protocol not in known_implementations and protocol not in registry:
        forms = "a path, an http(s) URL" if http else "a path"
        raise ValueError(
            f"unknown protocol {protocol}:// (expected {forms} or a data lake URL: s3://bucket/dir, gs://, hdfs://)"
        )


def backend_missing_error(
    url: str, exc: ImportError, what: str = "WIKITOP_RESULTS_URL"
) -> BackendMissingError:
    """Turn fsspec's ImportError for a missing implementation into an error with the install hint."""
    protocol = url_protocol(url)
    hint = S3_INSTALL_HINT if protocol in S3_PROTOCOLS else str(exc)
    return BackendMissingError(f"{what} {url!r} needs the {protocol}:// backend ({exc}): {hint}")


def fsspec_options(protocol: str, options: dict[str, Any], s3_endpoint_url: str) -> dict[str, Any]:
    """The fsspec options for the URL: a private filesystem instance, and the S3 endpoint if any."""
    # A private instance: a cached one would keep the credentials and endpoint it was first built
    # with, and share its listings cache with every other user in the process.
    merged = {"skip_instance_cache": True, **options}
    if protocol in S3_PROTOCOLS and s3_endpoint_url:
        if not s3_endpoint_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"S3 endpoint URL {s3_endpoint_url!r} is invalid: expected http(s)://host[:port]"
            )
        # Without it botocore reads AWS_ENDPOINT_URL(_S3) itself, then falls back to AWS.
        merged.setdefault("endpoint_url", s3_endpoint_url)
    return merged


def open_filesystem(url: str, options: dict[str, Any], what: str = "WIKITOP_RESULTS_URL") -> tuple[Any, str]:
    """Return fsspec's filesystem and root path for the URL, or say what to install or fix."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(url, **options)  # type: ignore[no-any-return]
    except ImportError as exc:
        raise backend_missing_error(url, exc, what) from None
    except ValueError as exc:
        # fsspec says "Protocol not known: xyz" for a scheme it has no implementation for.
        raise ConfigError(f"{what} {url!r}: {exc} (expected a path or s3://, gs://, memory://)") from None
    except OSError as exc:
        # Filesystems that connect when made (ftp://, sftp://, hdfs://): no server, or no client library.
        raise _unopened_error(url, exc, what) from exc


def _unopened_error(url: str, exc: OSError, what: str) -> WikitopError:
    """Say why a filesystem could not be opened: its server unreachable, HDFS without Java, or the reason."""
    from wikitop.download import unreachable_reason

    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    unreachable = unreachable_reason(exc)
    if unreachable is not None:
        return HostUnreachableError(
            f"{what} {url!r}: cannot reach its server: {unreachable}; check the network or {what}"
        )
    if "libjvm" in reason or "libhdfs" in reason:
        # pyarrow's HDFS client loads Java's and Hadoop's libraries: without them no try can work.
        return BackendMissingError(
            f"{what} {url!r} needs a Java runtime and Hadoop's libhdfs ({reason}): set JAVA_HOME and "
            "HADOOP_HOME, or use a path or s3://"
        )
    return WikitopError(f"{what} {url!r}: cannot open it: {reason}")


def _replace_file(path: Path, data: bytes) -> None:
    """Write the file next to `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{uuid.uuid4().hex}.part")
    try:
        with partial.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@contextmanager
def _storage_errors(action: str, location: str) -> Iterator[None]:
    """Let OSErrors through; turn a client library's own errors (no connection, no credentials) into one."""
    # The pipeline records an OSError as a failed attempt; botocore's connection and credential
    # errors are not OSErrors and would otherwise surface as "unexpected" with a traceback.
    try:
        yield
    except (OSError, WikitopError):
        raise
    except Exception as exc:
        raise OSError(f"cannot {action} {location}: {type(exc).__name__}: {exc}") from exc


class _LocalFiles:
    """The few filesystem calls ResultStore makes, on local files, with fsspec's names and errors."""

    protocol = ("file", "local")

    def invalidate_cache(self, path: str | None = None) -> None:
        """Nothing is cached locally."""

    def size(self, path: str) -> int:
        return Path(path).stat().st_size

    def cat_file(self, path: str, start: int | None = None, end: int | None = None) -> bytes:
        if start is None and end is None:
            return Path(path).read_bytes()
        with Path(path).open("rb") as file:
            file.seek(start or 0)
            return file.read() if end is None else file.read(max(0, end - (start or 0)))

    def rm_file(self, path: str) -> None:
        Path(path).unlink()


def _local_root(url: str) -> str:
    """The absolute directory of a local URL, as fsspec's local filesystem gives it."""
    path = url.split("://", 1)[1] if "://" in url else url
    return Path(path).expanduser().absolute().as_posix().rstrip("/") or "/"


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
