"""`wikitop spark` in Spark local mode: the same files and states as `wikitop run`, on real Spark.

One SparkSession (local[2]) serves the whole module: the job uses the session already running in
its process, as it would in a notebook, and starting the JVM once keeps the module quick. Its
Python workers are started by the JVM with the environment it had when it started, so the dummy
AWS credentials of the S3 test are set before it starts.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.dumpgen import DumpSpec
from support.server import FakeWikimedia
from support.workspace import Workspace
from wikitop.hours import dump_path, parse_hour
from wikitop.settings import Settings
from wikitop.spark.job import partition_count

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HOURS = ["2020010122", "2020010123", "2020010200", "2020010201"]
# Ties broken by title in code point order, the empty domain code, quoted titles with commas and
# quotes, invalid UTF-8, duplicates to sum, malformed lines, percent-encoded blacklist entries.
LITERAL_LINES = [
    'en "A,\\"quoted\\"_title" 7 0',
    "en B 7 0",
    "en a 7 0",
    "en Zed 3 0",
    "en Dup 4 0",
    "en Dup 5 0",
    " Empty_domain 5 0",
    " Other 6 0",
    "de \xc4rger 9 0",
    "de Бо 9 0",
    "de bad\udcff 2 0",
    "de x12 x12 0",
    "",
    "fr only_four 1",
    "fr Seite 3 0 extra",
]
BLACKLIST = "de %D0%91%D0%BE\nen Zed\nfr Blocked%20page\n"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _missing(reason: str) -> None:
    """Skip, saying why; in CI (WIKITOP_TEST_REQUIRE_SERVERS) fail: the Spark tests must run there."""
    if os.environ.get("WIKITOP_TEST_REQUIRE_SERVERS"):
        pytest.fail(reason)
    pytest.skip(reason)


def _literal_dump() -> bytes:
    text = "".join(line + "\n" for line in LITERAL_LINES)
    return gzip.compress(text.encode("utf-8", "surrogateescape") + b"fr Blocked_page 99 0\n")


@pytest.fixture(scope="module")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One local[2] SparkSession for the module, quiet, with this interpreter for its Python workers."""
    if importlib.util.find_spec("pyspark") is None:
        _missing('pyspark is not installed: pip install -e ".[test]"')
    if shutil.which("java") is None:
        _missing("Java is not installed (Spark needs Java 17): apt-get install openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as patch:
        for name, value in AWS_ENV.items():
            patch.setenv(name, value)
        no_config = tmp_path_factory.mktemp("aws")
        patch.setenv("AWS_CONFIG_FILE", str(no_config / "config"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(no_config / "credentials"))
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("wikitop-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("WARN")
        yield spark
        spark.stop()


@pytest.fixture
def quirky(workspace: Workspace) -> Workspace:
    """A mirror of four hours with every quirk: sorted, shuffled, and literal lines; a blacklist."""
    (workspace.root / "blacklist.txt").write_text(BLACKLIST)
    workspace.add_dump(HOURS[0], _quirky(lines=20_000, domains=30, seed=1))
    workspace.add_dump(HOURS[1], _quirky(lines=20_000, domains=30, seed=2, shuffle=True))
    path = workspace.mirror / dump_path(parse_hour(HOURS[2]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_literal_dump())
    workspace.add_dump(HOURS[3], _quirky(lines=5_000, domains=10, seed=4, zipf_a=3.0))
    return workspace


def _quirky(lines: int, domains: int, seed: int, shuffle: bool = False, zipf_a: float = 1.9) -> DumpSpec:
    """A generated dump with many more quirks than real hours have."""
    return DumpSpec(
        lines=lines,
        domains=domains,
        seed=seed,
        zipf_a=zipf_a,
        quoted_rate=0.02,
        malformed_rate=0.01,
        percent_rate=0.05,
        invalid_utf8_rate=0.005,
        shuffle=shuffle,
    )


def _results(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*.csv"))}


def _states(workspace: Workspace, **env: str) -> dict[str, dict[str, Any]]:
    result = workspace.run("status", HOURS[0], HOURS[-1], "--json", **env)
    assert result.exit_code == 0, result.output
    return {row["hour"]: row for row in json.loads(result.output)}


def _spark(workspace: Workspace, *args: str, **env: str) -> Any:
    return workspace.run("spark", HOURS[0], HOURS[-1], "--master", "local[2]", *args, **env)


def test_spark_writes_the_files_and_states_of_wikitop_run(quirky: Workspace, spark_session: Any) -> None:
    run_dir = str(quirky.root / "run-data")
    assert quirky.run("run", HOURS[0], HOURS[-1], WIKITOP_DATA_DIR=run_dir).exit_code == 0

    result = _spark(quirky)

    assert result.exit_code == 0, result.output
    assert result.output.count("computed") == len(HOURS)
    expected = _results(Path(run_dir) / "reports")
    assert len(expected) == len(HOURS)
    assert _results(quirky.data_dir / "reports") == expected
    by_run, by_spark = _states(quirky, WIKITOP_DATA_DIR=run_dir), _states(quirky)
    for hour in HOURS:
        assert by_spark[hour]["status"] == "success"
        assert by_spark[hour]["lines_skipped"] > 0
        assert by_spark[hour]["data_path"] == str(quirky.result(hour))
        for field in ("blacklist_sha256", "top_n", "dump_bytes", "lines_read", "lines_skipped", "rows"):
            assert by_spark[hour][field] == by_run[hour][field], field


def test_a_rerun_computes_nothing(quirky: Workspace, spark_session: Any) -> None:
    assert _spark(quirky).exit_code == 0
    before = _states(quirky)
    shutil.rmtree(quirky.mirror)  # anything computed again would now fail

    result = _spark(quirky)

    assert result.exit_code == 0, result.output
    assert result.output.count("cached") == len(HOURS)
    assert _states(quirky) == before


def test_a_stale_result_is_computed_again(quirky: Workspace, spark_session: Any) -> None:
    assert _spark(quirky).exit_code == 0
    first = _results(quirky.data_dir / "reports")

    result = _spark(quirky, WIKITOP_TOP_N="3")

    assert result.exit_code == 0, result.output
    assert result.output.count("computed") == len(HOURS)
    assert all(row["top_n"] == 3 for row in _states(quirky).values())
    assert _results(quirky.data_dir / "reports") != first


def test_a_corrupt_hour_fails_with_its_reason_and_the_others_land(
    quirky: Workspace, spark_session: Any
) -> None:
    corrupt = quirky.mirror / dump_path(parse_hour(HOURS[1]))
    corrupt.write_bytes(corrupt.read_bytes()[: corrupt.stat().st_size // 2])

    result = _spark(quirky, WIKITOP_MAX_TRIES="2")

    assert result.exit_code == 1, result.output
    states = _states(quirky)
    # A damaged file reads the same on every try: reported at once, queued for when it is mended.
    assert (states[HOURS[1]]["status"], states[HOURS[1]]["try_count"]) == ("queued", 1)
    assert f"the dump file {corrupt} is damaged: corrupt or truncated gzip" in states[HOURS[1]]["error"]
    assert f"{HOURS[1]}  queued" in result.output
    assert not quirky.result(HOURS[1]).exists()
    for hour in (HOURS[0], HOURS[2], HOURS[3]):
        assert states[hour]["status"] == "success"
        assert quirky.result(hour).exists()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on a loopback port, for the module."""
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("s3fs") is None:
        _missing("moto and s3fs are not installed: pip install -e '.[test]'")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _lake(workspace: Workspace, endpoint: str) -> tuple[Any, str]:
    """A new bucket holding the workspace's mirror under `lake/`; its client and name."""
    client = _s3_client(endpoint)
    bucket = f"wikitop-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    for dump in workspace.mirror.rglob("*.gz"):
        key = f"lake/{dump.relative_to(workspace.mirror)}"
        client.put_object(Bucket=bucket, Key=key, Body=dump.read_bytes())
    return client, bucket


def test_results_and_mirror_on_s3(quirky: Workspace, spark_session: Any, s3_endpoint: str) -> None:
    assert quirky.run("run", HOURS[0], HOURS[-1]).exit_code == 0
    expected = _results(quirky.data_dir / "reports")
    client, bucket = _lake(quirky, s3_endpoint)
    env = {
        "WIKITOP_DATA_DIR": str(quirky.root / "s3-data"),
        "WIKITOP_RESULTS_URL": f"s3://{bucket}/reports",
        "WIKITOP_DUMPS_URL": f"s3a://{bucket}/lake",
        "WIKITOP_S3_ENDPOINT_URL": s3_endpoint,
        **AWS_ENV,
    }

    result = _spark(quirky, **env)

    assert result.exit_code == 0, result.output
    stored = {}
    for item in client.list_objects_v2(Bucket=bucket, Prefix="reports/")["Contents"]:
        body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        stored[item["Key"].removeprefix("reports/")] = body
    assert stored == expected
    assert all(row["status"] == "success" for row in _states(quirky, **env).values())


def test_a_lake_mirror_without_the_hour_or_without_the_mirror(
    quirky: Workspace, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    _, bucket = _lake(quirky, s3_endpoint)
    env = {"WIKITOP_S3_ENDPOINT_URL": s3_endpoint, "WIKITOP_DUMPS_URL": f"s3://{bucket}/lake"}

    missing_hour = quirky.run("run", "2020010300", **env)
    missing_mirror = quirky.run("run", HOURS[0], **{**env, "WIKITOP_DUMPS_URL": f"s3://{bucket}/no-lake"})

    assert missing_hour.exit_code == 1
    assert (
        f"s3://{bucket}/lake/2020/2020-01/pageviews-20200103-000000.gz does not exist" in missing_hour.output
    )
    assert "unavailable" in missing_hour.output
    assert missing_mirror.exit_code == 1
    assert f"the mirror s3://{bucket}/no-lake does not exist" in missing_mirror.output


def test_over_http_each_dump_is_downloaded_once_within_the_cap(quirky: Workspace, spark_session: Any) -> None:
    with FakeWikimedia(quirky.mirror, max_connections=1, throttle_bytes_per_s=400_000) as wikimedia:
        result = _spark(quirky, WIKITOP_DUMPS_URL=wikimedia.url, WIKITOP_DOWNLOAD_CONCURRENCY="1")

        assert result.exit_code == 0, result.output
        assert wikimedia.max_concurrent == 1
        for hour in HOURS:
            assert len(wikimedia.requests_for(dump_path(parse_hour(hour)))) == 1


@pytest.mark.parametrize(
    ("dumps_url", "hours", "expected"),
    [
        ("https://dumps.wikimedia.org/other/pageviews", 8, 2),
        ("https://dumps.wikimedia.org/other/pageviews", 1, 1),
        ("/data/mirror", 8, 8),
        ("s3a://lake/pageviews", 8, 8),
    ],
)
def test_over_http_the_job_runs_as_many_tasks_as_downloads_allowed(
    dumps_url: str, hours: int, expected: int, clean_environment: None
) -> None:
    settings = Settings(dumps_url=dumps_url, download_concurrency=2)
    assert partition_count(settings, hours) == expected


def test_without_pyspark_the_command_says_what_to_install(
    quirky: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)

    result = quirky.run("spark", HOURS[0])

    assert result.exit_code == 1
    assert 'pip install "wikitop[spark]"' in result.output


def _s3_client(endpoint_url: str) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1", **_keys())


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
