"""ResultStore: one contract suite over a local directory, memory:// and S3, plus the pipeline on S3.

S3 is a real S3-compatible HTTP server on loopback (moto's standalone server, not its in-process
mock), spoken to by s3fs/botocore exactly as in production; buckets are made with boto3.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fsspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.dumpgen import DumpSpec, write_dump
from support.reference import reference_rank
from wikitop.blacklist import Blacklist
from wikitop.download import DownloadSlots, HttpFetcher
from wikitop.dumps import DumpSource
from wikitop.errors import (
    BackendMissingError,
    ConfigError,
    MirrorAccessError,
    ResultsUnwritableError,
    WikitopError,
)
from wikitop.hours import dump_path, result_path
from wikitop.pipeline import Outcome, process_hour
from wikitop.ranking import Engine, RankedPage, native, rank_dump
from wikitop.results import (
    CSV_HEADER,
    ResultStore,
    backend_missing_error,
    read_csv,
    read_domain_codes,
    read_domain_csv,
    render_csv,
    render_rows,
    url_protocol,
)
from wikitop.services import build_services
from wikitop.settings import load_settings

HOUR = datetime(2020, 1, 1, 15, tzinfo=UTC)
KEY = "2020/2020-01/top-20200101-15.csv"
PAGES = [
    RankedPage("en", 1, 'Quote_"this"', 900),
    RankedPage("en", 2, "Commas,_and,_more", 800),
    RankedPage("fr", 1, "Élysée_—_Ünïcødé_日本", 700),
]
# One retry: a test of an unreachable endpoint need not wait for botocore's default backoff (~9 s).
FAST_FAIL = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2}}


@dataclass
class Backend:
    """A results URL under test, the S3 endpoint it needs, and a view of the storage around the store."""

    url: str
    s3_endpoint_url: str
    keys: Callable[[], list[str]]  # every object/file under the URL, relative, hidden ones included
    delete: Callable[[str], None]  # remove one key behind the store's back


# --- the S3 server --------------------------------------------------------------------------------


def require(module: str) -> None:
    """Skip (fail when WIKITOP_TEST_REQUIRE_SERVERS is set) if a test dependency is not installed."""
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed: pip install -e '.[s3,test]'"
        if os.environ.get("WIKITOP_TEST_REQUIRE_SERVERS"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """Start moto's S3-compatible server on an ephemeral loopback port for the whole session."""
    require("s3fs")
    require("moto.server")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials from the usual variables, and nothing from this machine's AWS config."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def s3_client(endpoint_url: str) -> Any:
    """A boto3 client of the test server, for setting up and inspecting buckets."""
    import boto3  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture
def bucket(moto_url: str, aws_env: None) -> str:
    """A new, empty bucket on the test server."""
    name = f"wikitop-{uuid.uuid4().hex[:12]}"
    s3_client(moto_url).create_bucket(Bucket=name)
    return name


def closed_port_url() -> str:
    """An http URL on loopback where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- the backends ---------------------------------------------------------------------------------


def local_backend(tmp_path: Path) -> Backend:
    root = tmp_path / "reports"
    return Backend(
        url=str(root),
        s3_endpoint_url="",
        keys=lambda: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()),
        delete=lambda key: (root / key).unlink(),
    )


def memory_backend(request: pytest.FixtureRequest) -> Backend:
    fs = fsspec.filesystem("memory")
    root = f"/wikitop-{uuid.uuid4().hex}/reports"
    # memory:// is one store per process: remove this test's files whatever happens.
    request.addfinalizer(lambda: fs.rm(root, recursive=True) if fs.exists(root) else None)
    return Backend(
        url=f"memory://{root}",
        s3_endpoint_url="",
        keys=lambda: sorted(path.removeprefix(f"{root}/") for path in fs.find(root)),
        delete=lambda key: fs.rm(f"{root}/{key}"),
    )


def s3_backend(request: pytest.FixtureRequest) -> Backend:
    endpoint = request.getfixturevalue("moto_url")
    name = request.getfixturevalue("bucket")
    client = s3_client(endpoint)

    def keys() -> list[str]:
        listed = client.list_objects_v2(Bucket=name, Prefix="prefix/").get("Contents", [])
        return sorted(item["Key"].removeprefix("prefix/") for item in listed)

    return Backend(
        url=f"s3://{name}/prefix",
        s3_endpoint_url=endpoint,
        keys=keys,
        delete=lambda key: client.delete_object(Bucket=name, Key=f"prefix/{key}"),
    )


@pytest.fixture(params=["local", "memory", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return local_backend(tmp_path)
    if request.param == "memory":
        return memory_backend(request)
    return s3_backend(request)


@pytest.fixture
def store(backend: Backend) -> ResultStore:
    return ResultStore(backend.url, s3_endpoint_url=backend.s3_endpoint_url)


# --- the contract: every backend ------------------------------------------------------------------


def test_write_then_read_round_trips_utf8_csv(store: ResultStore, backend: Backend) -> None:
    data = render_csv(PAGES)
    assert store.write(HOUR, data) == f"{backend.url}/{KEY}"
    assert store.read(HOUR) == data
    rows = list(csv.reader(io.StringIO(store.read(HOUR).decode("utf-8"))))
    assert rows[0] == ["domain_code", "rank", "page_title", "views"]
    assert [row[2] for row in rows[1:]] == [page.page_title for page in PAGES]
    assert backend.keys() == [KEY]


def test_read_csv_gives_back_the_ranked_pages_render_csv_wrote() -> None:
    assert read_csv(render_csv(PAGES)) == PAGES
    assert read_csv(render_csv([])) == []


@pytest.mark.parametrize("engine", ["native", "arrow"])
def test_a_title_holding_a_carriage_return_reads_back_whole(tmp_path: Path, engine: Engine) -> None:
    # Dump lines end at "\n" only: a bare "\r" inside a title is data, which csv leaves unquoted
    # and then reads as a line break. The row must come back whole, by either reader.
    if engine == "native" and not native.AVAILABLE:
        pytest.skip("the C engine is not built")
    text = b"en A 5 0\nen B\rC 9 0\nen D 7 0\nen\rx E 3 0\n"
    dump = tmp_path / "dump.gz"
    dump.write_bytes(gzip.compress(text))
    ranking = rank_dump(dump, Blacklist.parse(b""), 25, engine=engine)
    expected, _, _ = reference_rank(text, b"", 25)
    pages = [RankedPage(*row) for row in expected]
    assert [page.page_title for page in pages if page.domain_code == "en"] == ["B\rC", "D", "A"]

    data = render_rows(ranking.rows())

    assert read_csv(data) == pages
    assert read_domain_csv(data, "en") == [page for page in pages if page.domain_code == "en"]
    assert read_domain_csv(data, "en\rx") == [page for page in pages if page.domain_code == "en\rx"]
    assert read_domain_codes(data) == ["en", "en\rx"]


@pytest.mark.parametrize("engine", ["native", "arrow"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_render_rows_writes_the_oracles_rows_of_a_quirky_hour(
    tmp_path: Path, engine: Engine, shuffle: bool
) -> None:
    # The pipeline renders a ranking's rows straight from the engine's tuples: the file must be the
    # one csv.writer makes of the oracle's rows (quoted titles with commas and quotes, bad UTF-8).
    if engine == "native" and not native.AVAILABLE:
        pytest.skip("the C engine is not built")
    spec = DumpSpec(
        lines=20_000, domains=30, seed=5, quoted_rate=0.02, invalid_utf8_rate=0.002, shuffle=shuffle
    )
    dump = write_dump(tmp_path / "dump.gz", spec)
    blacklist = Blacklist.parse(b"en.m Main_Page\nde Spezial:Suche\n")
    ranking = rank_dump(dump, blacklist, 25, engine=engine)
    expected_rows, lines_read, _ = reference_rank(
        gzip.decompress(dump.read_bytes()), b"en.m Main_Page\nde Spezial:Suche\n", 25
    )
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\n").writerows([CSV_HEADER, *expected_rows])

    assert render_rows(ranking.rows()) == expected.getvalue().encode("utf-8")
    assert ranking.row_count == len(expected_rows) == len(ranking.pages)
    assert ranking.lines_read == lines_read
    assert any('"' in row[2] or "," in row[2] for row in expected_rows)


@pytest.mark.parametrize(
    "url",
    [
        "/srv/reports",
        "reports",
        "file:///srv/reports",
        "local:///srv",
        "s3://bucket/prefix",
        "memory://x",
        "simplecache::s3://b/k",
        "gs://b",
        "C:\\reports",
    ],
)
def test_url_protocol_names_what_fsspec_names(url: str) -> None:
    # Our copy of the rule lets local results skip importing fsspec; fsspec stays the reference.
    assert url_protocol(url) == fsspec.utils.get_protocol(url)


def test_read_csv_refuses_a_file_with_another_header() -> None:
    with pytest.raises(ValueError, match="not a result file"):
        read_csv(b"domain,rank,title,views\nen,1,A,5\n")


def test_location_is_the_base_url_and_the_hours_path(store: ResultStore, backend: Backend) -> None:
    assert store.location(HOUR) == f"{backend.url}/{KEY}"
    assert result_path(HOUR) == KEY
    assert ResultStore(f"{backend.url}/").location(HOUR) == store.location(HOUR)


def test_looks_whole_checks_the_header_and_the_last_line_break(store: ResultStore) -> None:
    assert not store.looks_whole(HOUR)
    whole = render_csv(PAGES)
    store.write(HOUR, whole)
    assert store.looks_whole(HOUR)
    store.write(HOUR, render_csv([]))  # header only: an hour whose every page is blacklisted
    assert store.looks_whole(HOUR)
    for damaged in (b"", whole[:-1], whole[: len(whole) // 2], b"a,b,c,d\n", whole[:10]):
        store.write(HOUR, damaged)
        assert not store.looks_whole(HOUR), damaged


def test_looks_whole_before_and_after_write(store: ResultStore) -> None:
    assert not store.looks_whole(HOUR)
    store.write(HOUR, render_csv(PAGES))
    assert store.looks_whole(HOUR)
    assert not store.looks_whole(datetime(2020, 1, 1, 16, tzinfo=UTC))


def test_looks_whole_and_read_see_changes_made_behind_the_stores_back(
    store: ResultStore, backend: Backend
) -> None:
    store.write(HOUR, render_csv(PAGES))
    assert store.looks_whole(HOUR)
    backend.delete(KEY)
    assert not store.looks_whole(HOUR)
    with pytest.raises(FileNotFoundError):
        store.read(HOUR)
    other = ResultStore(backend.url, s3_endpoint_url=backend.s3_endpoint_url)
    other.write(HOUR, render_csv([]))
    assert store.looks_whole(HOUR)
    assert store.read(HOUR) == render_csv([])


def test_overwrite_replaces_the_whole_file(store: ResultStore, backend: Backend) -> None:
    store.write(HOUR, b"x" * 10_000)
    store.write(HOUR, b"short")
    assert store.read(HOUR) == b"short"
    assert backend.keys() == [KEY]


def test_read_of_a_missing_hour_raises_file_not_found(store: ResultStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read(HOUR)


def test_ping_succeeds_on_reachable_storage(store: ResultStore) -> None:
    store.ping()


def test_a_concurrent_reader_never_sees_a_partial_file(store: ResultStore, backend: Backend) -> None:
    big, small = b"A" * (4 * 2**20), b"B" * (2**20 + 7)
    seen: list[int] = []
    torn: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                data = store.read(HOUR)
            except FileNotFoundError:
                continue
            seen.append(len(data))
            if data not in (big, small):
                torn.append(len(data))

    store.write(HOUR, small)
    reader = threading.Thread(target=poll)
    reader.start()
    try:
        # Keep overwriting until the reader has read many times (a loaded machine may starve it).
        deadline = time.monotonic() + 30
        writes = 0
        while (writes < 12 or len(seen) < 20) and time.monotonic() < deadline:
            store.write(HOUR, big if writes % 2 == 0 else small)
            writes += 1
    finally:
        stop.set()
        reader.join()
    assert seen, "the reader never read the file"
    assert torn == [], f"the reader saw partial files of {torn[:5]} bytes"
    assert backend.keys() == [KEY], "a temporary file was left behind"


# --- local files ----------------------------------------------------------------------------------


def test_local_write_that_fails_leaves_no_partial_file(tmp_path: Path) -> None:
    store = ResultStore(str(tmp_path))
    (tmp_path / KEY).mkdir(parents=True)  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        store.write(HOUR, b"data")
    assert [p.name for p in (tmp_path / KEY).parent.iterdir()] == ["top-20200101-15.csv"]


def test_local_ping_creates_the_directory(tmp_path: Path) -> None:
    ResultStore(str(tmp_path / "a" / "b")).ping()
    assert (tmp_path / "a" / "b").is_dir()


# --- S3 specifics ---------------------------------------------------------------------------------


def test_s3_location_is_the_url_of_the_object(moto_url: str, aws_env: None) -> None:
    store = ResultStore("s3://bucket/prefix/", s3_endpoint_url=moto_url)
    assert store.location(HOUR) == "s3://bucket/prefix/2020/2020-01/top-20200101-15.csv"


def test_s3_object_is_stored_as_a_utf8_csv(moto_url: str, bucket: str) -> None:
    ResultStore(f"s3://{bucket}/prefix", s3_endpoint_url=moto_url).write(HOUR, render_csv(PAGES))
    stored = s3_client(moto_url).get_object(Bucket=bucket, Key=f"prefix/{KEY}")
    assert stored["ContentType"] == "text/csv; charset=utf-8"
    assert stored["Body"].read() == render_csv(PAGES)


def test_s3_endpoint_comes_from_aws_endpoint_url_when_not_set(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)  # read by botocore itself
    store = ResultStore(f"s3://{bucket}/prefix")
    store.ping()
    store.write(HOUR, b"via AWS_ENDPOINT_URL")
    assert s3_client(moto_url).get_object(Bucket=bucket, Key=f"prefix/{KEY}")["Body"].read() == (
        b"via AWS_ENDPOINT_URL"
    )


def test_s3_ping_fails_clearly_on_a_missing_bucket(moto_url: str, aws_env: None) -> None:
    store = ResultStore("s3://no-such-bucket/prefix", s3_endpoint_url=moto_url)
    with pytest.raises(WikitopError) as caught:
        store.ping()
    assert str(caught.value) == (
        "results storage s3://no-such-bucket/prefix: bucket 'no-such-bucket' does not exist (create it first)"
    )


def test_s3_ping_fails_clearly_when_the_endpoint_is_unreachable(aws_env: None) -> None:
    require("s3fs")
    endpoint = closed_port_url()
    store = ResultStore("s3://bucket/prefix", FAST_FAIL, s3_endpoint_url=endpoint)
    with pytest.raises(
        WikitopError, match=r"^results storage s3://bucket/prefix is not usable: EndpointConnectionError: "
    ) as caught:
        store.ping()
    assert endpoint in str(caught.value)


def test_s3_ping_fails_clearly_without_credentials(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = ResultStore(f"s3://{bucket}/prefix", FAST_FAIL, s3_endpoint_url=moto_url)
    with pytest.raises(
        WikitopError, match=r"is not usable: NoCredentialsError: Unable to locate credentials"
    ):
        store.ping()


def test_writes_refused_for_good_are_not_an_outage(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Not written again and again (WikitopError: store_result does not retry it), and lasting.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(
        ResultsUnwritableError, match=r"Not a directory .* check WIKITOP_RESULTS_URL"
    ) as local:
        ResultStore(str(blocker / "reports")).write(HOUR, b"data")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = ResultStore(f"s3://{bucket}/prefix", FAST_FAIL, s3_endpoint_url=moto_url)
    with pytest.raises(ResultsUnwritableError, match=r"NoCredentialsError.*credentials") as s3:
        store.write(HOUR, b"data")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    mistyped = ResultStore(
        f"s3://{bucket}/prefix", FAST_FAIL, s3_endpoint_url="http://s3.wikitop-test.invalid:9000"
    )
    with pytest.raises(ResultsUnwritableError, match=r"Could not connect to the endpoint URL") as unresolved:
        mistyped.write(HOUR, b"data")
    assert local.value.lasting and s3.value.lasting and unresolved.value.lasting


def test_a_data_lake_mirror_without_credentials_is_a_lasting_error(
    moto_url: str, bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    fetcher = HttpFetcher("wikitop-tests", 5.0, 0, 0.0, DownloadSlots(tmp_path / "slots", 1))
    mirror = f"s3://{bucket}/pageviews"
    source = DumpSource(mirror, fetcher, tmp_path / "work", None, s3_endpoint_url=moto_url)
    with pytest.raises(MirrorAccessError, match=r"access refused \(NoCredentialsError") as caught:
        source.read(HOUR, lambda open_dump: open_dump().read())
    assert caught.value.lasting
    assert "check the credentials (AWS_* variables, the role) or WIKITOP_DUMPS_URL" in str(caught.value)


def test_s3_write_to_an_unreachable_endpoint_is_an_oserror_naming_the_object(aws_env: None) -> None:
    require("s3fs")
    store = ResultStore("s3://bucket/prefix", FAST_FAIL, s3_endpoint_url=closed_port_url())
    with pytest.raises(OSError, match=rf"^cannot write s3://bucket/prefix/{KEY}: EndpointConnectionError"):
        store.write(HOUR, b"data")


def test_invalid_s3_endpoint_is_a_config_error() -> None:
    require("s3fs")
    with pytest.raises(ConfigError, match=r"S3 endpoint URL 'minio:9000' is invalid: expected http"):
        ResultStore("s3://bucket/prefix", s3_endpoint_url="minio:9000")


# --- missing or unknown backends ------------------------------------------------------------------


def test_missing_s3fs_gives_the_install_hint() -> None:
    error = backend_missing_error("s3://bucket/prefix", ImportError("Install s3fs to access S3"))
    assert isinstance(error, BackendMissingError)
    assert str(error) == (
        "WIKITOP_RESULTS_URL 's3://bucket/prefix' needs the s3:// backend (Install s3fs to access S3): "
        'pip install "wikitop[s3]"'
    )


def test_missing_s3fs_is_reported_by_the_store() -> None:
    # A fresh interpreter where `import s3fs` fails, as it does when the extra is not installed.
    script = (
        "import sys; sys.modules['s3fs'] = None\n"
        "from wikitop.results import ResultStore\n"
        "ResultStore('s3://bucket/prefix')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert run.returncode == 1
    assert run.stderr.strip().endswith(
        "wikitop.errors.BackendMissingError: WIKITOP_RESULTS_URL 's3://bucket/prefix' needs the s3:// backend "
        '(Install s3fs to access S3): pip install "wikitop[s3]"'
    )


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed here")
def test_missing_fsspec_implementation_is_translated() -> None:
    with pytest.raises(BackendMissingError, match=r"needs the gs:// backend .*install gcsfs"):
        ResultStore("gs://bucket/prefix")


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"WIKITOP_RESULTS_URL 'nope://x/y': Protocol not known: nope"):
        ResultStore("nope://x/y")


# --- end to end: the real pipeline writing to S3 --------------------------------------------------


def test_pipeline_stores_results_on_s3_and_skips_or_recomputes_them(
    moto_url: str, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    mirror = tmp_path / "mirror"
    dump = write_dump(mirror / dump_path(HOUR), DumpSpec(lines=5_000, domains=20, seed=3))
    monkeypatch.setenv("WIKITOP_RESULTS_URL", f"s3://{bucket}/reports")
    monkeypatch.setenv("WIKITOP_S3_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("WIKITOP_DUMPS_URL", str(mirror))
    monkeypatch.setenv("WIKITOP_BLACKLIST_URL", "")
    monkeypatch.setenv("WIKITOP_DATA_DIR", str(tmp_path / "data"))
    services = build_services(load_settings())
    client, key = s3_client(moto_url), f"reports/{KEY}"
    try:
        services.results.ping()
        expected = render_csv(rank_dump(dump, services.blacklists.get(), 25).pages)

        first = process_hour(HOUR, services)
        assert first.outcome is Outcome.COMPUTED
        assert first.data_path == f"s3://{bucket}/{key}"
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == expected

        dump.rename(dump.with_name("elsewhere.gz"))  # a recomputation would now find no dump
        assert process_hour(HOUR, services).outcome is Outcome.CACHED
        dump.with_name("elsewhere.gz").rename(dump)

        client.delete_object(Bucket=bucket, Key=key)
        assert process_hour(HOUR, services).outcome is Outcome.COMPUTED
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == expected
    finally:
        services.close()


# Titles and codes as dumps can hold them: any text but the line breaks that separate dump lines.
_FIELD = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=["Cs"]), max_size=12)


@given(
    st.lists(st.tuples(st.sampled_from(["en", "en.m", "", 'a"b', "a,b", "e"]) | _FIELD, _FIELD), max_size=40)
)
def test_one_domain_codes_rows_read_alone_equal_those_of_the_whole_file(rows: list[tuple[str, str]]) -> None:
    pages = [RankedPage(code, rank, title, 1000 - rank) for rank, (code, title) in enumerate(rows, 1)]
    data = render_csv(pages)
    whole = read_csv(data)
    for code in {page.domain_code for page in pages} | {"en", "zz"}:
        assert read_domain_csv(data, code) == [page for page in whole if page.domain_code == code]
    assert read_domain_codes(data) == sorted({page.domain_code for page in whole})
